import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeTasks, taskRunner } from '../../src/library/tasks.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

// Two nodes in one process, each with its own caches, on one PostgreSQL: a change made on one
// reaches the other's caches through LISTEN/NOTIFY within a second (issue 13 item 2).
let server: PostgresServer;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  server = await startPostgres();
  const url = await server.createDatabase();
  a = await testApp({ DATABASE_URL: url, NODE_NAME: 'node-a' });
  // One store for both, as a bucket would be (this test is about the database's notifications).
  b = await testApp({ DATABASE_URL: url, NODE_NAME: 'node-b' }, { deps: { store: a.deps.store } });
}, 120_000);
afterAll(async () => {
  for (const t of [a, b]) {
    if (!t) continue;
    await t.deps.repos.close();
    await t.cleanup();
  }
  await server?.stop();
});

const key = (k: string) => ({ 'X-API-Key': k });
const send = (t: TestApp, method: string, path: string, body?: unknown) =>
  t.request(path, {
    method,
    headers: { ...key(t.adminKey), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Polls `check` until it holds, for at most `ms`; answers how long that took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cacheKey(t: TestApp, path: string) {
  return ((await (await t.request(`${path}.json`, { headers: key(t.adminKey) })).json()) as { cache: { key: string } }).cache.key;
}

describe('changes made on one node reach the caches of the other', () => {
  it("a delete on A purges B's memory and disk renditions, answers 404 on B and leaves B's random pool", async () => {
    const id = await a.seed('dune-2mp.jpg');
    const path = `/img/w_90,f_webp/${id}`;
    expect((await b.request(path, { headers: key(b.adminKey) })).headers.get('x-cache')).toBe('MISS');
    await b.deps.cache.settle?.();
    const k = await cacheKey(b, path);
    expect(await b.deps.cache.tierOf(k)).toBe('memory');
    await within(1000, async () => (await b.deps.random.pool.ready()).size > 0);

    expect((await send(a, 'DELETE', `/images/${id}`)).status).toBe(204);
    await within(1000, async () => (await b.deps.cache.tierOf(k)) === 'miss');
    expect(await b.deps.repos.renditions.totals()).toEqual({ entries: 0, bytes: 0 });
    expect((await b.request(path, { headers: key(b.adminKey) })).status).toBe(404);
    expect(b.deps.random.pool.pool.size).toBe(0);
  });

  it('an image made private on A is refused to anonymous callers on B within a second', async () => {
    const id = await a.seed('friends-portrait.jpg');
    expect((await b.request(`/img/${id}`)).status).toBe(200);
    expect((await send(a, 'PATCH', `/images/${id}`, { visibility: 'private' })).status).toBe(200);
    await within(1000, async () => (await b.request(`/img/${id}`)).status === 404);
    expect((await b.request(`/img/${id}`, { headers: key(b.adminKey) })).status).toBe(200);
  });

  it("a focal point set on A drops B's g_auto crops", async () => {
    const id = await a.seed('sunset-12mp.jpg');
    const path = `/img/w_100,h_100,c_fill,g_auto,f_png/${id}`;
    expect((await b.request(path, { headers: key(b.adminKey) })).status).toBe(200);
    const k = await cacheKey(b, path);
    expect(await b.deps.cache.tierOf(k)).toBe('memory');
    expect((await send(a, 'PUT', `/images/${id}/focal-point`, { x: 0.1, y: 0.9 })).status).toBe(200);
    await within(1000, async () => (await b.deps.cache.tierOf(k)) === 'miss');
  });

  it('a preset edited on A is rendered with its new options by B', async () => {
    const id = await a.seed('dune-2mp.jpg', { ownerId: null });
    expect((await send(a, 'POST', '/presets', { name: 'thumb', options: 'w_50,f_png' })).status).toBe(201);
    const width = async () => (await sharp(Buffer.from(await (await b.request(`/img/t_thumb/${id}`)).arrayBuffer())).metadata()).width;
    expect(await width()).toBe(50);
    const before = await cacheKey(b, `/img/t_thumb/${id}`);
    expect(await b.deps.cache.tierOf(before)).toBe('memory');
    expect((await send(a, 'POST', '/presets', { name: 'thumb', options: 'w_80,f_png' })).status).toBe(200);
    await within(1000, async () => (await width()) === 80);
    // What B rendered through the old options is gone too, not left to age out.
    await within(1000, async () => (await b.deps.cache.tierOf(before)) === 'miss');
  });

  it('a key revoked on A is refused on B within a second, though B had its verdict cached', async () => {
    const id = await a.seed('dragonfly-alpha.png', { visibility: 'private' });
    const made = await a.deps.keys.create({ name: 'client', scopes: ['deliver', 'admin'] });
    const get = () => b.request(`/img/w_40,f_png/${id}`, { headers: key(made.key) });
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(200);
    expect((await send(a, 'DELETE', `/keys/${made.id}`)).status).toBe(204);
    await within(1000, async () => (await get()).status === 401);
  });

  it('a policy token minted with a key stops on B within a second of the key being revoked on A', async () => {
    const id = await a.seed('dune-2mp.jpg', { visibility: 'private' });
    const made = await a.deps.keys.create({ name: 'minter', scopes: ['deliver', 'upload'] });
    const signed = await b.request('/sign', {
      method: 'POST',
      headers: { ...key(made.key), 'Content-Type': 'application/json' },
      body: JSON.stringify({ id, policy: {}, expiresIn: 600 }),
    });
    expect(signed.status).toBe(200);
    const { token } = (await signed.json()) as { token: string };
    const get = () => b.request(`/img/${id}?token=${token}`);
    expect((await get()).status).toBe(200);
    expect((await send(a, 'DELETE', `/keys/${made.id}`)).status).toBe(204);
    await within(1000, async () => (await get()).status === 401);
  });

  it('a task queued on A is run by B at once (B is told of it, no sweep needed)', async () => {
    const id = await a.seed('dune-2mp.jpg');
    await taskRunner(a.deps).stop(); // A takes no work: only B can run it
    await resumeTasks(b.deps);
    const res = await send(a, 'POST', `/images/${id}/transform?async=1`, { resize: { width: 240 }, format: 'png' });
    expect(res.status).toBe(202);
    const { id: taskId } = (await res.json()) as { id: string };
    await within(5000, async () => (await b.deps.repos.tasks.byId(taskId))?.state === 'done');
    expect(await b.deps.repos.tasks.byId(taskId)).toMatchObject({ claimedBy: 'node-b' });
  });
});
