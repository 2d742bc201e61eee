import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { RenditionsRepo } from '../repos/renditions.js';
import type { BlobStore } from '../storage/store.js';
import { DiskTier } from './disk.js';
import { RenderLimiter } from './limiter.js';
import { MemoryTier } from './memory.js';
import { TieredCache } from './tiered.js';

const MB = 1024 * 1024;

/** Where rendered files live: a subfolder, so `cache prune` never touches anything else an operator put in CACHE_DIR. */
export function renditionsDir(config: Pick<Config, 'cacheDir'>) {
  return path.join(config.cacheDir, 'renditions');
}

/** The cluster's shared tier (RENDITIONS_STORE=s3): objects in the originals' store, indexed in PostgreSQL. */
export interface SharedTierParts {
  index: RenditionsRepo;
  store: BlobStore;
}

/**
 * The production cache from config: MEMORY_CACHE_MB=0 or DISK_CACHE_MB=0 turns that tier off;
 * `shared` (given when RENDITIONS_STORE=s3) adds the cluster's tier, SHARED_CACHE_MB large.
 */
export async function createCache(config: Config, index: RenditionsRepo, log?: Logger, shared?: SharedTierParts): Promise<TieredCache> {
  const onError = (err: unknown, what: string) => log?.warn({ err }, `rendition cache: ${what} failed`);
  return new TieredCache({
    memory: config.MEMORY_CACHE_MB > 0 ? new MemoryTier(config.MEMORY_CACHE_MB * MB) : null,
    disk: config.DISK_CACHE_MB > 0 ? await DiskTier.open(index, renditionsDir(config), config.DISK_CACHE_MB * MB, { onError }) : null,
    shared: shared ? await DiskTier.shared(shared.index, shared.store, config.SHARED_CACHE_MB * MB, { onError }) : null,
    limiter: new RenderLimiter({ concurrency: config.RENDER_CONCURRENCY, maxQueue: config.RENDER_QUEUE, timeoutMs: config.RENDER_TIMEOUT_MS }),
    onError,
  });
}
