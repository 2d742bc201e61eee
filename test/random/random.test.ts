import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, presets, users } from '../../src/db/schema.js';
import { libraryPool } from '../../src/random/library-pool.js';
import { sample, testApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let now = Date.UTC(2025, 5, 1, 8, 0, 0) / 1000;
const ids: Record<string, string> = {};
let aliceKey: string; // owner of the private image, deliver scope
let bobKey: string; // another user
let uploadOnlyKey: string;
const admin = () => ({ 'X-API-Key': t.adminKey });

beforeAll(async () => {
  t = await testApp({}, { deps: { clock: () => now } });
  const alice = t.deps.db.insert(users).values({ username: 'alice', passwordHash: 'x' }).returning().get();
  const bob = t.deps.db.insert(users).values({ username: 'bob', passwordHash: 'x' }).returning().get();
  aliceKey = (await t.deps.keys.create({ userId: alice.id, scopes: ['deliver'] })).key;
  bobKey = (await t.deps.keys.create({ userId: bob.id, scopes: ['deliver'] })).key;
  uploadOnlyKey = (await t.deps.keys.create({ userId: alice.id, scopes: ['upload'] })).key;
  ids.dune = await t.seed('dune-2mp.jpg', { collection: 'wallpapers', tags: ['Desert'] });
  ids.sunset = await t.seed('sunset-12mp.jpg', { collection: 'wallpapers', tags: ['sea'] });
  ids.dragonfly = await t.seed('dragonfly-alpha.png', { tags: ['insect'] });
  ids.secret = await t.seed('friends-portrait.jpg', { visibility: 'private', ownerId: alice.id, tags: ['sea'] });
  t.deps.db.insert(presets).values({ name: 'card', options: 'w_200,h_200,c_fill' }).run();
});
afterAll(() => t.cleanup());

/** A row as another part of the app would add it (no original bytes: only redirects may pick it). */
function fakeRow(id: string, collection: string) {
  const row = t.deps.db
    .insert(images)
    .values({ id, hash: `h-${id}`, format: 'jpeg', width: 1600, height: 900, bytes: 1, orientation: 'landscape', visibility: 'public', collection })
    .returning()
    .get();
  t.deps.events.added.forEach((fn) => fn(row));
  return row;
}

function dropRow(id: string) {
  t.deps.db.delete(images).where(eq(images.id, id)).run();
  t.deps.events.removed.forEach((fn) => fn(id));
}

interface Answer {
  images: Array<{ id: string; width: number; placeholder: { thumbhash: string | null; dataUri: string | null; dominant: string | null }; url: string }>;
  error: { code: string };
}
const body = async (res: Response | Promise<Response>) => (await (await res).json()) as Answer;
const location = (res: Response) => res.headers.get('location')!;
const idIn = (url: string) => url.split('?')[0].split('/').pop()!.split('.')[0];

async function picks(path: string, n: number, headers: Record<string, string> = {}) {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await t.request(path, { headers });
    expect(res.status).toBe(302);
    seen.add(idIn(location(res)));
  }
  return seen;
}

