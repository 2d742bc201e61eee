import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { images, imageTags, variants } from '../../src/db/schema.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, imageRows, makeUser, originalsOnDisk, upload } from './helpers.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
});
afterEach(async () => {
  await t.cleanup();
});

function renderedFiles() {
  const dir = path.join(t.deps.config.cacheDir, 'renditions');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

const json = (key: string, method: string, body: unknown) => ({
  method,
  headers: auth(key, { 'Content-Type': 'application/json' }),
  body: JSON.stringify(body),
});

/** `n` rows for `ownerId` with distinct created_at, without decoding images: listing only reads rows. */
function insertRows(ownerId: number | null, n: number, extra: Partial<typeof images.$inferInsert> = {}) {
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `img${ownerId ?? 's'}_${String(i).padStart(4, '0')}`,
    ownerId,
    hash: `h${ownerId}_${i}`,
    format: 'jpeg',
    width: 100,
    height: 50,
    bytes: 1000,
    orientation: 'landscape' as const,
    createdAt: 1_700_000_000 + i,
    ...extra,
  }));
  t.deps.db.insert(images).values(rows).run();
  return rows.map((r) => r.id).reverse(); // newest first
}

describe('GET /images', () => {
  it('pages newest first with total, next/prev and a Link header', async () => {
    const alice = makeUser(t, 'alice');
    const ids = insertRows(alice.id, 45);
    const res = await t.request('/images?limit=20', { headers: auth(alice.key) });
    expect(res.status).toBe(200);
    const p1 = (await res.json()) as any;
    expect(p1).toMatchObject({ page: 1, limit: 20, total: 45 });
    expect(p1.items.map((i: any) => i.id)).toEqual(ids.slice(0, 20));
    expect(p1.prev).toBeUndefined();
    expect(p1.next).toBe('http://localhost/images?limit=20&page=2');
    expect(res.headers.get('link')).toBe('<http://localhost/images?limit=20&page=2>; rel="next"');

    const p3 = (await (await t.request('/images?limit=20&page=3', { headers: auth(alice.key) })).json()) as any;
    expect(p3.items.map((i: any) => i.id)).toEqual(ids.slice(40));
    expect(p3.next).toBeUndefined();
    expect(p3.prev).toContain('page=2');
  });

  it('a page past the end is empty, and prev points at the last page with items', async () => {
    const alice = makeUser(t, 'alice');
    insertRows(alice.id, 5);
    const res = await t.request('/images?limit=2&page=9', { headers: auth(alice.key) });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ items: [], page: 9, total: 5 });
    expect(body.next).toBeUndefined();
    expect(body.prev).toBe('http://localhost/images?limit=2&page=3');
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'page=0', 'page=-1', 'orientation=round', 'cursor=nope', 'visibility=hidden'])('400 for %s', async (q) => {
    const res = await t.request(`/images?${q}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('validation_failed');
  });

  it('limit defaults to 20 and 100 is allowed', async () => {
    insertRows(null, 120);
    expect(((await (await t.request('/images', { headers: auth(t.adminKey) })).json()) as any).items).toHaveLength(20);
    expect(((await (await t.request('/images?limit=100', { headers: auth(t.adminKey) })).json()) as any).items).toHaveLength(100);
  });

  it('walks every image exactly once with the keyset cursor', async () => {
    const ids = insertRows(null, 23);
    // Same second for several rows: the id breaks the tie, nothing is skipped or repeated.
    t.deps.db.update(images).set({ createdAt: 1_700_000_005 }).where(eq(images.id, ids[3])).run();
    const expected = t.deps.db.select({ id: images.id }).from(images).all().length;
    const seen: string[] = [];
    let url: string | undefined = '/images?limit=5&cursor=9999999999.zzzz';
    while (url) {
      const body = (await (await t.request(url, { headers: auth(t.adminKey) })).json()) as any;
      seen.push(...body.items.map((i: any) => i.id));
      expect(body.page).toBeNull();
      url = body.next;
    }
    expect(seen).toHaveLength(expected);
    expect(new Set(seen).size).toBe(expected);
    // And page 1 without a cursor offers the cursor for the next page.
    const first = (await (await t.request('/images?limit=5', { headers: auth(t.adminKey) })).json()) as any;
    const viaCursor = (await (await t.request(`/images?limit=5&cursor=${first.nextCursor}`, { headers: auth(t.adminKey) })).json()) as any;
    const viaPage = (await (await t.request('/images?limit=5&page=2', { headers: auth(t.adminKey) })).json()) as any;
    expect(viaCursor.items.map((i: any) => i.id)).toEqual(viaPage.items.map((i: any) => i.id));
  });

  it('a user sees only their own images; admins and system keys see all and may filter by owner', async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    const admin = makeUser(t, 'root', ['admin'], 'admin');
    insertRows(alice.id, 3);
    insertRows(bob.id, 2);
    const list = async (key: string, q = '') => (await (await t.request(`/images${q}`, { headers: auth(key) })).json()) as any;
    expect((await list(alice.key)).total).toBe(3);
    expect((await list(bob.key)).items.every((i: any) => i.ownerId === bob.id)).toBe(true);
    expect((await list(t.adminKey)).total).toBe(5);
    expect((await list(admin.key)).total).toBe(5);
    expect((await list(admin.key, `?owner=${bob.id}`)).total).toBe(2);
    expect((await list(alice.key, `?owner=${alice.id}`)).total).toBe(3);
    const res = await t.request(`/images?owner=${bob.id}`, { headers: auth(alice.key) });
    expect(res.status).toBe(403);
  });

  it('filters by tag, collection, visibility and orientation', async () => {
    const a = await upload(t, t.adminKey, 'dune-2mp.jpg', { tags: 'desert,sand', collection: 'trips' });
    const b = await upload(t, t.adminKey, 'friends-portrait.jpg', { tags: 'people', visibility: 'private' });
    const ids = async (q: string) => ((await (await t.request(`/images?${q}`, { headers: auth(t.adminKey) })).json()) as any).items.map((i: any) => i.id);
    expect(await ids('tag=Desert')).toEqual([a.body.id]);
    expect(await ids('tag=nothing')).toEqual([]);
    expect(await ids('collection=trips')).toEqual([a.body.id]);
    expect(await ids('visibility=private')).toEqual([b.body.id]);
    expect(await ids('orientation=portrait')).toEqual([b.body.id]);
    expect(await ids('orientation=landscape&tag=sand')).toEqual([a.body.id]);
  });

  it('401 anonymous', async () => {
    expect((await t.request('/images')).status).toBe(401);
  });

  it('refuses anonymous callers and policy tokens with the same answer as the account routes (one guard)', async () => {
    const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as any).error });
    expect(await errorOf(await t.request('/images'))).toEqual(await errorOf(await t.request('/keys')));
    const id = await t.seed('dune-2mp.jpg');
    const signed = await t.request('/sign', json(t.adminKey, 'POST', { ids: [id], policy: {} }));
    const { token } = (await signed.json()) as any;
    const asBearer = { headers: { Authorization: `Bearer ${token}` } };
    const viaImages = await errorOf(await t.request('/images', asBearer));
    expect(viaImages).toMatchObject({ status: 403, code: 'policy_token_not_allowed' });
    expect(viaImages).toEqual(await errorOf(await t.request('/keys', asBearer)));
    const deliverOnly = (await t.deps.keys.create({ scopes: ['deliver'] })).key;
    const patch = await errorOf(await t.request(`/images/${id}`, json(deliverOnly, 'PATCH', { tags: ['x'] })));
    expect(patch).toMatchObject({ status: 403, code: 'missing_scope', scope: 'upload' });
  });
});

describe('GET/PATCH/PUT focal-point/DELETE /images/{id}', () => {
  it('shows metadata, placeholder, urls and variants', async () => {
    const alice = makeUser(t, 'alice');
    const { body: up } = await upload(t, alice.key, 'dune-2mp.jpg');
    t.deps.db.insert(variants).values({ imageId: up.id, options: 'w_300', format: 'webp', width: 300, height: 188, bytes: 1234 }).run();
    const res = await t.request(`/images/${up.id}`, { headers: auth(alice.key) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ id: up.id, width: 1680, height: 1050, focalPoint: null, cachedRenditions: expect.any(Number) });
    expect(body.placeholder.dataUri).toMatch(/^data:image\/png/);
    expect(body.variants).toEqual([expect.objectContaining({ options: 'w_300', format: 'webp', width: 300, height: 188, bytes: 1234 })]);
    expect(body.variants[0].url).toMatch(/\/img\/s--[^/]+--\/w_300\//);
  });

  it("hides, and refuses changes to, another user's image (404) — even a public one", async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    const { body: up } = await upload(t, alice.key, 'dune-2mp.jpg');
    for (const [method, p, body] of [
      ['GET', `/images/${up.id}`, undefined],
      ['PATCH', `/images/${up.id}`, { visibility: 'private' }],
      ['PUT', `/images/${up.id}/focal-point`, { x: 0.5, y: 0.5 }],
      ['DELETE', `/images/${up.id}`, undefined],
      ['POST', `/images/${up.id}/transform`, { resize: { width: 10 } }],
    ] as const) {
      const res = await t.request(p, json(bob.key, method, body));
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(((await res.json()) as any).error.code).toBe('image_not_found');
    }
    expect(imageRows(t)[0].visibility).toBe('public');
    // The admin may.
    expect((await t.request(`/images/${up.id}`, { headers: auth(t.adminKey) })).status).toBe(200);
  });

  it('PATCH changes tags, collection and visibility and keeps image_tags in sync', async () => {
    const seen: string[] = [];
    t.deps.events.changed.push((img) => seen.push(img.id));
    const alice = makeUser(t, 'alice');
    const { body: up } = await upload(t, alice.key, 'dune-2mp.jpg', { tags: 'old,keep' });
    const res = await t.request(`/images/${up.id}`, json(alice.key, 'PATCH', { tags: ['Keep', 'new'], collection: 'best', visibility: 'private' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ tags: ['keep', 'new'], collection: 'best', visibility: 'private' });
    expect(body.urls.original).toMatch(/\/img\/s--/);
    expect(
      t.deps.db
        .select()
        .from(imageTags)
        .where(eq(imageTags.imageId, up.id))
        .all()
        .map((r) => r.tag)
        .sort(),
    ).toEqual(['keep', 'new']);
    expect(seen).toEqual([up.id]);
    // Now private: anonymous delivery no longer finds it.
    expect((await t.request(`/img/${up.id}`)).status).toBe(404);
    const cleared = (await (await t.request(`/images/${up.id}`, json(alice.key, 'PATCH', { collection: null, tags: '' }))).json()) as any;
    expect(cleared).toMatchObject({ collection: null, tags: [] });
    expect(t.deps.db.select().from(imageTags).where(eq(imageTags.imageId, up.id)).all()).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['unknown field', { owner: 3 }],
    ['bad visibility', { visibility: 'hidden' }],
    ['bad tag', { tags: ['<b>'] }],
    ['not JSON', 'nope{'],
  ])('PATCH 400 for %s', async (_name, body) => {
    const { body: up } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    const res = await t.request(`/images/${up.id}`, {
      method: 'PATCH',
      headers: auth(t.adminKey, { 'Content-Type': 'application/json' }),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toMatch(/validation_failed|bad_request/);
  });

  it('PATCH needs the upload scope', async () => {
    const viewer = makeUser(t, 'viewer', ['deliver']);
    const id = await t.seed('dune-2mp.jpg', { ownerId: viewer.id });
    expect((await t.request(`/images/${id}`, json(viewer.key, 'PATCH', { tags: ['x'] }))).status).toBe(403);
    expect((await t.request(`/images/${id}`, { headers: auth(viewer.key) })).status).toBe(200);
  });

  it("PUT focal-point stores the point and purges the image's renditions", async () => {
    const purged: string[] = [];
    const purge = t.deps.cache.purgeImage.bind(t.deps.cache);
    t.deps.cache.purgeImage = async (id) => {
      purged.push(id);
      return purge(id);
    };
    const { body: up } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    const res = await t.request(`/images/${up.id}/focal-point`, json(t.adminKey, 'PUT', { x: 0.25, y: 0.75 }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).focalPoint).toEqual({ x: 0.25, y: 0.75 });
    expect(purged).toEqual([up.id]);
    for (const bad of [{ x: 1.5, y: 0 }, { x: -0.1, y: 0.2 }, { x: 0.5 }, { x: '0.5', y: 0.5 }]) {
      expect((await t.request(`/images/${up.id}/focal-point`, json(t.adminKey, 'PUT', bad))).status).toBe(400);
    }
  });

  it('g_auto follows the focal point', async () => {
    const { body: up } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    const crop = async () => Buffer.from(await (await t.request(`/img/w_100,h_400,c_fill,g_auto/${up.id}.png`, { headers: auth(t.adminKey) })).arrayBuffer());
    await t.request(`/images/${up.id}/focal-point`, json(t.adminKey, 'PUT', { x: 0, y: 0.5 }));
    const left = await crop();
    await t.request(`/images/${up.id}/focal-point`, json(t.adminKey, 'PUT', { x: 1, y: 0.5 }));
    const right = await crop();
    expect(left.equals(right)).toBe(false);
  });

  it('DELETE removes the rows, the original file and the rendered copies; notifies listeners', async () => {
    const removed: string[] = [];
    t.deps.events.removed.push((id) => removed.push(id));
    const alice = makeUser(t, 'alice');
    const { body: up } = await upload(t, alice.key, 'dune-2mp.jpg', { tags: 'x' });
    // Render something into both cache tiers first.
    expect((await t.request(`/img/w_120/${up.id}.webp`, { headers: auth(alice.key) })).status).toBe(200);
    await (t.deps.cache as { settle?: () => Promise<void> }).settle?.();
    expect(renderedFiles()).toHaveLength(1);
    expect(t.deps.cache.stats().memory_entries).toBe(1);
    const res = await t.request(`/images/${up.id}`, { method: 'DELETE', headers: auth(alice.key) });
    expect(res.status).toBe(204);
    expect(imageRows(t)).toHaveLength(0);
    expect(t.deps.db.select().from(imageTags).all()).toHaveLength(0);
    expect(originalsOnDisk(t)).toHaveLength(0);
    expect(removed).toEqual([up.id]);
    expect(renderedFiles()).toEqual([]);
    expect(t.deps.cache.stats()).toMatchObject({ memory_entries: 0, disk_entries: 0 });
    expect((await t.request(`/img/w_120/${up.id}.webp`, { headers: auth(alice.key) })).status).toBe(404);
    expect((await t.request(`/images/${up.id}`, { method: 'DELETE', headers: auth(alice.key) })).status).toBe(404);
  });

  it("DELETE keeps the original while another owner's image uses the same bytes", async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    const a = await upload(t, alice.key, 'dune-2mp.jpg');
    const b = await upload(t, bob.key, 'dune-2mp.jpg');
    expect((await t.request(`/images/${a.body.id}`, { method: 'DELETE', headers: auth(alice.key) })).status).toBe(204);
    expect(originalsOnDisk(t)).toHaveLength(1);
    expect((await t.request(`/img/${b.body.id}`)).status).toBe(200);
    expect((await t.request(`/images/${b.body.id}`, { method: 'DELETE', headers: auth(bob.key) })).status).toBe(204);
    expect(originalsOnDisk(t)).toHaveLength(0);
  });

  it('400 for a malformed id', async () => {
    expect((await t.request('/images/bad.id!', { headers: auth(t.adminKey) })).status).toBe(400);
  });
});
