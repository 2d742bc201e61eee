import fs from 'node:fs/promises';
import path from 'node:path';
import type { RenditionsRepo } from '../repos/renditions.js';
import type { DiskTier } from './disk.js';

/** What `imgpath cache stats` prints: the disk tier as its index sees it. */
export interface DiskCacheReport {
  dir: string;
  entries: number;
  bytes: number;
  budgetBytes: number;
  byFormat: Record<string, { entries: number; bytes: number }>;
  images: number;
  /** ISO times of the least and most recently read renditions. */
  oldestAccess: string | null;
  newestAccess: string | null;
}

export async function diskCacheReport(index: RenditionsRepo, dir: string, budgetBytes: number): Promise<DiskCacheReport> {
  const { byFormat: formats, ...span } = await index.report();
  const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);
  return {
    dir,
    entries: formats.reduce((n, f) => n + f.entries, 0),
    bytes: formats.reduce((n, f) => n + f.bytes, 0),
    budgetBytes,
    byFormat: Object.fromEntries(formats.map((f) => [f.format, { entries: f.entries, bytes: f.bytes }])),
    images: span.images,
    oldestAccess: iso(span.oldestAccess),
    newestAccess: iso(span.newestAccess),
  };
}

export interface PruneOptions {
  imageId?: string;
  preset?: string;
  /** Drop renditions not read for this many milliseconds. */
  idleMs?: number;
  all?: boolean;
  now?: number;
}

export interface PruneResult {
  purged: number;
  idle: number;
  evicted: number;
  /** Index rows whose file was missing or of the wrong size. */
  broken: number;
  /** Files in the cache directory that no index row points to (crash leftovers, foreign files). */
  orphans: number;
}

/**
 * `imgpath cache prune`: the requested purges, then the tier's budget enforced, then the index and the
 * directory reconciled (rows without their bytes dropped, files without a row deleted).
 */
export async function pruneDiskCache(index: RenditionsRepo, tier: DiskTier, opts: PruneOptions = {}): Promise<PruneResult> {
  const dir = tier.dir;
  const result: PruneResult = { purged: 0, idle: 0, evicted: 0, broken: 0, orphans: 0 };
  // One pass: a purge per image would also scan every row for its watermark uses.
  if (opts.all) result.purged += await tier.clear();
  if (opts.imageId) result.purged += await tier.purge({ imageId: opts.imageId });
  if (opts.preset) result.purged += await tier.purge({ preset: opts.preset });
  if (opts.idleMs !== undefined) result.idle = await tier.dropIdle((opts.now ?? Date.now()) - opts.idleMs);
  const before = tier.stats().evictions;
  if (tier.stats().bytes > tier.maxBytes) await tier.evict();
  result.evicted = tier.stats().evictions - before;

  const known = new Set<string>();
  for (const row of await index.all()) {
    const file = tier.file(row.key, row.format);
    const size = await fs.stat(file).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== row.bytes) {
      await tier.delete(row.key);
      result.broken++;
    } else known.add(file);
  }
  for (const sub of await fs.readdir(dir).catch(() => [] as string[])) {
    const subdir = path.join(dir, sub);
    const names = await fs.readdir(subdir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(subdir, name);
      // Temp files are left to sweepLeftovers (ops/leftovers.ts), which spares the fresh ones: they
      // belong to a write in progress (a server sharing this directory).
      if (name.endsWith('.tmp') || known.has(file)) continue;
      await fs.rm(file, { force: true });
      result.orphans++;
    }
  }
  return result;
}
