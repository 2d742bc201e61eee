import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskTier } from '../../src/cache/disk.js';
import { sqliteRenditionsRepo } from '../../src/repos/sqlite/renditions.js';
import { openDb, type Db } from '../../src/db/client.js';
import { renditions } from '../../src/db/schema.js';
import { meta, rendition } from './tier-contract.js';

/** What only the disk tier promises: it survives a restart and never serves a torn file. */
describe('disk tier', () => {
  let dir: string;
  let db: Db;
  let t: number;
  const tiers: DiskTier[] = [];
  const open = async (maxBytes = 1 << 20) => {
    const tier = await DiskTier.open(sqliteRenditionsRepo(db), path.join(dir, 'renditions'), maxBytes, { now: () => ++t, flushMs: 3_600_000 });
    tiers.push(tier);
    return tier;
  };
  const fileOf = async (key: string) => {
    const sub = path.join(dir, 'renditions', key.slice(0, 2));
    const name = (await fs.readdir(sub)).find((f) => f.startsWith(`${key}.`));
    return path.join(sub, name!);
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-disk-'));
    db = openDb(path.join(dir, 'index.db'));
    t = 1_000;
  });
  afterEach(async () => {
    for (const tier of tiers.splice(0)) await tier.close();
    db.$client.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes one file per rendition, named by key and format, and indexes it', async () => {
    const tier = await open();
    await tier.put('abcdef', meta('img1', 'card'), rendition(1234));
    const file = await fileOf('abcdef');
    expect(path.basename(file)).toBe('abcdef.webp');
    expect((await fs.stat(file)).size).toBe(1234);
    const row = db.select().from(renditions).get();
    expect(row).toMatchObject({ key: 'abcdef', imageId: 'img1', preset: 'card', options: 'w_30', format: 'webp', width: 30, height: 20, bytes: 1234 });
  });

  it('serves renditions written before a restart, with the same budget accounting', async () => {
    const first = await open();
    await first.put('kept-1', meta('img1'), rendition(500));
    await first.put('kept-2', meta('img2'), rendition(700));
    await first.close();
    const second = await open();
    expect(second.stats()).toMatchObject({ entries: 2, bytes: 1200 });
    expect((await second.get('kept-1'))?.data.length).toBe(500);
  });

  it('keeps the LRU order across a restart: reads are recorded in batches, then flushed on close', async () => {
    const first = await open(100_000);
    await first.put('k-1', meta('img'), rendition(30_000));
    await first.put('k-2', meta('img'), rendition(30_000));
    await first.put('k-3', meta('img'), rendition(30_000));
    const before = db
      .select()
      .from(renditions)
      .all()
      .find((r) => r.key === 'k-1')!.lastAccess;
    await first.get('k-1');
    // A hit does not write to SQLite by itself...
    expect(
      db
        .select()
        .from(renditions)
        .all()
        .find((r) => r.key === 'k-1')!.lastAccess,
    ).toBe(before);
    await first.close();
    // ...but the batch reaches it on close, so the next process evicts k-2, not k-1.
    expect(
      db
        .select()
        .from(renditions)
        .all()
        .find((r) => r.key === 'k-1')!.lastAccess,
    ).toBeGreaterThan(before);
    const second = await open(100_000);
    await second.put('k-4', meta('img'), rendition(30_000));
    expect(await second.get('k-2')).toBeUndefined();
    expect(await second.get('k-1')).toBeDefined();
  });

  it.each([
    ['truncated', (f: string) => fs.truncate(f, 100)],
    ['zero-byte', (f: string) => fs.writeFile(f, '')],
    ['longer than recorded', (f: string) => fs.appendFile(f, 'junk')],
    ['missing', (f: string) => fs.rm(f)],
  ])('drops a %s file instead of serving it', async (_label, damage) => {
    const tier = await open();
    await tier.put('torn-key', meta('img1'), rendition(1000));
    await damage(await fileOf('torn-key'));
    expect(await tier.get('torn-key')).toBeUndefined();
    expect(tier.stats()).toMatchObject({ entries: 0, bytes: 0, torn: 1 });
    expect(db.select().from(renditions).all()).toHaveLength(0);
    // A new write of the same key is served again.
    await tier.put('torn-key', meta('img1'), rendition(1000));
    expect((await tier.get('torn-key'))?.data.length).toBe(1000);
  });

  it('removes the files of purged renditions from disk', async () => {
    const tier = await open();
    await tier.put('purge-me', meta('imgA'), rendition(100));
    const file = await fileOf('purge-me');
    await tier.purge({ imageId: 'imgA' });
    await expect(fs.stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('evicts down to a low-water mark so eviction runs in batches, not on every write', async () => {
    const tier = await open(100_000);
    for (let i = 0; i < 10; i++) await tier.put(`batch-${i}`, meta('img'), rendition(10_000));
    await tier.put('batch-10', meta('img'), rendition(10_000));
    expect(tier.stats().bytes).toBeLessThanOrEqual(90_000);
    const files = (await fs.readdir(path.join(dir, 'renditions', 'ba'))).filter((f) => f.endsWith('.webp'));
    expect(files).toHaveLength(tier.stats().entries);
  });

  it('rejects keys that could escape the cache directory', async () => {
    const tier = await open();
    await expect(tier.put('../../etc', meta('img'), rendition(10))).rejects.toThrow(/invalid cache key/);
  });
});
