import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskTier } from '../../src/cache/disk.js';
import { MemoryTier } from '../../src/cache/memory.js';
import { RenderLimiter } from '../../src/cache/limiter.js';
import { TieredCache } from '../../src/cache/tiered.js';
import { openDb } from '../../src/db/client.js';
import { openPg, type PgDb } from '../../src/db/pg/client.js';
import { pgRenditionsRepo } from '../../src/repos/pg/renditions.js';
import { sqliteRenditionsRepo } from '../../src/repos/sqlite/renditions.js';
import { S3Store } from '../../src/storage/s3.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startSwift, type SwiftServer } from '../storage/swift/server.js';
import { meta, rendition, tierContract } from './tier-contract.js';

// The shared tier (RENDITIONS_STORE=s3) for real: objects in Swift's s3api, the index in PostgreSQL.
let swift: SwiftServer;
let pgServer: PostgresServer;
const cleanups: Array<() => Promise<unknown>> = [];
let bucketN = 0;

beforeAll(async () => {
  [swift, pgServer] = await Promise.all([startSwift(), startPostgres()]);
}, 180_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await Promise.all([swift?.stop(), pgServer?.stop()]);
});

/** A fresh bucket and database: what one cluster shares. */
async function cluster() {
  const bucket = `shared-${++bucketN}`;
  const store = new S3Store({
    bucket,
    endpoint: swift.endpoint,
    region: 'us-east-1',
    accessKeyId: swift.accessKeyId,
    secretAccessKey: swift.secretAccessKey,
    forcePathStyle: true,
  });
  await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
  cleanups.push(async () => store.destroy());
  const db = await openPg(await pgServer.createDatabase(), { node: `c${bucketN}` });
  cleanups.push(() => db.$client.end());
  return { store, db };
}

tierContract('shared (S3 + PostgreSQL)', async (maxBytes) => {
  const { store, db } = await cluster();
  let t = Date.now();
  const tier = await DiskTier.shared(pgRenditionsRepo(db), store, maxBytes, { now: () => ++t });
  return { tier, cleanup: () => tier.close() };
});

/** One imgpath node's cache: its own memory and disk, the cluster's shared tier. */
async function node(shared: { store: S3Store; db: PgDb }, name: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `imgpath-node-${name}-`));
  const local = openDb(path.join(dir, 'index.db'));
  const cache = new TieredCache({
    memory: new MemoryTier(1 << 20),
    disk: await DiskTier.open(sqliteRenditionsRepo(local), path.join(dir, 'renditions'), 1 << 20),
    shared: await DiskTier.shared(pgRenditionsRepo(shared.db), shared.store, 1 << 22),
    limiter: new RenderLimiter({ concurrency: 1, maxQueue: 10, timeoutMs: 10_000 }),
  });
  cleanups.push(async () => {
    await cache.close();
    local.$client.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return cache;
}

describe('the shared rendition tier across nodes (issue 13 item 3)', () => {
  it('a render made on one node is served by another without rendering, then from its own tiers', async () => {
    const c = await cluster();
    const [a, b] = await Promise.all([node(c, 'a'), node(c, 'b')]);
    let renders = 0;
    const render = async () => {
      renders++;
      return rendition(3000, 7);
    };
    expect((await a.fetch('k1', meta('img1'), render)).tier).toBe('miss');
    await a.settle();
    expect(await b.tierOf('k1')).toBe('shared');
    const got = await b.fetch('k1', meta('img1'), render);
    expect(got.tier).toBe('shared');
    expect(got.data.equals(rendition(3000, 7).data)).toBe(true);
    expect(renders).toBe(1);
    expect((await b.fetch('k1', meta('img1'), render)).tier).toBe('memory');
    await b.settle();
    expect(await b.tierOf('k1')).toBe('memory');
    expect(b.stats()).toMatchObject({ hits_shared: 1, misses: 0 });
  });

  it('a purge on one node removes the rendition from the shared tier for every node', async () => {
    const c = await cluster();
    const [a, b] = await Promise.all([node(c, 'a'), node(c, 'b')]);
    await a.fetch('k2', meta('img2'), async () => rendition(2000, 3));
    await a.fetch('k3', meta('img3', 'thumb'), async () => rendition(2000, 4));
    await a.settle();
    expect(await b.purgeImage('img2')).toBe(1);
    expect(await a.tierOf('k2')).toBe('memory'); // a's own copy goes when a hears of the delete (the cluster bus)
    expect(await a.purgeImage('img2')).toBe(1);
    expect(await a.tierOf('k2')).toBe('miss');
    expect(await b.purgePreset('thumb')).toBe(1);
    let rendered = false;
    await b.fetch('k3', meta('img3', 'thumb'), async () => {
      rendered = true;
      return rendition(2000, 4);
    });
    expect(rendered).toBe(true);
  });

  it("forgetting (another node's change) drops this node's copies only: the shared one is the changer's to purge", async () => {
    const c = await cluster();
    const [a, b] = await Promise.all([node(c, 'a'), node(c, 'b')]);
    await a.fetch('k5', meta('img5'), async () => rendition(1200, 5));
    await a.fetch('k6', meta('img6', 'card'), async () => rendition(1200, 6));
    await a.settle();
    expect(await a.forgetImage('img5')).toBe(1);
    expect(await a.forgetPreset('card')).toBe(1);
    expect(await a.tierOf('k5')).toBe('shared');
    expect(await b.tierOf('k6')).toBe('shared');
  });

  it('an object whose size differs from the index is never served (torn, or replaced behind our back)', async () => {
    const c = await cluster();
    const a = await node(c, 'a');
    await a.fetch('k4', meta('img4'), async () => rendition(1500, 1));
    await a.settle();
    await c.store.put('renditions/k4/k4.webp', Buffer.alloc(10));
    const b = await node(c, 'b');
    let rendered = false;
    const got = await b.fetch('k4', meta('img4'), async () => {
      rendered = true;
      return rendition(1500, 2);
    });
    expect(rendered).toBe(true);
    expect(got.tier).toBe('miss');
    expect(b.stats()).toMatchObject({ shared_torn: 1 });
  });
});