describe('GET /random', () => {
  it('redirects to a public image with no-store, and the URL works for an anonymous browser', async () => {
    const res = await t.request('/random');
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(location(res)).toMatch(/^\/img\/[A-Za-z0-9_-]+$/);
    const img = await t.request(location(res));
    expect(img.status).toBe(200);
  });

  it('never picks a private image for an anonymous caller', async () => {
    const seen = await picks('/random', 40);
    expect(seen.has(ids.secret)).toBe(false);
    expect(seen.size).toBeGreaterThan(1);
    const json = await body(t.request('/random.json?count=50'));
    expect(json.images.map((i) => i.id).sort()).toEqual([ids.dune, ids.sunset, ids.dragonfly].sort());
  });

  it('applies the filters', async () => {
    expect(await picks('/random?orientation=portrait', 3, { 'X-API-Key': aliceKey })).toEqual(new Set([ids.secret]));
    expect(await picks('/random?min_width=3000', 3)).toEqual(new Set([ids.sunset]));
    const wallpapers = await picks('/random?collection=wallpapers&min_width=1000', 20);
    expect([...wallpapers].every((id) => id === ids.dune || id === ids.sunset)).toBe(true);
    expect(await picks('/random?tag=desert', 3)).toEqual(new Set([ids.dune]));
    expect(await picks('/random?tag=sea&collection=wallpapers', 3)).toEqual(new Set([ids.sunset]));
    expect(await picks('/random?tag=sea&orientation=portrait', 3, { 'X-API-Key': aliceKey })).toEqual(new Set([ids.secret]));
  });

  it('answers 404 JSON when nothing matches, and 400 for a bad filter', async () => {
    const none = await t.request('/random?collection=nope');
    expect(none.status).toBe(404);
    expect((await body(none)).error.code).toBe('no_candidate');
    for (const q of ['orientation=diagonal', 'min_width=abc', 'min_width=0']) {
      const res = await t.request(`/random?${q}`);
      expect(res.status, q).toBe(400);
      expect((await body(res)).error.code).toBe('validation_failed');
    }
  });

  it('gives the same image for the same seed', async () => {
    const first = location(await t.request('/random?seed=header-42'));
    for (let i = 0; i < 5; i++) expect(location(await t.request('/random?seed=header-42'))).toBe(first);
    const many = new Set<string>();
    for (let s = 0; s < 40; s++) many.add(location(await t.request(`/random?seed=s${s}`)));
    expect(many.size).toBe(3);
  });
});

