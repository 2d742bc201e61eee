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
 * - The libuv pool those renders run on is sized by the environment, not here: see threadpoolCheck.
 */
export function configureSharp(config: Pick<Config, 'RENDER_CONCURRENCY'>) {
  sharp.cache(false);
  sharp.concurrency(Math.max(1, Math.floor(os.availableParallelism() / config.RENDER_CONCURRENCY)));
  return { concurrency: sharp.concurrency(), cache: false };
}

/**
 * sharp runs each render on a libuv pool thread, and so do file reads (disk-cache hits, local
 * originals): with RENDER_CONCURRENCY >= UV_THREADPOOL_SIZE a hit waits behind renders.
 *
 * The size cannot be fixed from here: libuv reads UV_THREADPOOL_SIZE once, when the pool starts,
 * and the ESM loader starts it reading our first module (measured on Node 20: setting
 * process.env in the entry module changes nothing). So the Dockerfile and `npm start` set it in
 * the environment, and start-up reports it, with a warning naming the value to set when too small.
 */
export function threadpoolCheck(config: Pick<Config, 'RENDER_CONCURRENCY' | 'UV_THREADPOOL_SIZE'>) {
  const recommended = config.RENDER_CONCURRENCY + 4;
  return { size: config.UV_THREADPOOL_SIZE, recommended, starved: config.UV_THREADPOOL_SIZE <= config.RENDER_CONCURRENCY };
}
