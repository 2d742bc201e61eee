import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskTier } from '../../src/cache/disk.js';
import { sqliteRenditionsRepo } from '../../src/repos/sqlite/renditions.js';
import { diskCacheReport, pruneDiskCache } from '../../src/cache/maintenance.js';
import { openDb, type Db } from '../../src/db/client.js';
import { meta, rendition } from './tier-contract.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

describe('cache stats and prune', () => {
  let dir: string;
  let db: Db;
  let tier: DiskTier;
  let cacheDir: string;
  const DAY = 86_400_000;
  const now = Date.now();
  let clock: number;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-prune-'));
    // The same layout the server uses: DATA_DIR/imgpath.db and CACHE_DIR/renditions.
    db = openDb(path.join(dir, 'data', 'imgpath.db'));
    cacheDir = path.join(dir, 'cache', 'renditions');
    clock = now - 10 * DAY;
    tier = await DiskTier.open(sqliteRenditionsRepo(db), cacheDir, 1 << 20, { now: () => clock });
    await tier.put('old-a', meta('imgA'), rendition(1000));
    clock = now;
    await tier.put('new-a', meta('imgA', 'card'), { ...rendition(2000), format: 'avif' });
    await tier.put('new-b', meta('imgB'), rendition(3000));
  });
  afterEach(async () => {
    await tier.close();
    db.$client.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports entries, bytes and formats from the index', async () => {
    const r = await diskCacheReport(sqliteRenditionsRepo(db), cacheDir, 1 << 20);
    expect(r).toMatchObject({ entries: 3, bytes: 6000, images: 2, byFormat: { webp: { entries: 2, bytes: 4000 }, avif: { entries: 1, bytes: 2000 } } });
    expect(r.oldestAccess! < r.newestAccess!).toBe(true);
  });

  it('drops idle renditions, broken rows and orphan files, and keeps the rest', async () => {
    await fs.writeFile(path.join(cacheDir, 'ne', 'stray.webp'), 'not indexed');
    await fs.truncate(tier.file('new-b', 'webp'), 10);
    const result = await pruneDiskCache(sqliteRenditionsRepo(db), tier, { idleMs: 5 * DAY, now });
    expect(result).toMatchObject({ idle: 1, broken: 1, orphans: 1, purged: 0, evicted: 0 });
    expect(await diskCacheReport(sqliteRenditionsRepo(db), cacheDir, 1 << 20)).toMatchObject({ entries: 1, bytes: 2000 });
    expect(await fs.readdir(path.join(cacheDir, 'ne'))).toEqual(['new-a.avif']);
  });

  it('purges by image and preset, and enforces a smaller budget', async () => {
    expect((await pruneDiskCache(sqliteRenditionsRepo(db), tier, { preset: 'card' })).purged).toBe(1);
    expect((await pruneDiskCache(sqliteRenditionsRepo(db), tier, { imageId: 'imgA' })).purged).toBe(1);
    await tier.put('c-1', meta('imgC'), rendition(3000));
    await tier.close();
    // DISK_CACHE_MB lowered since the last run: prune brings the cache under the new budget.
    tier = await DiskTier.open(sqliteRenditionsRepo(db), cacheDir, 4000, { now: () => ++clock });
    expect((await pruneDiskCache(sqliteRenditionsRepo(db), tier)).evicted).toBe(1);
    expect(tier.stats().bytes).toBeLessThanOrEqual(4000);
  });

  it('runs as `imgpath cache stats --json` and `imgpath cache prune --all --json`', async () => {
    await tier.close();
    const env = { ...process.env, DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'silent' };
    const cli = (...args: string[]) => run(process.execPath, [path.join(ROOT, 'bin/imgpath.js'), ...args], { env, cwd: dir });
    const stats = JSON.parse((await cli('cache', 'stats', '--json')).stdout);
    expect(stats).toMatchObject({ entries: 3, bytes: 6000 });
    const pruned = JSON.parse((await cli('cache', 'prune', '--all', '--json')).stdout);
    expect(pruned).toMatchObject({ purged: 3, entries: 0, bytes: 0 });
    expect((await cli('cache', 'stats')).stdout).toMatch(/renditions\s+0 of 0 image/);
  });
});
