import fsp from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path_ from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { flushUsage } from '../../src/auth/state.js';
import { frontListener } from '../../src/delivery/front.js';
import { ingest } from '../../src/library/ingest.js';
import { createLogger } from '../../src/log.js';
import { testApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 14 item 1: the hit memo (src/delivery/hit-memo.ts) answers a repeated /img request from
 * the node:http listener, before Hono. Every test here goes over a real socket through that
 * listener (as `startServer` serves), and checks that the memo answered (its `answered` count)
 * where it should, and that every decision the full path makes is still made: a changed database,
 * a revoked key, an expired URL, a changed Accept or credential are seen on the very next request.
 */

const SIGNING = { kid: 'k1', secret: 'memo-test-signing-secret-0123456789' };

interface MemoApp extends TestApp {
  url: string;
  clock: { now: number };
  /** Requests sent over the socket so far. */
  sent: number;
  /** Body bytes received over the socket so far. */
  received: number;
  close(): Promise<void>;
}

async function memoApp(env: Record<string, string> = {}, log?: ReturnType<typeof createLogger>): Promise<MemoApp> {
  const clock = { now: Math.floor(Date.now() / 1000) };
  const t = await testApp({ SIGNING_KEYS: `${SIGNING.kid}:${SIGNING.secret}`, ...env }, { deps: { clock: () => clock.now, ...(log ? { log } : {}) } });
  const server: Server = createServer(frontListener(t.deps, t.app));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return Object.assign(t, {
    url,
    clock,
    sent: 0,
    received: 0,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await t.cleanup();
    },
  });
}

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function get(t: MemoApp, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  t.sent++;
  const res = await fetch(`${t.url}${path}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  t.received += body.length;
  return { status: res.status, headers: res.headers, body };
}

const answered = (t: MemoApp) => t.deps.hits.stats().answered;

/**
 * Requests `path` until the memo answers it (the first answers teach it; a write in between, such
 * as the disk tier's index after a render, makes it learn again), and returns that answer.
 */
async function memoised(t: MemoApp, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  for (let i = 0; i < 10; i++) {
    const before = answered(t);
    const res = await get(t, path, headers);
    if (answered(t) === before + 1) return res;
    // Background writes (the disk tier, its index) land between requests.
    await t.deps.cache.settle?.();
  }
  throw new Error(`the memo never answered ${path}`);
}

/** The next request, which must be answered by the full path (the memo declined it). */
async function notMemoised(t: MemoApp, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const before = answered(t);
  const res = await get(t, path, headers);
  expect(answered(t)).toBe(before);
  return res;
}

async function errorCode(a: Answer) {
  return (JSON.parse(a.body.toString()) as { error: { code: string } }).error.code;
}

/** A new public image of its own bytes (a plain colour `n`): the samples are few, and the same bytes twice are one image. */
async function freshImage(t: TestApp, n: number): Promise<string> {
  const bytes = await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: n, g: 90, b: 40 } } })
    .jpeg()
    .toBuffer();
  return (await ingest(t.deps, bytes, { filename: `plain-${n}.jpg` })).image.id;
}

const admin = (t: TestApp) => ({ 'X-API-Key': t.adminKey, 'Content-Type': 'application/json' });

async function deliverKey(t: MemoApp) {
  const res = await t.request('/keys', { method: 'POST', headers: admin(t), body: JSON.stringify({ scopes: ['deliver'] }) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

/** A write by another process: its own connection to the database file. */
function otherProcess(t: TestApp, write: (db: Database.Database) => void) {
  const other = new Database(t.deps.db.$client.name);
  try {
    write(other);
  } finally {
    other.close();
  }
}
/** One read of data_version stands for the next millisecond: another process's commit is seen after that. */
const pastReuse = () => new Promise((r) => setTimeout(r, 5));

describe('the hit memo', () => {
  let t: MemoApp;
  let pub: string;
  let priv: string;
  beforeAll(async () => {
    t = await memoApp();
    pub = await t.seed('dune-2mp.jpg');
    priv = await t.seed('friends-portrait.jpg', { visibility: 'private' });
    expect((await t.request('/presets', { method: 'POST', headers: admin(t), body: JSON.stringify({ name: 'memo', options: 'w_64' }) })).status).toBeLessThan(
      300,
    );
  });
  afterAll(() => t.close());

  it('answers a repeated hit with the bytes and headers of the full path, from the memory tier', async () => {
    const path = `/img/t_memo/${pub}`;
    const memo = await memoised(t, path, { 'X-Request-Id': 'edge-1' });
    expect(memo.status).toBe(200);
    expect(memo.headers.get('x-cache')).toBe('HIT-MEMORY');
    expect(memo.headers.get('x-request-id')).toBe('edge-1');
    const full = await t.request(path); // the same app in-process: Hono alone, no memo
    expect(full.headers.get('x-cache')).toBe('HIT-MEMORY');
    expect(Buffer.from(await full.arrayBuffer()).equals(memo.body)).toBe(true);
    const own = (h: Headers) => Object.fromEntries([...h].filter(([k]) => !['date', 'connection', 'keep-alive', 'x-request-id'].includes(k)));
    expect(own(memo.headers)).toEqual(own(full.headers));
    // A fresh id when the client sends none, or one unsafe to echo.
    expect((await memoised(t, path)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await memoised(t, path, { 'X-Request-Id': 'bad id"' })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a revoked key is refused on the very next request', async () => {
    const k = await deliverKey(t);
    const path = `/img/w_70/${priv}?key=${k.key}`;
    expect((await memoised(t, path)).status).toBe(200);
    expect((await t.request(`/keys/${k.id}`, { method: 'DELETE', headers: admin(t) })).status).toBe(204);
    const refused = await notMemoised(t, path);
    expect(refused.status).toBe(401);
    expect(await errorCode(refused)).toBe('invalid_key');
  });

  it('a key presented in X-API-Key and revoked by another process is refused on the next request', async () => {
    const k = await deliverKey(t);
    const path = `/img/w_71/${priv}`;
    expect((await memoised(t, path, { 'X-API-Key': k.key })).status).toBe(200);
    otherProcess(t, (db) => db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(t.clock.now, k.id));
    await pastReuse();
    expect((await notMemoised(t, path, { 'X-API-Key': k.key })).status).toBe(401);
  });

  it('keeps an answer for the credential headers it was given: without them, the full path decides', async () => {
    const path = `/img/w_72/${priv}`;
    expect((await memoised(t, path, { 'X-API-Key': t.adminKey })).status).toBe(200);
    expect((await notMemoised(t, path)).status).toBe(404); // a private image does not exist for anonymous callers
    expect((await notMemoised(t, path, { Authorization: 'Bearer not-a-key-at-all-0123456789' })).status).toBe(401);
    expect((await memoised(t, path, { 'X-API-Key': t.adminKey })).status).toBe(200);
  });

  it('an expired signed URL is refused though memoised', async () => {
    const exp = t.clock.now + 60;
    const path = signedImagePath(pub, 'w_73', SIGNING, { expiresAt: exp });
    const ok = await memoised(t, path);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe(`public, max-age=60`);
    t.clock.now = exp + 1;
    try {
      const refused = await notMemoised(t, path);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('expired');
    } finally {
      t.clock.now = exp - 60;
    }
  });

  it('a signature stops verifying once its key leaves SIGNING_KEYS', async () => {
    const path = signedImagePath(pub, 'w_74', SIGNING);
    expect((await memoised(t, path)).status).toBe(200);
    const keys = t.deps.secrets.signingKeys;
    t.deps.secrets.signingKeys = [{ kid: SIGNING.kid, secret: 'another-secret-0123456789abcdef' }];
    try {
      const refused = await notMemoised(t, path);
      expect(refused.status).toBe(403);
      expect(await errorCode(refused)).toBe('bad_signature');
    } finally {
      t.deps.secrets.signingKeys = keys;
    }
  });

  it('an image made private is refused to anonymous callers on the next request', async () => {
    const id = await freshImage(t, 10);
    const path = `/img/t_memo/${id}`;
    expect((await memoised(t, path)).status).toBe(200);
    const res = await t.request(`/images/${id}`, { method: 'PATCH', headers: admin(t), body: JSON.stringify({ visibility: 'private' }) });
    expect(res.status).toBe(200);
    expect((await notMemoised(t, path)).status).toBe(404);
  });

  it('an image made private by another process is refused to anonymous callers on the next request', async () => {
    const id = await freshImage(t, 20);
    const path = `/img/t_memo/${id}`;
    expect((await memoised(t, path)).status).toBe(200);
    otherProcess(t, (db) => db.prepare("UPDATE images SET visibility = 'private' WHERE id = ?").run(id));
    await pastReuse();
    expect((await notMemoised(t, path)).status).toBe(404);
  });

  it('a public-only link minted by POST /sign is refused on the next request once the image is private, as for a stranger', async () => {
    const id = await freshImage(t, 40);
    const minted = await t.request('/sign', { method: 'POST', headers: admin(t), body: JSON.stringify({ id, options: 'w_50,e_negate' }) });
    const path = ((await minted.json()) as { path: string }).path;
    expect(path).toBe(signedImagePath(id, 'w_50,e_negate', SIGNING, { reach: 'public' }));
    expect((await memoised(t, path)).status).toBe(200);
    expect((await memoised(t, path)).status).toBe(200);
    const mark = t.deps.repos.changes();
    const res = await t.request(`/images/${id}`, { method: 'PATCH', headers: admin(t), body: JSON.stringify({ visibility: 'private' }) });
    expect(res.status).toBe(200);
    expect(t.deps.repos.changes()).not.toBe(mark); // the visibility change moves the change mark
    const refused = await notMemoised(t, path);
    const stranger = await get(t, `/img/w_50,e_negate/${id}`);
    expect(refused.status).toBe(404);
    expect(stranger.status).toBe(404);
    expect(refused.body.toString()).toBe(stranger.body.toString());
    // The operator's full-form link still opens it, memoised too.
    expect((await memoised(t, signedImagePath(id, 'w_50,e_negate', SIGNING))).status).toBe(200);
  });

  it('a public-only link made private by another process is refused on the next request', async () => {
    const id = await freshImage(t, 50);
    const path = signedImagePath(id, 'w_51', SIGNING, { reach: 'public' });
    expect((await memoised(t, path)).status).toBe(200);
    otherProcess(t, (db) => db.prepare("UPDATE images SET visibility = 'private' WHERE id = ?").run(id));
    await pastReuse();
    expect((await notMemoised(t, path)).status).toBe(404);
  });

  it('a deleted image answers 404 on the next request', async () => {
    const id = await freshImage(t, 30);
    const path = `/img/t_memo/${id}`;
    expect((await memoised(t, path)).status).toBe(200);
    expect((await t.request(`/images/${id}`, { method: 'DELETE', headers: admin(t) })).status).toBe(204);
    expect((await notMemoised(t, path)).status).toBe(404);
  });

  it('an edited preset renders its new options on the next request', async () => {
    expect((await t.request('/presets', { method: 'POST', headers: admin(t), body: JSON.stringify({ name: 'edited', options: 'w_64' }) })).status).toBeLessThan(
      300,
    );
    const path = `/img/t_edited/${pub}`;
    const before = await memoised(t, path);
    expect((await sharp(before.body).metadata()).width).toBe(64);
    expect((await t.request('/presets', { method: 'POST', headers: admin(t), body: JSON.stringify({ name: 'edited', options: 'w_96' }) })).status).toBeLessThan(
      300,
    );
    const after = await notMemoised(t, path);
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect((await sharp(after.body).metadata()).width).toBe(96);
  });

  it('f_auto: each Accept gets its own answer, each then from the memo', async () => {
    const path = `/img/f_auto/${pub}`;
    const accepts = { 'image/avif,image/webp,*/*': 'image/avif', 'image/webp,*/*': 'image/webp', '*/*': 'image/jpeg' } as const;
    for (let round = 0; round < 2; round++) {
      for (const [accept, type] of Object.entries(accepts)) {
        const res = await memoised(t, path, { Accept: accept });
        expect(res.headers.get('content-type')).toBe(type);
        expect(res.headers.get('vary')).toBe('Accept');
      }
    }
  });

  it('If-None-Match: 304 for the ETag (weak or strong) or *, 200 for another', async () => {
    const path = `/img/t_memo/${pub}`;
    const ok = await memoised(t, path);
    const etag = ok.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    for (const inm of [etag, etag.slice(2), `"nope", ${etag}`, '*']) {
      const res = await memoised(t, path, { 'If-None-Match': inm });
      expect(res.status).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe(ok.headers.get('cache-control'));
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(res.headers.get('content-type')).toBeNull();
    }
    const other = await memoised(t, path, { 'If-None-Match': '"nope"' });
    expect(other.status).toBe(200);
    expect(other.body.equals(ok.body)).toBe(true);
  });

  it('HEAD is answered by the full path, with the headers of a GET', async () => {
    const path = `/img/t_memo/${pub}`;
    const ok = await memoised(t, path);
    const before = answered(t);
    const res = await fetch(`${t.url}${path}`, { method: 'HEAD' });
    expect(answered(t)).toBe(before);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(ok.headers.get('etag'));
  });
});

describe('what the memo answers still counts', () => {
  let t: MemoApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('memo answers are never charged as misses, and misses still are (RATE_LIMIT_MISS_PER_MIN)', async () => {
    t = await memoApp({ RATE_LIMIT_MISS_PER_MIN: '2' });
    const id = await t.seed('dune-2mp.jpg');
    const k = await deliverKey(t);
    const url = (w: number) => `/img/w_${w}/${id}?key=${k.key}`;
    expect((await get(t, url(80))).headers.get('x-cache')).toBe('MISS');
    for (let i = 0; i < 5; i++) expect((await memoised(t, url(80))).status).toBe(200);
    expect((await get(t, url(81))).headers.get('x-cache')).toBe('MISS');
    for (let i = 0; i < 5; i++) expect((await memoised(t, url(81))).status).toBe(200);
    const limited = await get(t, url(82));
    expect(limited.status).toBe(429);
    expect(await errorCode(limited)).toBe('rate_limited');
    // Hits are still answered, from the memo.
    expect((await memoised(t, url(80))).status).toBe(200);
  });

  it("every memo answer counts toward its key's usage: requests and bytes", async () => {
    t = await memoApp();
    const id = await t.seed('dune-2mp.jpg');
    const k = await deliverKey(t);
    const path = `/img/w_90/${id}?key=${k.key}`;
    const first = await get(t, path);
    for (let i = 0; i < 4; i++) await memoised(t, path);
    await memoised(t, path, { 'If-None-Match': first.headers.get('etag')! }); // a 304 is a request, with no bytes
    await flushUsage(t.deps);
    const usage = (await (await t.request(`/keys/${k.id}/usage`, { headers: admin(t) })).json()) as Record<string, number>;
    // Every request counted, and exactly the bytes sent (the memo can take a second 304 to learn that variant).
    expect(usage).toMatchObject({ requests: t.sent, renders: 1, bytesServed: t.received });
    expect(t.received % first.body.length).toBe(0);
  });

  it('memo answers write the access line and the metrics the full path writes', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    t = await memoApp({ METRICS: 'public' }, createLogger({ LOG_LEVEL: 'info' }, stream));
    const id = await t.seed('dune-2mp.jpg');
    const path = `/img/w_91/${id}?key=${t.adminKey}`;
    const memo = await memoised(t, path, { 'X-Request-Id': 'memo-7' });
    const line = lines.filter((l) => l.msg === 'request').at(-1);
    expect(line).toMatchObject({
      reqId: 'memo-7',
      method: 'GET',
      route: '/img/*',
      url: `/img/w_91/${id}?key=[redacted]`,
      status: 200,
      cache: 'memory',
      bytes: memo.body.length,
      level: 30,
    });
    expect(typeof line!.ms).toBe('number');
    const notModified = await memoised(t, path, { 'If-None-Match': memo.headers.get('etag')! });
    expect(notModified.status).toBe(304);
    const last = lines.filter((l) => l.msg === 'request').at(-1)!;
    expect(last).toMatchObject({ status: 304, bytes: 0, route: '/img/*' });
    expect(last).not.toHaveProperty('cache');

    const requests = lines.filter((l) => l.msg === 'request' && l.route === '/img/*');
    const text = await (await t.request('/metrics')).text();
    const sample = (series: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.slice(series.length + 1) ?? 0,
      );
    const ok = requests.filter((l) => l.status === 200);
    expect(sample('imgpath_http_requests_total{method="GET",route="/img/*",status="200"}')).toBe(ok.length);
    expect(sample('imgpath_http_requests_total{method="GET",route="/img/*",status="304"}')).toBe(1);
    expect(sample('imgpath_http_request_duration_seconds_count{method="GET",route="/img/*"}')).toBe(requests.length);
    expect(sample('imgpath_image_responses_total{tier="memory"}')).toBe(ok.filter((l) => l.cache === 'memory').length);
    expect(sample('imgpath_bytes_served_total{tier="memory"}')).toBe(ok.filter((l) => l.cache === 'memory').length * memo.body.length);
    expect(t.deps.cache.stats().hits_memory).toBe(ok.filter((l) => l.cache === 'memory').length);
  });

  it('with the memory tier off, memo answers read the disk tier (X-Cache HIT-DISK)', async () => {
    t = await memoApp({ MEMORY_CACHE_MB: '0' });
    const id = await t.seed('dune-2mp.jpg');
    const path = `/img/w_92/${id}?key=${t.adminKey}`;
    const miss = await get(t, path);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    // Its disk write lands first: a request before it renders again (from the original's reduction, other bytes).
    await t.deps.cache.settle?.();
    const disk = await memoised(t, path);
    expect(disk.headers.get('x-cache')).toBe('HIT-DISK');
    expect(disk.body.equals(miss.body)).toBe(true);
    const again = await memoised(t, path); // the index's facts now come with the memo's entry
    expect(again.headers.get('x-cache')).toBe('HIT-DISK');
    expect(again.body.equals(miss.body)).toBe(true);
    expect(t.deps.cache.stats().hits_disk).toBeGreaterThanOrEqual(2);
    // A file gone behind the index's back is rendered again, not answered from what the memo knew.
    const files = (await fsp.readdir(path_.join(t.dir, 'cache'), { recursive: true })).filter((f) => f.endsWith('.jpg'));
    expect(files).toHaveLength(1);
    await fsp.rm(path_.join(t.dir, 'cache', files[0]));
    const rendered = await get(t, path);
    expect(rendered.status).toBe(200);
    expect(rendered.headers.get('x-cache')).toBe('MISS');
    // The same picture; not always the same bytes: a second render of an original may start from its reduction.
    expect(await sharp(rendered.body).metadata()).toMatchObject({ width: 92, format: 'jpeg' });
  });

  it('a render raced by a purge (answered private, no-store) is never learned', async () => {
    const a = await memoApp();
    t = a;
    expect(
      (await a.request('/presets', { method: 'POST', headers: admin(a), body: JSON.stringify({ name: 'slow', options: 'e_blur:40,g_auto,f_png' }) })).status,
    ).toBe(201);
    const id = await a.seed('sunset-12mp.jpg', { visibility: 'public' });
    const path = `/img/t_slow/${id}`;
    const learned = a.deps.hits.stats().learned;
    const pending = get(a, path);
    await expect.poll(() => a.deps.cache.stats().in_flight, { interval: 2, timeout: 10_000 }).toBe(1);
    const moved = await a.request(`/images/${id}/focal-point`, { method: 'PUT', headers: admin(a), body: JSON.stringify({ x: 0.1, y: 0.1 }) });
    expect(moved.status).toBe(200);
    const raced = await pending;
    expect(raced.status).toBe(200);
    expect(raced.headers.get('cache-control')).toBe('private, no-store');
    expect(a.deps.hits.stats().learned).toBe(learned);
    // The next request renders with the new focal point and is public again.
    const next = await get(a, path);
    expect(next.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  }, 30_000);
});
