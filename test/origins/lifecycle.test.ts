import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { findImage } from '../../src/core/index.js';
import { originImageId } from '../../src/origins/url.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { solid, startOrigin, type OriginServer } from './origin-server.js';

/** A remote original's life: fetched once, served like a library image, revalidated after its TTL, replaced or removed. */

const TTL = 600;
const KEY = { kid: 'k1', secret: 'origin-test-secret-0123456789' };
let origin: OriginServer;
let t: TestApp;
let now = 1_800_000_000;
const admin = () => ({ 'X-API-Key': t.adminKey });

beforeAll(async () => {
  origin = await startOrigin();
  t = await testApp(
    { ORIGINS: `blog=${origin.url}/media/`, ORIGINS_ALLOW_PRIVATE: 'blog', ORIGIN_TTL_SECONDS: String(TTL), SIGNING_KEYS: `${KEY.kid}:${KEY.secret}` },
    { deps: { clock: () => now } },
  );
});
afterAll(async () => {
  await t.cleanup();
  await origin.close();
});

async function size(res: Response) {
  const m = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  return [m.format, m.width, m.height];
}

describe('first use', () => {
  it('fetches once however many requests arrive together', async () => {
    origin.file('/media/2024/cat.jpg', await solid(64, 48, 'jpeg'), { delayMs: 150 });
    const answers = await Promise.all(Array.from({ length: 12 }, () => t.request('/img/@blog/2024/cat.jpg')));
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(origin.hits.get('/media/2024/cat.jpg')).toBe(1);
    expect(await size(answers[0])).toEqual(['jpeg', 64, 48]);
    // Later requests, any options, never go back to the origin within the TTL.
    expect((await t.request('/img/w_32/@blog/2024/cat.jpg', { headers: admin() })).status).toBe(200);
    expect(origin.hits.get('/media/2024/cat.jpg')).toBe(1);
  });

  it('stores an ordinary library image under the derived id, with its placeholder and origin facts', async () => {
    const id = originImageId('blog', '2024/cat.jpg');
    const row = (await findImage(t.deps, id))!;
    expect(row).toMatchObject({ width: 64, height: 48, format: 'jpeg', ownerId: null, filename: 'cat.jpg', visibility: 'public' });
    expect(row.placeholder).toBeTruthy();
    const info = await t.request('/info/@blog/2024/cat.jpg');
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ id, width: 64, height: 48, format: 'jpeg' });
    expect(info.headers.get('cache-control')).toBe(`public, max-age=${TTL}`);
    expect((await t.request(`/info/${id}`)).status).toBe(200);
    expect((await t.request(`/img/${id}`)).status).toBe(200); // the derived id works as any id
  });

  it('is never cached as immutable: a remote file may change under its URL', async () => {
    const res = await t.request('/img/@blog/2024/cat.jpg');
    expect(res.headers.get('cache-control')).toBe(`public, max-age=${TTL}`);
    expect(res.headers.get('cache-tag')).toBe(`img-${originImageId('blog', '2024/cat.jpg')}`);
  });
});

describe('access follows the library policy', () => {
  it('lets anonymous callers have the original, not transforms (refused before any fetch)', async () => {
    origin.file('/media/private-ish.jpg', await solid(40, 40, 'jpeg'));
    const res = await t.request('/img/w_20/@blog/private-ish.jpg');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('signature_required');
    expect(origin.hits.get('/media/private-ish.jpg')).toBeUndefined();
  });

  it('accepts a signature over the @origin/path text exactly as sent', async () => {
    const path = signedImagePath('@blog/private-ish.jpg', 'w_20', KEY);
    expect(path).toMatch(/^\/img\/s--k1\.[^/]+--\/w_20\/@blog\/private-ish\.jpg$/);
    const res = await t.request(path);
    expect(res.status).toBe(200);
    expect(await size(res)).toEqual(['jpeg', 20, 20]);
    expect((await t.request(path.replace('private-ish.jpg', 'other.jpg'))).status).toBe(403);
    expect((await t.request(path.replace('@blog', '@blog2'))).status).toBe(403);
  });
});

