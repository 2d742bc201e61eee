import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIR } from '../../src/bootstrap.js';
import { originalKey } from '../../src/storage/store.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startSwift, type SwiftServer } from '../storage/swift/server.js';
import { startNode, type Node } from './nodes.js';

/**
 * Issue 13 item 6, for real: one PostgreSQL, one S3 (Swift's s3api), two imgpath processes on two
 * ports sharing them, each with its own DATA_DIR, CACHE_DIR and NODE_NAME. The tests run in order:
 * the last one kills node A.
 */
let pgServer: PostgresServer;
let swift: SwiftServer;
let db: pg.Pool;
let s3: S3Client;
let dir: string;
let a: Node;
let b: Node;
let adminKey: string;
const BUCKET = 'cluster';

beforeAll(async () => {
  [pgServer, swift] = await Promise.all([startPostgres(), startSwift()]);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-cluster-'));
  const url = await pgServer.createDatabase('cluster');
  db = new pg.Pool({ connectionString: url, max: 2 });
  db.on('error', () => {}); // a connection still closing when the server stops
  s3 = new S3Client({
    endpoint: swift.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const shared = {
    DATABASE_URL: url,
    STORAGE: 's3',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: swift.endpoint,
    S3_ACCESS_KEY_ID: swift.accessKeyId,
    S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
    RENDITIONS_STORE: 's3',
    IMPORT_SAMPLES: 'true',
    INBOX_DIR: 'off',
    // A dead node's task is taken over in seconds, not half a minute.
    LEASE_SECONDS: '3',
    RENDER_CONCURRENCY: '2',
    LOG_LEVEL: 'info',
  };
  const own = (name: string) => ({ ...shared, DATA_DIR: path.join(dir, name, 'data'), CACHE_DIR: path.join(dir, name, 'cache') });
  // Started together: the first start must still run once.
  [a, b] = await Promise.all([startNode('node-a', own('a'), dir), startNode('node-b', own('b'), dir)]);
  const banner = [a, b].map((n) => /Admin API key \(shown once, store it now\):\s+(\S+)/.exec(n.text())?.[1]);
  adminKey = banner.find(Boolean)!;
  // Checked here so every later test can use the key; asserted below.
  expect(banner.filter(Boolean)).toHaveLength(1);
}, 240_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.end();
  s3?.destroy();
  await Promise.all([pgServer?.stop(), swift?.stop()]);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const auth = () => ({ 'X-API-Key': adminKey });
const get = (n: Node, p: string, headers: Record<string, string> = {}) => fetch(`${n.url}${p}`, { headers });
const send = (n: Node, method: string, p: string, body?: unknown) =>
  fetch(`${n.url}${p}`, { method, headers: { ...auth(), 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
const rows = async <T extends pg.QueryResultRow>(sql: string, args: unknown[] = []) => (await db.query<T>(sql, args)).rows;

let made = 0;
/** Bytes no other upload has (an upload of the same bytes by the same owner answers the existing image). */
async function fresh(): Promise<Buffer> {
  const n = ++made;
  return sharp({ create: { width: 640, height: 480, channels: 3, background: { r: (n * 37) % 256, g: (n * 91) % 256, b: 200 } } })
    .jpeg()
    .toBuffer();
}

async function upload(n: Node, bytes: Buffer, extra: Record<string, string> = {}): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), 'upload.jpg');
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  const res = await fetch(`${n.url}/images`, { method: 'POST', headers: auth(), body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Polls until `check` holds, for at most `ms`; answers how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

const width = async (res: Response) => (await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width;

describe('two imgpath nodes on one PostgreSQL and one S3 bucket', () => {
  it('started together, they import the samples once and print one admin key', async () => {
    const samples = (await fs.readdir(SAMPLES_DIR)).filter((f) => /\.(jpe?g|png|webp|gif|avif)$/i.test(f));
    expect(await rows('SELECT id FROM images')).toHaveLength(samples.length);
    expect(await rows('SELECT id FROM api_keys')).toHaveLength(1);
    const imports = [a, b].flatMap((n) => n.lines.filter((l) => /^imported \d+ sample images$/.test(String(l.msg))));
    expect(imports).toHaveLength(1);
    expect((await get(b, '/images?limit=1', auth())).status).toBe(200);
  });

  it('share their signing keys: a URL signed by A verifies on B', async () => {
    const [{ id }] = await rows<{ id: string }>("SELECT id FROM images WHERE filename = 'dune-2mp.jpg'");
    const signed = (await (await send(a, 'POST', '/sign', { id, options: 'w_123,f_png' })).json()) as { path: string };
    expect((await get(b, signed.path)).status).toBe(200);
    expect(await width(await get(b, signed.path))).toBe(123);
    // Unsigned, the same options are refused to anonymous callers: the signature is what B checked.
    expect((await get(b, `/img/w_123,f_png/${id}`)).status).toBe(401);
  });

  it('an upload on A is served by B, and a render made on A is served by B from the shared tier', async () => {
    const bytes = await fresh();
    const id = await upload(a, bytes);
    const original = await get(b, `/img/${id}`, auth());
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(bytes)).toBe(true);

    const made = await get(a, `/img/w_210,f_webp/${id}`, auth());
    expect(made.headers.get('x-cache')).toBe('MISS');
    const { cache } = (await (await get(a, `/img/w_210,f_webp/${id}.json`, auth())).json()) as { cache: { key: string } };
    await within(10_000, async () => (await rows('SELECT key FROM renditions WHERE key = $1', [cache.key])).length === 1);
    const there = await get(b, `/img/w_210,f_webp/${id}`, auth());
    expect(there.status).toBe(200);
    expect(there.headers.get('x-cache')).toBe('HIT-SHARED');
    expect(await width(there)).toBe(210);
  });

  it('a delete on B: A answers 404 and its cached rendition is gone within a second, the shared one and the original too', async () => {
    const id = await upload(a, await fresh());
    const p = `/img/w_160,f_png/${id}`;
    expect((await get(a, p, auth())).headers.get('x-cache')).toBe('MISS');
    const { cache } = (await (await get(a, `${p}.json`, auth())).json()) as { cache: { key: string } };
    // A's own copy on disk (written in the background), and the shared one.
    const aFile = path.join(a.env.CACHE_DIR!, 'renditions', cache.key.slice(0, 2), `${cache.key}.png`);
    await within(10_000, async () =>
      fs.access(aFile).then(
        () => true,
        () => false,
      ),
    );
    await within(10_000, async () => (await rows('SELECT key FROM renditions WHERE key = $1', [cache.key])).length === 1);
    expect((await get(a, p, auth())).headers.get('x-cache')).toBe('HIT-MEMORY');
    const [{ hash }] = await rows<{ hash: string }>('SELECT hash FROM images WHERE id = $1', [id]);

    expect((await send(b, 'DELETE', `/images/${id}`)).status).toBe(204);
    const took = await within(1000, async () => (await get(a, p, auth())).status === 404);
    await within(1000 - took, async () =>
      fs.access(aFile).then(
        () => false,
        () => true,
      ),
    );
    expect(await rows('SELECT key FROM renditions WHERE key = $1', [cache.key])).toEqual([]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (left.Contents ?? []).map((o) => o.Key);
    expect(keys).not.toContain(originalKey(hash));
    expect(keys.filter((k) => k!.includes(cache.key))).toEqual([]);
  });

  it('a key revoked on A is refused on B within a second', async () => {
    const id = await upload(a, await fresh(), { visibility: 'private' });
    const made = (await (await send(a, 'POST', '/keys', { name: 'client', scopes: ['deliver'] })).json()) as { id: string; key: string };
    const use = () => get(b, `/img/w_50,f_png/${id}`, { 'X-API-Key': made.key });
    expect((await use()).status).toBe(200);
    expect((await use()).status).toBe(200);
    expect((await send(a, 'DELETE', `/keys/${made.id}`)).status).toBe(204);
    await within(1000, async () => (await use()).status === 401);
  });

  it('a preset edited on A is rendered by B with its new options', async () => {
    const [{ id }] = await rows<{ id: string }>("SELECT id FROM images WHERE filename = 'dune-2mp.jpg' AND visibility = 'public' LIMIT 1");
    expect((await send(a, 'POST', '/presets', { name: 'card', options: 'w_60,f_png' })).status).toBe(201);
    expect(await width(await get(b, `/img/t_card/${id}`))).toBe(60);
    expect((await send(a, 'POST', '/presets', { name: 'card', options: 'w_90,f_png' })).status).toBe(200);
    await within(1000, async () => (await width(await get(b, `/img/t_card/${id}`))) === 90);
  });

  it('an image made private on A stops being served to anonymous callers on B within a second', async () => {
    const id = await upload(a, await fresh(), { visibility: 'public' });
    expect((await get(b, `/img/${id}`)).status).toBe(200);
    expect((await send(a, 'PATCH', `/images/${id}`, { visibility: 'private' })).status).toBe(200);
    await within(1000, async () => (await get(b, `/img/${id}`)).status === 404);
  });

  it('a task accepted by A is finished by B after A is killed mid-task; no row lacks its original, no original its row', async () => {
    const [{ id }] = await rows<{ id: string }>("SELECT id FROM images WHERE filename = 'sunset-12mp.jpg'");
    // B frozen, so A is the one that claims the task; A is then killed while it renders.
    b.child.kill('SIGSTOP');
    let taskId: string;
    try {
      const res = await send(a, 'POST', `/images/${id}/transform?async=1`, { resize: { width: 3000 }, format: 'webp' });
      expect(res.status).toBe(202);
      taskId = ((await res.json()) as { id: string }).id;
      await within(10_000, async () => {
        const [row] = await rows<{ state: string; claimed_by: string }>('SELECT state, claimed_by FROM tasks WHERE id = $1', [taskId]);
        return row?.state === 'running' && row.claimed_by === 'node-a';
      });
      a.child.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');
    } finally {
      b.child.kill('SIGCONT');
    }
    const [left] = await rows<{ state: string; claimed_by: string }>('SELECT state, claimed_by FROM tasks WHERE id = $1', [taskId]);
    expect(left).toEqual({ state: 'running', claimed_by: 'node-a' });

    // B takes it over once A's lease (3 s) has run out, at its next sweep.
    await within(60_000, async () => ((await (await get(b, `/tasks/${taskId}`, auth())).json()) as { state: string }).state === 'done');
    const task = (await (await get(b, `/tasks/${taskId}`, auth())).json()) as { result: { width: number; url: string } };
    expect(task.result.width).toBe(3000);
    expect((await rows('SELECT claimed_by FROM tasks WHERE id = $1', [taskId]))[0]).toEqual({ claimed_by: 'node-b' });

    // The bucket and the table agree: every image row has its original, every original a row.
    const hashes = new Set((await rows<{ hash: string }>('SELECT hash FROM images')).map((r) => originalKey(r.hash)));
    const originals = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'originals/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) originals.add(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    expect([...originals].sort()).toEqual([...hashes].sort());
  });
});
