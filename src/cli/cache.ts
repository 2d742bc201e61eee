import type { Command } from 'commander';
import { renditionsDir } from '../cache/index.js';
import { DiskTier } from '../cache/disk.js';
import { diskCacheReport, pruneDiskCache } from '../cache/maintenance.js';
import type { ImagesRepo } from '../repos/images.js';
import { openData } from '../repos/open.js';
import { sweepLeftovers } from '../ops/leftovers.js';
import { configFromProcess } from './env.js';

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/**
 * `imgpath cache stats|prune`: the disk tier of the rendition cache, through its index. Safe
 * while a server runs on the same directories (both go through SQLite and atomic renames); the
 * server notices the new totals at its next eviction pass.
 */
export function registerCacheCommands(program: Command) {
  const cache = program.command('cache').description('inspect and prune the rendition cache on disk');

  cache
    .command('stats')
    .description('entries, bytes and formats in the disk cache')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const config = configFromProcess();
      const { repos } = await openData(config, { listen: false });
      const r = await diskCacheReport(repos.renditions, renditionsDir(config), config.DISK_CACHE_MB * MB);
      await repos.close();
      if (o.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      const lines = [
        `directory   ${r.dir}`,
        `renditions  ${r.entries} of ${r.images} image(s)`,
        `size        ${mb(r.bytes)} of ${mb(r.budgetBytes)} (DISK_CACHE_MB)`,
        ...Object.entries(r.byFormat).map(([f, v]) => `  ${f.padEnd(9)} ${String(v.entries).padStart(7)}  ${mb(v.bytes)}`),
        `last read   ${r.oldestAccess ?? '-'} … ${r.newestAccess ?? '-'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  cache
    .command('prune')
    .description('enforce DISK_CACHE_MB, drop broken entries and orphan files, sweep stale temp files; optionally purge more')
    .option('--image <id>', 'also remove every rendition of this image (its random id or public id)')
    .option('--preset <name>', 'also remove every rendition made through this preset')
    .option('--older-than <days>', 'also remove renditions not read for this many days')
    .option('--all', 'remove every rendition')
    .option('--json', 'print JSON')
    .action(async (o: { image?: string; preset?: string; olderThan?: string; all?: boolean; json?: boolean }) => {
      const days = o.olderThan === undefined ? undefined : Number(o.olderThan);
      if (days !== undefined && !(Number.isFinite(days) && days >= 0))
        program.error(`Expected a number of days >= 0 for --older-than but received ${o.olderThan}`);
      const config = configFromProcess();
      const { repos } = await openData(config, { listen: false });
      const dir = renditionsDir(config);
      const budget = Math.max(1, config.DISK_CACHE_MB * MB);
      const index = repos.renditions;
      const tier = await DiskTier.open(index, dir, budget);
      const result = await pruneDiskCache(index, tier, {
        imageId: o.image === undefined ? undefined : await cacheIdOf(repos.images, o.image),
        preset: o.preset,
        all: o.all,
        idleMs: days === undefined ? undefined : days * 86_400_000,
      });
      const after = tier.stats();
      await tier.close();
      await repos.close();
      // Not only the cache's: every folder imgpath writes (originals, renditions, …), fresh ones kept.
      const temp = await sweepLeftovers(config);
      if (o.json) {
        const tempReport = { tempFiles: temp.files, tempBytes: temp.bytes, tempPlaces: temp.places };
        return void process.stdout.write(`${JSON.stringify({ ...result, ...tempReport, entries: after.entries, bytes: after.bytes })}\n`);
      }
      const where = Object.entries(temp.places)
        .map(([name, p]) => `${name} ${p.files}`)
        .join(', ');
      process.stdout.write(
        `removed ${result.purged} purged, ${result.idle} idle, ${result.evicted} over budget, ${result.broken} broken, ${result.orphans} orphan file(s)\n` +
          `removed ${temp.files} stale temp file(s), ${mb(temp.bytes)}, left by interrupted writes${where ? ` (${where})` : ''}\n` +
          `now ${after.entries} rendition(s), ${mb(after.bytes)} of ${mb(budget)}\n`,
      );
    });
}

/** Renditions are keyed by the random id; a public id names the same image. An unknown name is passed on as is (a deleted image's leftovers). */
async function cacheIdOf(images: ImagesRepo, name: string): Promise<string> {
  const image = (await images.byId(name)) ?? (await images.byPublicId(name));
  return image?.id ?? name;
}