describe('after the TTL', () => {
  it('revalidates with If-None-Match, and a 304 keeps everything', async () => {
    origin.file('/media/same.jpg', await solid(50, 50, 'jpeg'));
    const first = await t.request('/img/w_25/@blog/same.jpg', { headers: admin() });
    const etag = first.headers.get('etag');
    now += TTL - 1;
    await t.request('/img/w_25/@blog/same.jpg', { headers: admin() });
    expect(origin.hits.get('/media/same.jpg')).toBe(1);
    now += 2;
    const again = await t.request('/img/w_25/@blog/same.jpg', { headers: admin() });
    expect(origin.hits.get('/media/same.jpg')).toBe(2);
    expect(origin.last.get('/media/same.jpg')!['if-none-match']).toMatch(/^"v-/);
    expect(origin.last.get('/media/same.jpg')!['if-modified-since']).toBe('Tue, 01 Dec 2026 10:00:00 GMT');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('x-cache')).toMatch(/^HIT/);
  });

  it('replaces the original and purges its renditions when the bytes changed', async () => {
    origin.file('/media/changing.png', await solid(80, 60, 'png', '#2040c0'), { type: 'image/png' });
    const url = '/img/w_40/@blog/changing.png';
    const before = await t.request(url, { headers: admin() });
    expect(await size(before)).toEqual(['png', 40, 30]);
    const { cache } = (await (await t.request(`${url}.json`, { headers: admin() })).json()) as { cache: { key: string } };
    expect(await t.deps.cache.tierOf(cache.key)).not.toBe('miss');
    const oldHash = (await findImage(t.deps, originImageId('blog', 'changing.png')))!.hash;

    origin.file('/media/changing.png', await solid(100, 100, 'png', '#20c040'), { type: 'image/png' });
    now += TTL + 1;
    const after = await t.request(url, { headers: admin() });
    expect(after.status).toBe(200);
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect(await size(after)).toEqual(['png', 40, 40]);
    expect(await t.deps.cache.tierOf(cache.key)).toBe('miss'); // the old rendition is gone from both tiers
    const row = (await findImage(t.deps, originImageId('blog', 'changing.png')))!;
    expect([row.width, row.height]).toEqual([100, 100]);
    expect(await t.deps.store.has(`originals/${oldHash.slice(0, 2)}/${oldHash}`)).toBe(false);
  });

  it('serves the stored copy while the origin fails, and asks again later', async () => {
    origin.file('/media/flaky.jpg', await solid(30, 30, 'jpeg'));
    expect((await t.request('/img/@blog/flaky.jpg')).status).toBe(200);
    origin.route('/media/flaky.jpg', (_req, res) => void res.writeHead(503).end());
    now += TTL + 1;
    expect((await t.request('/img/@blog/flaky.jpg')).status).toBe(200);
    expect(origin.hits.get('/media/flaky.jpg')).toBe(2);
    expect((await t.request('/img/@blog/flaky.jpg')).status).toBe(200);
    expect(origin.hits.get('/media/flaky.jpg')).toBe(2); // not on every request
    now += 61;
    await t.request('/img/@blog/flaky.jpg');
    expect(origin.hits.get('/media/flaky.jpg')).toBe(3);
  });

  it('answers 404 once the origin does, and forgets the image', async () => {
    origin.file('/media/gone.jpg', await solid(30, 30, 'jpeg'));
    expect((await t.request('/img/@blog/gone.jpg')).status).toBe(200);
    origin.route('/media/gone.jpg', (_req, res) => void res.writeHead(404).end());
    now += TTL + 1;
    const res = await t.request('/img/@blog/gone.jpg');
    expect(res.status).toBe(404);
    expect(await findImage(t.deps, originImageId('blog', 'gone.jpg'))).toBeUndefined();
  });
});

describe('purge', () => {
  it('deleting the image through the API makes the next request fetch it again', async () => {
    origin.file('/media/purged.jpg', await solid(30, 30, 'jpeg'));
    expect((await t.request('/img/@blog/purged.jpg')).status).toBe(200);
    const id = originImageId('blog', 'purged.jpg');
    expect((await t.request(`/images/${id}`, { method: 'DELETE', headers: admin() })).status).toBeLessThan(300);
    expect((await t.request('/img/@blog/purged.jpg')).status).toBe(200);
    expect(origin.hits.get('/media/purged.jpg')).toBe(2);
  });
});
