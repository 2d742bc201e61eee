import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.js';
import { signedImagePath } from '../../src/auth/signature.js';
import { renditionsDir } from '../../src/cache/index.js';
import { renditions } from '../../src/db/schema.js';
import { createDeps } from '../../src/deps.js';
import type { BlobStore } from '../../src/storage/store.js';
import { listen, testApp, type TestApp } from '../helpers/app.js';

/** Originals that can be held back, so a render is slow exactly as long as the test wants. */
class HeldStore implements BlobStore {
  readonly kind = 'held';
  private held: Promise<void> | null = null;
  private release: () => void = () => {};
  constructor(private readonly inner: BlobStore) {}
  hold() {
    this.held = new Promise((r) => (this.release = r));
  }
  let() {
    this.held = null;
    this.release();
  }
  async get(key: string) {
    if (this.held) await this.held;
    return this.inner.get(key);
  }
  put = (k: string, d: Buffer) => this.inner.put(k, d);
  delete = (k: string) => this.inner.delete(k);
  has = (k: string) => this.inner.has(k);
  check = () => this.inner.check();
}

const UNSIGNED = { ALLOW_UNSIGNED_TRANSFORMS: 'true' };

async function cachedFiles(t: TestApp) {
  const root = renditionsDir(t.deps.config);
  const out: string[] = [];
  for (const sub of await fs.readdir(root).catch(() => [])) {
    for (const f of await fs.readdir(path.join(root, sub))) if (!f.endsWith('.tmp')) out.push(path.join(root, sub, f));
  }
  return out;
}

/** Closes a test app's cache and DB but keeps its directories, like a process that exits. */
async function stop(t: TestApp) {
  await t.deps.cache.close();
  t.deps.db.$client.close();
}

/** A new process over the same DATA_DIR and CACHE_DIR: empty memory tier, same disk tier. */
async function restart(t: TestApp) {
  await stop(t);
  const deps = await createDeps(t.deps.config);
  const app = createApp(deps);
  t.deps = deps;
  t.app = app;
  t.request = (p, init) => Promise.resolve(app.request(p, init));
  return t;
}