describe('options and access', () => {
  it('refuses arbitrary options from an anonymous caller (401) before anything is signed', async () => {
    const res = await t.request('/random/w_300');
    expect(res.status).toBe(401);
    expect(res.headers.get('location')).toBeNull();
    expect((await body(res)).error.code).toBe('signature_required');
    expect((await t.request('/random.json?options=w_300')).status).toBe(401);
    expect((await t.request('/random/w_300?redirect=0')).status).toBe(401);
  });

  it('lets an anonymous caller use a preset, with a plain URL', async () => {
    const res = await t.request('/random/t_card');
    expect(res.status).toBe(302);
    expect(location(res)).toMatch(/^\/img\/t_card\/[A-Za-z0-9_-]+$/);
    const img = await t.request(location(res));
    const m = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    expect([m.width, m.height]).toEqual([200, 200]);
    expect((await t.request('/random/t_nosuch')).status).toBe(400);
    expect((await t.request('/random/w_0')).status).toBe(400);
  });

  it('signs the options for a key holder, and the signed URL works without the key', async () => {
    const res = await t.request('/random/w_300,h_200,c_fill,f_webp?orientation=landscape', { headers: { 'X-API-Key': bobKey } });
    expect(res.status).toBe(302);
    expect(location(res)).toMatch(/^\/img\/s--[^/]+--\/w_300,h_200,c_fill,f_webp\/[A-Za-z0-9_-]+$/);
    const img = await t.request(location(res));
    expect(img.status).toBe(200);
    const m = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    expect([m.format, m.width, m.height]).toEqual(['webp', 300, 200]);
  });

  it("shows a user their own private images (signed, expiring URL) and never another user's", async () => {
    expect((await picks('/random?orientation=portrait', 1, { 'X-API-Key': aliceKey })).has(ids.secret)).toBe(true);
    const res = await t.request('/random?orientation=portrait', { headers: { 'X-API-Key': aliceKey } });
    expect(location(res)).toMatch(/^\/img\/s--[^/]+--\/exp_\d+\//);
    expect((await t.request(location(res))).status).toBe(200);
    expect((await t.request('/random?orientation=portrait', { headers: { 'X-API-Key': bobKey } })).status).toBe(404);
    const bobs = await body(t.request('/random.json?count=50', { headers: { 'X-API-Key': bobKey } }));
    expect(bobs.images.map((i) => i.id)).not.toContain(ids.secret);
    const all = await body(t.request('/random.json?count=50', { headers: admin() }));
    expect(all.images).toHaveLength(4);
  });

  it('a key without the deliver scope is refused like on /img', async () => {
    expect((await t.request('/random', { headers: { 'X-API-Key': uploadOnlyKey } })).status).toBe(403);
  });
});

describe('?redirect=0', () => {
  it('serves the bytes directly with no-store, options applied', async () => {
    const res = await t.request('/random/w_320,h_180,c_fill,f_webp?redirect=0&collection=wallpapers', { headers: admin() });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect([ids.dune, ids.sunset]).toContain(res.headers.get('x-image-id'));
    const m = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([m.width, m.height]).toEqual([320, 180]);
  });

  it('serves an anonymous original', async () => {
    const res = await t.request('/random?redirect=0&tag=insect');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-image-id')).toBe(ids.dragonfly);
  });
});

describe('GET /random/daily', () => {
  it('is stable for the UTC day, even across an upload, and moves on with the date', async () => {
    const today = location(await t.request('/random/daily'));
    now += 3600 * 10;
    for (let i = 0; i < 5; i++) fakeRow(`late${i}`, 'later');
    expect(location(await t.request('/random/daily'))).toBe(today);
    expect(location(await t.request('/random/daily/t_card'))).toMatch(/^\/img\/t_card\//);
    const days = new Set<string>([idIn(today)]);
    for (let d = 1; d <= 12; d++) {
      now += 86_400;
      days.add(idIn(location(await t.request('/random/daily'))));
    }
    expect(days.size).toBeGreaterThan(1);
    for (let i = 0; i < 5; i++) dropRow(`late${i}`);
  });
});

describe('GET /random.json', () => {
  it('answers N distinct images with size, placeholder and a working URL', async () => {
    const res = await t.request('/random.json?count=3&options=t_card');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { images: list } = await body(res);
    expect(list).toHaveLength(3);
    expect(new Set(list.map((i) => i.id)).size).toBe(3);
    for (const img of list) {
      expect(img.width).toBeGreaterThan(0);
      expect(img.placeholder).toEqual({
        thumbhash: expect.any(String),
        dataUri: expect.stringMatching(/^data:image\/png;base64,/),
        dominant: expect.stringMatching(/^#[0-9a-f]{6}$/),
      });
      expect(img.url).toMatch(/^http:\/\/localhost\/img\/t_card\//);
      expect((await t.request(new URL(img.url).pathname)).status).toBe(200);
    }
  });

  it('validates count', async () => {
    expect((await t.request('/random.json?count=0')).status).toBe(400);
    expect((await t.request('/random.json?count=51')).status).toBe(400);
    expect((await t.request('/random.json?count=2&seed=g')).status).toBe(200);
    const a = await body(t.request('/random.json?count=2&seed=g'));
    const b = await body(t.request('/random.json?count=2&seed=g'));
    expect(a.images.map((i) => i.id)).toEqual(b.images.map((i) => i.id));
  });
});

describe('following the library', () => {
  it('drops an image at once when the library reports it removed (events.removed)', async () => {
    fakeRow('doomed1', 'doomed');
    expect(await picks('/random?collection=doomed', 1)).toEqual(new Set(['doomed1']));
    // The row is still there: only the event can have taken it out of the pool.
    t.deps.events.removed.forEach((fn) => fn('doomed1'));
    expect((await t.request('/random?collection=doomed')).status).toBe(404);
    dropRow('doomed1');
  });

  it('follows an edit reported through events.changed', async () => {
    const row = fakeRow('moved1', 'before');
    t.deps.db.$client.prepare("update images set collection = 'after' where id = 'moved1'").run();
    t.deps.events.changed.forEach((fn) => fn({ ...row, collection: 'after' }));
    expect((await t.request('/random?collection=before')).status).toBe(404);
    expect(await picks('/random?collection=after', 1)).toEqual(new Set(['moved1']));
    dropRow('moved1');
  });

  it('follows the images API: PATCH to private hides it from strangers, DELETE removes it', async () => {
    // New bytes (a resized sample), uploaded the way a user would.
    const bytes = await sharp(sample('dragonfly-alpha.png')).resize(500).png().toBuffer();
    const up = await t.request('/images?collection=api-managed', { method: 'POST', headers: { ...admin(), 'Content-Type': 'image/png' }, body: bytes });
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    expect(await picks('/random?collection=api-managed', 1)).toEqual(new Set([id]));
    const patched = await t.request(`/images/${id}`, {
      method: 'PATCH',
      headers: { ...admin(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ collection: 'api-managed', visibility: 'private' }),
    });
    expect(patched.status).toBe(200);
    expect((await t.request('/random?collection=api-managed&min_width=500')).status).toBe(404);
    expect(await picks('/random?collection=api-managed&min_width=500', 1, admin())).toEqual(new Set([id]));
    expect((await t.request(`/images/${id}`, { method: 'DELETE', headers: admin() })).status).toBeLessThan(300);
    expect(libraryPool(t.deps).pool.get(id)).toBeUndefined();
    expect((await t.request('/random?collection=api-managed&min_width=500', { headers: admin() })).status).toBe(404);
  });

  it('corrects itself when a row disappeared without an event', async () => {
    fakeRow('ghost', 'ghosts');
    t.deps.db.$client.prepare("delete from images where id = 'ghost'").run();
    expect((await t.request('/random?collection=ghosts')).status).toBe(404);
    expect(libraryPool(t.deps).pool.get('ghost')).toBeUndefined();
  });

  it('sees images another process added to the shared database after RANDOM_RESYNC_SECONDS', async () => {
    const other = new Database(t.deps.config.dbFile);
    other
      .prepare(
        "insert into images (id, owner_id, hash, format, width, height, bytes, orientation, visibility, collection, tags) select 'fromOther', null, 'h-other', format, width, height, bytes, orientation, 'public', 'elsewhere', '[]' from images where id = ?",
      )
      .run(ids.dune);
    other.close();
    expect((await t.request('/random?collection=elsewhere')).status).toBe(404);
    now += t.deps.config.RANDOM_RESYNC_SECONDS + 1;
    await t.request('/random'); // notices the change marker, reloads in the background
    await libraryPool(t.deps).settled();
    expect(idIn(location(await t.request('/random?collection=elsewhere')))).toBe('fromOther');
    dropRow('fromOther');
  });
});

describe('GET /random-image/{key} (the old API)', () => {
  it('serves a random WebP for a valid deliver key, no-store', async () => {
    const res = await t.request(`/random-image/${bobKey}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).format).toBe('webp');
  });

  it('answers 401 for an unknown key or one without the deliver scope', async () => {
    for (const k of ['imgp_not-a-real-key-at-all-000000', 'short', uploadOnlyKey]) {
      const res = await t.request(`/random-image/${k}`);
      expect(res.status).toBe(401);
      // The old service's body, on its routes only (test/compat/flask.test.ts has the whole contract).
      expect(await res.json()).toEqual({ error: 'Unauthorized' });
    }
  });
});

describe('with ALLOW_UNSIGNED_TRANSFORMS', () => {
  it('sends anonymous callers to a plain transform URL, since anyone may fetch it', async () => {
    const open = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true' });
    try {
      const id = await open.seed('dune-2mp.jpg');
      const res = await open.request('/random/w_300');
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/img/w_300/${id}`);
      expect((await open.request(res.headers.get('location')!)).status).toBe(200);
    } finally {
      await open.cleanup();
    }
  });
});

describe('OpenAPI', () => {
  it('documents the random routes', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const p of ['/random', '/random/{options}', '/random/daily', '/random.json', '/random-image/{key}']) expect(doc.paths).toHaveProperty([p]);
  });
});
