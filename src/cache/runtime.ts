import os from 'node:os';
import sharp from 'sharp';
import type { Config } from '../config.js';

/**
 * Process-wide libvips settings, applied once at start-up (server and bench alike).
 *
 * - No libvips operation cache: the rendition cache already keeps results, and vips' cache would
 *   pin decoded originals (tens of MB each for 12 MP photos) that the next request rarely reuses.
 * - Threads per render = cores / RENDER_CONCURRENCY: parallelism comes from running several
 *   renders at once; more vips threads than cores only adds contention and (with glibc malloc)
 *   fragmentation, which is why sharp itself defaults to 1 there.
 *
 * UV_THREADPOOL_SIZE must exceed RENDER_CONCURRENCY so disk-cache reads never wait behind renders
 * (sharp runs each render on a libuv worker); it has to be set in the environment before Node
 * starts, so the Dockerfile and `npm start` set it, not this function.
 */
export function configureSharp(config: Pick<Config, 'RENDER_CONCURRENCY'>) {
  sharp.cache(false);
  sharp.concurrency(Math.max(1, Math.floor(os.availableParallelism() / config.RENDER_CONCURRENCY)));
  return { concurrency: sharp.concurrency(), cache: false };
}