describe('rendition cache over HTTP', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('renders 100 simultaneous requests for a new URL once and answers them all the same (real socket)', async () => {
    t = await testApp(UNSIGNED);
    const id = await t.seed('dune-2mp.jpg');
    const server = await listen(t.app.fetch);
    try {
      const responses = await Promise.all(
        Array.from({ length: 100 }, () =>
          fetch(`${server.url}/img/w_320,f_webp/${id}`).then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) })),
        ),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(new Set(responses.map((r) => r.body.toString('base64'))).size).toBe(1);
      expect(t.deps.cache.stats()).toMatchObject({ renders: 1, misses: 1 });
      expect(t.deps.cache.stats().coalesced + t.deps.cache.stats().hits_memory).toBe(99);
      expect(await sharp(responses[0].body).metadata()).toMatchObject({ format: 'webp', width: 320 });
    } finally {
      await server.close();
    }
  });

  it('serves from memory, then after a restart from disk without rendering, with the same bytes', async () => {
    t = await testApp(UNSIGNED);
    const id = await t.seed('dune-2mp.jpg');
    const url = `/img/w_200,f_jpg/${id}`;
    const miss = await t.request(url);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(miss.headers.get('server-timing')).toMatch(/cache;desc="miss", render;dur=\d/);
    const bytes = Buffer.from(await miss.arrayBuffer());
    expect((await t.request(url)).headers.get('x-cache')).toBe('HIT-MEMORY');

    await restart(t);
    const disk = await t.request(url);
    expect(disk.status).toBe(200);
    expect(disk.headers.get('x-cache')).toBe('HIT-DISK');
    expect(disk.headers.get('server-timing')).toContain('cache;desc="disk"');
    expect(Buffer.from(await disk.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await t.request(url)).headers.get('x-cache')).toBe('HIT-MEMORY');
    expect(t.deps.cache.stats()).toMatchObject({ renders: 0, hits_disk: 1, hits_memory: 1 });
  });

  it('re-renders a torn cache file after a restart instead of serving it', async () => {
    t = await testApp(UNSIGNED);
    const id = await t.seed('dune-2mp.jpg');
    const url = `/img/w_240,f_webp/${id}`;
    const good = Buffer.from(await (await t.request(url)).arrayBuffer());
    await stop(t);
    const [file] = await cachedFiles(t);
    await fs.truncate(file, 50);
    await restart(t);
    const again = await t.request(url);
    expect(again.headers.get('x-cache')).toBe('MISS');
    const body = Buffer.from(await again.arrayBuffer());
    expect(body.length).toBe(good.length);
    expect(await sharp(body).metadata()).toMatchObject({ format: 'webp', width: 240 });
    await t.deps.cache.settle?.();
    expect((await fs.stat(file)).size).toBe(good.length);
  });

  it('purges exactly one image’s renditions from memory and disk', async () => {
    t = await testApp(UNSIGNED);
    const a = await t.seed('dune-2mp.jpg');
    const b = await t.seed('dragonfly-alpha.png');
    for (const u of [`/img/w_100/${a}`, `/img/w_120,f_webp/${a}`, `/img/w_100/${b}`]) await t.request(u);
    await t.deps.cache.settle?.();
    expect(await cachedFiles(t)).toHaveLength(3);

    expect(await t.deps.cache.purgeImage(a)).toBe(2);
    expect(await cachedFiles(t)).toHaveLength(1);
    expect((await t.request(`/img/w_100/${a}`)).headers.get('x-cache')).toBe('MISS');
    expect((await t.request(`/img/w_100/${b}`)).headers.get('x-cache')).toBe('HIT-MEMORY');
  });

  it('deleting an image also purges the renditions that used it as a watermark (memory and disk)', async () => {
    t = await testApp();
    const logo = await t.seed('dragonfly-alpha.png');
    const base = await t.seed('dune-2mp.jpg');
    // Signed: a signed URL skips the watermark lookup, so only the purge stops a stale copy.
    const url = signedImagePath(base, `wm_${logo},wms_25,w_200`, t.deps.secrets.signingKeys[0]);
    expect((await t.request(url)).headers.get('x-cache')).toBe('MISS');
    expect((await t.request(url)).headers.get('x-cache')).toBe('HIT-MEMORY');
    await t.deps.cache.settle?.();
    expect(await cachedFiles(t)).toHaveLength(1);

    const del = await t.request(`/images/${logo}`, { method: 'DELETE', headers: { 'X-API-Key': t.adminKey } });
    expect(del.status).toBeLessThan(300);
    expect(await cachedFiles(t)).toHaveLength(0);
    expect(t.deps.db.select().from(renditions).all()).toEqual([]);
    const after = await t.request(url);
    expect(after.status).toBe(400);
    expect(after.headers.get('x-cache')).toBeNull();
  });

  it('answers 503 with Retry-After once renders and queue are full, while hits keep flowing', async () => {
    t = await testApp({ ...UNSIGNED, RENDER_CONCURRENCY: '1', RENDER_QUEUE: '1' });
    const id = await t.seed('dune-2mp.jpg');
    expect((await t.request(`/img/w_50/${id}`)).status).toBe(200);
    // Renders held on reading an original no miss has read yet (a read one stays in memory).
    const unread = await t.seed('friends-portrait.jpg');
    const store = new HeldStore(t.deps.store);
    t.deps.store = store;
    store.hold();
    const running = t.request(`/img/w_60/${unread}`);
    const queued = t.request(`/img/w_70/${unread}`);
    const refused = await t.request(`/img/w_80/${unread}`);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('overloaded');

    const hit = await t.request(`/img/w_50/${id}`);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('HIT-MEMORY');

    store.let();
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect((await t.request(`/img/w_80/${unread}`)).status).toBe(200);
  });

  it('abandons a render past RENDER_TIMEOUT_MS with 504 and keeps serving', async () => {
    // Long enough for the real warm-up render on a busy CI machine; the held render never ends by itself.
    t = await testApp({ ...UNSIGNED, RENDER_TIMEOUT_MS: '2500' });
    const id = await t.seed('dune-2mp.jpg');
    expect((await t.request(`/img/w_50/${id}`)).status).toBe(200);
    // An original no miss has read yet: one already read is kept in memory (ORIGINALS_CACHE_MB) and never reaches the held store.
    const unread = await t.seed('friends-portrait.jpg');
    const store = new HeldStore(t.deps.store);
    t.deps.store = store;
    store.hold();
    const late = await t.request(`/img/w_90/${unread}`);
    expect(late.status).toBe(504);
    expect(late.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('render_timeout');
    expect((await t.request(`/img/w_50/${id}`)).status).toBe(200);
    expect((await t.request('/healthz')).status).toBe(200);

    store.let();
    // The abandoned render still finishes; its result answers the retry instead of a second render.
    const cache = t.deps.cache;
    await vi.waitFor(() => expect(cache.stats().in_flight).toBe(0), { timeout: 10_000 });
    const ok = await t.request(`/img/w_90/${unread}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-cache')).toBe('HIT-MEMORY');
    expect(await sharp(Buffer.from(await ok.arrayBuffer())).metadata()).toMatchObject({ width: 90 });
  });
});
