import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { presets } from '../../src/db/schema.js';
import { findImage } from '../../src/core/index.js';
import { originalKey } from '../../src/storage/store.js';
import { testApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let dune: string; // 1680x1050 JPEG, public
let secret: string; // private portrait
const key = () => ({ 'X-API-Key': t.adminKey });

beforeAll(async () => {
  t = await testApp();
  dune = await t.seed('dune-2mp.jpg');
  secret = await t.seed('friends-portrait.jpg', { visibility: 'private' });
});
afterAll(() => t.cleanup());

async function meta(res: Response) {
  return sharp(Buffer.from(await res.arrayBuffer())).metadata();
}

describe('GET /img/{options}/{id}', () => {
  it('renders the requested size and format with the immutable caching headers', async () => {
    const res = await t.request(`/img/w_300,f_webp/${dune}`, { headers: key() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    // Options an anonymous caller may not use: the key authorised it, so no shared cache may keep it.
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('etag')).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(res.headers.get('server-timing')).toMatch(/cache;desc="(miss|memory|disk)"/);
    expect(res.headers.get('cache-tag')).toBe(`img-${dune}`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    const m = await sharp(body).metadata();
    expect([m.format, m.width, m.height]).toEqual(['webp', 300, 188]);
  });

  it('keeps w_ as the delivered width after a right-angle rotation', async () => {
    const res = await t.request(`/img/w_300,r_90,f_webp/${dune}`, { headers: key() });
    const m = await meta(res);
    expect(m.width).toBe(300);
    expect(m.height!).toBeGreaterThan(300);
  });

  it('treats .{ext} as f_ and option order as irrelevant (same ETag)', async () => {
    const a = await t.request(`/img/w_200,q_70/${dune}.png`, { headers: key() });
    const b = await t.request(`/img/q_70,w_200,f_png/${dune}`, { headers: key() });
    expect(a.headers.get('content-type')).toBe('image/png');
    expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
  });

  it('answers If-None-Match with 304 and HEAD without a body', async () => {
    const first = await t.request(`/img/w_120/${dune}`, { headers: key() });
    const etag = first.headers.get('etag')!;
    const again = await t.request(`/img/w_120/${dune}`, { headers: { ...key(), 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    const head = await t.request(`/img/w_120/${dune}`, { method: 'HEAD', headers: key() });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('image/jpeg');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('negotiates f_auto from Accept and always says Vary: Accept', async () => {
    const avif = await t.request(`/img/w_100,f_auto/${dune}`, { headers: { ...key(), Accept: 'image/avif,image/webp,*/*' } });
    expect(avif.headers.get('content-type')).toBe('image/avif');
    expect(avif.headers.get('vary')).toBe('Accept');
    const jpeg = await t.request(`/img/w_100,f_auto/${dune}`, { headers: { ...key(), Accept: 'image/*' } });
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect(jpeg.headers.get('vary')).toBe('Accept');
    expect(jpeg.headers.get('etag')).not.toBe(avif.headers.get('etag'));
  });

  it.each([
    ['w_0', 'w'],
    ['w_999999', 'w'],
    ['q_1000', 'q'],
    ['f_exe', 'f'],
    ['zz_1', 'zz'],
    ['w_10,w_20', 'w'],
    ['w_abc', 'w'],
  ])('rejects %s with a 400 naming the option', async (options, option) => {
    const res = await t.request(`/img/${options}/${dune}`, { headers: key() });
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { error: { code: string; option: string; message: string } };
    expect(body.error.code).toBe('bad_option');
    expect(body.error.option).toBe(option);
  });

  it('answers 404 JSON for an unknown id and a malformed path', async () => {
    const res = await t.request('/img/w_100/doesnotexist', { headers: key() });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('image_not_found');
    // Three segments are a public id (`blog/b/c`, none here) or options + a public id (`a` is a_: a bad one).
    expect((await t.request('/img/blog/b/c', { headers: key() })).status).toBe(404);
    expect((await t.request('/img/w_1/b/', { headers: key() })).status).toBe(404);
    expect((await t.request('/img/a/b/c', { headers: key() })).status).toBe(400);
  });

  it('serves a dry run with .json without rendering', async () => {
    const res = await t.request(`/img/r_90,w_300,f_webp/${dune}.json`, { headers: key() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { options: string; output: { format: string; width: number; height: number }; signing: { string: string } };
    expect(body.output).toEqual({ format: 'webp', width: 300, height: 480 });
    expect(body.signing.string).toBe(`r_90,w_300,f_webp/${dune}`);
    const status = async () =>
      ((await (await t.request(`/img/w_77,f_png/${dune}.json`, { headers: key() })).json()) as { cache: { status: string } }).cache.status;
    expect(await status()).toBe('miss');
    await t.request(`/img/w_77,f_png/${dune}`, { headers: key() });
    expect(await status()).toBe('memory');
    const explained = await t.request(`/img/w_300/${dune}?explain=1`, { headers: key() });
    expect(((await explained.json()) as { output: { width: number } }).output.width).toBe(300);
  });

  it('strips metadata and auto-orients the original', async () => {
    const tagged = await sharp(
      await sharp({ create: { width: 64, height: 32, channels: 3, background: '#c33' } })
        .jpeg()
        .toBuffer(),
    )
      .withMetadata({ orientation: 6, exif: { IFD0: { Copyright: 'secret place' } } })
      .jpeg()
      .toBuffer();
    const { ingest } = await import('../../src/library/ingest.js');
    const { image } = await ingest(t.deps, tagged, {});
    expect([image.width, image.height]).toEqual([32, 64]);
    const res = await t.request(`/img/${image.id}`);
    const m = await meta(res);
    expect([m.width, m.height]).toEqual([32, 64]);
    expect(m.exif).toBeUndefined();
    expect(m.orientation ?? 1).toBe(1);
  });
});

describe('access policy on /img', () => {
  it('lets anyone fetch a public original but not arbitrary transforms', async () => {
    expect((await t.request(`/img/${dune}`)).status).toBe(200);
    const res = await t.request(`/img/w_300/${dune}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('signature_required');
  });

  it('hides private images from strangers with a 404', async () => {
    expect((await t.request(`/img/${secret}`)).status).toBe(404);
    expect((await t.request(`/info/${secret}`)).status).toBe(404);
    expect((await t.request(`/img/w_100/${secret}`, { headers: key() })).status).toBe(200);
  });

  it('accepts the key as X-API-Key, Bearer and ?key=, and rejects a bad or revoked key with 401', async () => {
    expect((await t.request(`/img/w_50/${secret}`, { headers: { Authorization: `Bearer ${t.adminKey}` } })).status).toBe(200);
    expect((await t.request(`/img/w_50/${secret}?key=${t.adminKey}`)).status).toBe(200);
    expect((await t.request(`/img/w_50/${dune}`, { headers: { 'X-API-Key': 'imgp_notakeyatallxxxxxxxxxxxxx' } })).status).toBe(401);
    const k = await t.deps.keys.create({ scopes: ['deliver'] });
    expect((await t.request(`/img/w_50/${dune}?key=${k.key}`)).status).toBe(200);
    await t.deps.keys.revoke(k.id);
    expect((await t.request(`/img/w_50/${dune}?key=${k.key}`)).status).toBe(401);
  });

  it('refuses a key without the deliver scope for transforms', async () => {
    const k = await t.deps.keys.create({ scopes: ['upload'] });
    expect((await t.request(`/img/w_50/${dune}`, { headers: { 'X-API-Key': k.key } })).status).toBe(403);
  });

  it('accepts a signed URL for any options, also on private images', async () => {
    const p = signedImagePath(secret, 'w_200,e_grayscale', t.deps.secrets.signingKeys[0]);
    const res = await t.request(p);
    expect(res.status).toBe(200);
    expect((await meta(res)).width).toBe(200);
  });

  it('rejects tampered, truncated and swapped signatures with 403', async () => {
    const good = signedImagePath(dune, 'w_200', t.deps.secrets.signingKeys[0]);
    const tampered = good.replace('w_200', 'w_201');
    const sig = good.slice('/img/s--'.length, good.indexOf('--/'));
    const truncated = `/img/s--${sig.slice(0, -4)}--/w_200/${dune}`;
    const other = signedImagePath(secret, 'w_200', t.deps.secrets.signingKeys[0]);
    const swapped = `${other.split('--/')[0]}--/w_200/${dune}`;
    for (const p of [tampered, truncated, swapped, `/img/s--k1.AAAA--/w_200/${dune}`, `/img/s--nokid--/w_200/${dune}`]) {
      const res = await t.request(p);
      expect(res.status, p).toBe(403);
      const body = (await res.json()) as { error: { code: string; signingString?: string } };
      expect(body.error.code).toBe('bad_signature');
      expect(body.error.signingString).toBeUndefined(); // production never explains
    }
  });

  it('honours exp_ in a signed URL', async () => {
    const now = t.deps.clock();
    const live = signedImagePath(dune, 'w_100', t.deps.secrets.signingKeys[0], { expiresAt: now + 60 });
    const res = await t.request(live);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('cache-control')!.match(/max-age=(\d+)/)![1])).toBeLessThanOrEqual(60);
    const dead = signedImagePath(dune, 'w_100', t.deps.secrets.signingKeys[0], { expiresAt: now - 1 });
    const expired = await t.request(dead);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('expired');
  });
});

describe('GET /info/{id}', () => {
  it('answers dimensions, format, bytes, dominant colour and a placeholder', async () => {
    const res = await t.request(`/info/${dune}`);
    expect(res.status).toBe(200);
    const info = (await res.json()) as Record<string, unknown>;
    expect(info).toMatchObject({ id: dune, width: 1680, height: 1050, format: 'jpeg', orientation: 'landscape' });
    expect(info.bytes).toBe(1021283);
    expect(info.placeholder).toEqual({
      thumbhash: expect.stringMatching(/^[A-Za-z0-9+/=]+$/),
      dataUri: expect.stringMatching(/^data:image\/png;base64,/),
      dominant: expect.stringMatching(/^#[0-9a-f]{6}$/),
    });
  });
});

describe('presets on /img', () => {
  const save = (name: string, options: string) =>
    t.request('/presets', { method: 'POST', headers: { ...key(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name, options }) });

  it("uses a preset's new options on the very next request, however quickly it was edited", async () => {
    expect((await save('quick', 'w_110')).status).toBe(201);
    expect((await meta(await t.request(`/img/t_quick/${dune}`))).width).toBe(110);
    // Several edits within one second (updated_at has second resolution): each one is seen at once.
    for (const w of [120, 130, 140]) {
      expect((await save('quick', `w_${w}`)).status).toBe(200);
      expect((await meta(await t.request(`/img/t_quick/${dune}`))).width).toBe(w);
    }
    // Another process (a second instance, a manual fix) writing the row without any hook.
    t.deps.db.update(presets).set({ options: 'w_150' }).where(eq(presets.name, 'quick')).run();
    expect((await meta(await t.request(`/img/t_quick/${dune}`))).width).toBe(150);
    expect((await t.request('/presets/quick', { method: 'DELETE', headers: key() })).status).toBe(204);
    expect((await t.request(`/img/t_quick/${dune}`)).status).toBe(400);
  });
});

describe('storage failures on /img', () => {
  it('answer 503 storage_unavailable with Retry-After, not 500, for the original and for a watermark', async () => {
    const s = await testApp();
    try {
      const id = await s.seed('dune-2mp.jpg');
      const logo = await s.seed('dragonfly-alpha.png');
      const real = s.deps.store;
      const unreadable = new Set<string>();
      // A disk that fails on read (EIO, a vanished mount) for some objects and answers the rest.
      s.deps.store = {
        ...real,
        kind: real.kind,
        get: (key) => (unreadable.has(key) ? Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })) : real.get(key)),
      };
      const originalOf = async (imageId: string) => originalKey((await findImage(s.deps, imageId))!.hash);
      for (const [failing, url] of [
        [id, `/img/w_120/${id}`],
        [logo, `/img/w_130,wm_${logo}/${id}`],
      ]) {
        unreadable.clear();
        unreadable.add(await originalOf(failing));
        const res = await s.request(url, { headers: { 'X-API-Key': s.adminKey } });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable');
      }
      unreadable.clear();
      expect((await s.request(`/img/w_120/${id}`, { headers: { 'X-API-Key': s.adminKey } })).status).toBe(200);
    } finally {
      await s.cleanup();
    }
  });
});
