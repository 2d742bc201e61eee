import path from 'node:path';
import { renditionsDir } from '../cache/index.js';
import type { Config } from '../config.js';
import { IMPORTED_DIR } from '../library/inbox.js';
import { ATOMIC_TEMP, removeStaleTempFiles, STALE_TEMP_MS, type SweepOptions, type SweepResult } from '../storage/atomic.js';

/**
 * What a `kill -9` can leave behind: every file imgpath writes under a temporary name before it
 * renames or removes it. Nothing else looks at these names, so without a sweep they stay forever.
 */
export function tempPlaces(
  config: Pick<Config, 'dataDir' | 'cacheDir' | 'inboxDir'>,
): Record<string, { dir: string } & Pick<SweepOptions, 'match' | 'recursive'>> {
  const places: Record<string, { dir: string } & Pick<SweepOptions, 'match' | 'recursive'>> = {
    // LocalStore.put (atomicWrite): `originals/ab/<sha256>.<hex>.tmp`. Only imgpath writes here.
    originals: { dir: path.join(config.dataDir, 'originals'), match: /\.tmp$/, recursive: true },
    // The disk tier (atomicWrite): `renditions/ab/<key>.<ext>.<hex>.tmp`. Only imgpath writes here.
    renditions: { dir: renditionsDir(config), match: /\.tmp$/, recursive: true },
    // loadSecrets on first start writes `secrets.json.tmp`, then renames it.
    secrets: { dir: config.dataDir, match: /^secrets\.json\.tmp$/, recursive: false },
    // The readiness probe writes `.ready-<hex>` in CACHE_DIR and removes it.
    readiness: { dir: config.cacheDir, match: /^\.ready-[0-9a-f]{12}$/, recursive: false },
  };
  // The inbox itself is the user's: imgpath only renames within it, and a `.tmp` there is someone's
  // copy in progress. Its `.imported/` folder is imgpath's; only atomicWrite's exact names are swept.
  if (config.inboxDir) places.imported = { dir: path.join(config.inboxDir, IMPORTED_DIR), match: ATOMIC_TEMP, recursive: true };
  return places;
}

export interface LeftoversReport extends SweepResult {
  /** Per place (originals, renditions, …), only those where something was removed. */
  places: Record<string, SweepResult & { dir: string }>;
}

/** Removes the temp files older than STALE_TEMP_MS from every place (start-up, `imgpath cache prune`). */
export async function sweepLeftovers(
  config: Pick<Config, 'dataDir' | 'cacheDir' | 'inboxDir'>,
  opts: { now?: number; olderThanMs?: number } = {},
): Promise<LeftoversReport> {
  const report: LeftoversReport = { files: 0, bytes: 0, places: {} };
  for (const [name, place] of Object.entries(tempPlaces(config))) {
    const r = await removeStaleTempFiles(place.dir, { ...place, now: opts.now, olderThanMs: opts.olderThanMs ?? STALE_TEMP_MS });
    if (r.files === 0) continue;
    report.places[name] = { dir: place.dir, ...r };
    report.files += r.files;
    report.bytes += r.bytes;
  }
  return report;
}
