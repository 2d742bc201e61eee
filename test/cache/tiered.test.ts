import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiskTier } from '../../src/cache/disk.js';
import { sqliteRenditionsRepo } from '../../src/repos/sqlite/renditions.js';
import { RenderLimiter } from '../../src/cache/limiter.js';
import { MemoryTier } from '../../src/cache/memory.js';
import { TieredCache } from '../../src/cache/tiered.js';
import type { Rendition } from '../../src/cache/types.js';
import { openDb, type Db } from '../../src/db/client.js';
import { renditions } from '../../src/db/schema.js';
import { OverloadedError } from '../../src/errors.js';
import { meta, rendition } from './tier-contract.js';

/** A render the test finishes by hand, so ordering is decided by the test, never by timing. */
function gate(r: Rendition = rendition(100)) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let calls = 0;
  return {
    render: async () => {
      calls++;
      await opened;
      return r;
    },
    open,
    get calls() {
      return calls;
    },
  };
}

describe('tiered cache', () => {
  let dir: string;
  let db: Db;
  const caches: TieredCache[] = [];
  const make = async (limits: Partial<ConstructorParameters<typeof RenderLimiter>[0]> = {}, tiers: { memory?: boolean; disk?: boolean } = {}) => {
    const cache = new TieredCache({
      memory: tiers.memory === false ? null : new MemoryTier(1 << 20),
      disk: tiers.disk === false ? null : await DiskTier.open(sqliteRenditionsRepo(db), path.join(dir, 'renditions'), 1 << 20),
      limiter: new RenderLimiter({ concurrency: 2, maxQueue: 4, timeoutMs: 60_000, ...limits }),
    });
    caches.push(cache);
    return cache;
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-tiered-'));
    db = openDb(path.join(dir, 'index.db'));
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) await c.close();
    db.$client.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers a miss by rendering, then from memory, then (memory gone) from disk', async () => {
    const cache = await make();
    const g = gate();
    g.open();
    expect((await cache.fetch('key-1', meta('img'), g.render)).tier).toBe('miss');
    expect((await cache.fetch('key-1', meta('img'), g.render)).tier).toBe('memory');
    await cache.settle();
    const restarted = await make();
    const fromDisk = await restarted.fetch('key-1', meta('img'), g.render);
    expect(fromDisk).toMatchObject({ tier: 'disk', format: 'webp', width: 30, height: 20, renderMs: 0 });
    expect((await restarted.fetch('key-1', meta('img'), g.render)).tier).toBe('memory');
    expect(g.calls).toBe(1);
    expect(restarted.stats()).toMatchObject({ hits_disk: 1, hits_memory: 1, misses: 0 });
  });

  it('shares one render among 100 concurrent requests for the same key', async () => {
    const cache = await make();
    const g = gate();
    const all = Promise.all(Array.from({ length: 100 }, () => cache.fetch('same', meta('img'), g.render)));
    g.open();
    const results = await all;
    expect(g.calls).toBe(1);
    expect(new Set(results.map((r) => r.data)).size).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, coalesced: 99, renders: 1 });
  });

  it('refuses a render beyond concurrency + queue with 503 and Retry-After, and still serves hits', async () => {
    const cache = await make({ concurrency: 1, maxQueue: 1 });
    const ready = gate();
    ready.open();
    await cache.fetch('hot', meta('img'), ready.render);
    const g = gate();
    const running = cache.fetch('r-1', meta('img'), g.render);
    const waiting = cache.fetch('r-2', meta('img'), g.render);
    const refused = await cache.fetch('r-3', meta('img'), g.render).catch((e) => e);
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(cache.stats()).toMatchObject({ in_flight: 1, queue_depth: 1, rejected: 1 });
    // Hits never wait behind renders.
    expect((await cache.fetch('hot', meta('img'), g.render)).tier).toBe('memory');
    g.open();
    await Promise.all([running, waiting]);
    expect(cache.stats()).toMatchObject({ in_flight: 0, queue_depth: 0, renders: 3 });
  });

  it('abandons a render past the deadline with 504, keeps the slot until the work ends, then recovers', async () => {
    const cache = await make({ concurrency: 1, maxQueue: 0, timeoutMs: 100 });
    const slow = gate();
    const err = await cache.fetch('slow', meta('img'), slow.render).catch((e) => e);
    expect(err).toBeInstanceOf(OverloadedError);
    expect(err.status).toBe(504);
    expect(err.code).toBe('render_timeout');
    expect(cache.stats()).toMatchObject({ render_timeouts: 1, in_flight: 1 });
    // The CPU is still busy with the abandoned render: a new miss is refused rather than piled on.
    expect((await cache.fetch('other', meta('img'), slow.render).catch((e) => e)).status).toBe(503);
    slow.open();
    await new Promise((r) => setTimeout(r, 10));
    expect(cache.stats().in_flight).toBe(0);
    const fine = gate();
    fine.open();
    expect((await cache.fetch('other', meta('img'), fine.render)).tier).toBe('miss');
  });

  it('stores a render that finished after its 504, so the retry is a hit', async () => {
    const cache = await make({ concurrency: 1, maxQueue: 0, timeoutMs: 50 });
    const slow = gate();
    expect((await cache.fetch('late', meta('img'), slow.render).catch((e) => e)).status).toBe(504);
    slow.open();
    await vi.waitFor(() => expect(cache.stats().in_flight).toBe(0));
    expect((await cache.fetch('late', meta('img'), slow.render)).tier).toBe('memory');
    await cache.settle();
    expect(
      db
        .select()
        .from(renditions)
        .all()
        .map((r) => r.key),
    ).toEqual(['late']);
    expect(slow.calls).toBe(1);
  });

  it('does not store a late render whose image was purged while it ran', async () => {
    const cache = await make({ concurrency: 1, maxQueue: 0, timeoutMs: 50 });
    const slow = gate();
    expect((await cache.fetch('late', meta('img'), slow.render).catch((e) => e)).status).toBe(504);
    await cache.purgeImage('img');
    slow.open();
    await vi.waitFor(() => expect(cache.stats().in_flight).toBe(0));
    await cache.settle();
    expect(db.select().from(renditions).all()).toEqual([]);
    const again = gate();
    again.open();
    expect((await cache.fetch('late', meta('img'), again.render)).tier).toBe('miss');
  });

  it('passes a render error to every waiter and caches nothing', async () => {
    const cache = await make();
    let calls = 0;
    const failing = async (): Promise<Rendition> => {
      calls++;
      throw new Error('corrupt');
    };
    const results = await Promise.allSettled([1, 2, 3].map(() => cache.fetch('bad', meta('img'), failing)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toBe(1);
    const ok = gate();
    ok.open();
    expect((await cache.fetch('bad', meta('img'), ok.render)).tier).toBe('miss');
  });

  it('purges by image and by preset from both tiers, and does not store a render that raced the purge', async () => {
    const cache = await make();
    const ready = gate();
    ready.open();
    await cache.fetch('a-plain', meta('imgA'), ready.render);
    await cache.fetch('a-card', meta('imgA', 'card'), ready.render);
    await cache.fetch('b-card', meta('imgB', 'card'), ready.render);
    await cache.fetch('b-plain', meta('imgB'), ready.render);
    await cache.settle();
    const racing = gate();
    const inflight = cache.fetch('a-late', meta('imgA'), racing.render);

    expect(await cache.purgeImage('imgA')).toBe(2);
    racing.open();
    expect((await inflight).tier).toBe('miss');
    await cache.settle();
    expect(await cache.purgePreset('card')).toBe(1);
    expect(
      db
        .select()
        .from(renditions)
        .all()
        .map((r) => r.key),
    ).toEqual(['b-plain']);

    const again = gate();
    again.open();
    const tier = async (key: string) => (await cache.fetch(key, meta('x'), again.render)).tier;
    expect(await tier('b-plain')).toBe('memory');
    expect(await tier('a-late')).toBe('miss');
    expect(await tier('a-plain')).toBe('miss');
    expect(await tier('b-card')).toBe('miss');
  });

  it('works with either tier switched off', async () => {
    const g = gate();
    g.open();
    const memoryOnly = await make({}, { disk: false });
    await memoryOnly.fetch('k', meta('img'), g.render);
    expect((await memoryOnly.fetch('k', meta('img'), g.render)).tier).toBe('memory');
    const diskOnly = await make({}, { memory: false });
    await diskOnly.fetch('k2', meta('img'), g.render);
    await diskOnly.settle();
    expect((await diskOnly.fetch('k2', meta('img'), g.render)).tier).toBe('disk');
  });
});
