/**
 * The reference for misses: raw sharp doing the same operation on the same input, the same
 * number of operations in flight, the same process-wide sharp settings as the server, no HTTP.
 * Stays up between jobs so its rounds can alternate with the server's.
 */
import fs from 'node:fs';
import sharp from 'sharp';
import { configureSharp } from '../src/cache/runtime.js';
import { AVIF_EFFORT } from '../src/render/steps/encode.js';

export interface RawJob {
  type: 'job';
  file: string;
  format: 'jpeg' | 'webp' | 'avif';
  /**
   * One entry per operation, in order. `file`: that operation's own input, a file libvips reads
   * itself within the operation, as a script handed a new image on disk would (and as the server
   * decodes a new original stored on local disk).
   */
  ops: Array<{ width: number; quality: number; file?: string }>;
  concurrency: number;
  maxSeconds: number;
}

export interface RawResult {
  type: 'result';
  ok: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  maxRssKb: number;
  /** Bytes of all outputs together. */
  outBytes: number;
}

const inputs = new Map<string, Buffer>();

async function run(job: RawJob): Promise<RawResult> {
  if (!inputs.has(job.file)) inputs.set(job.file, fs.readFileSync(job.file));
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  let outBytes = 0;
  const start = performance.now();
  const deadline = start + job.maxSeconds * 1000;
  const lane = async () => {
    while (next < job.ops.length && performance.now() < deadline) {
      const { width, quality, file } = job.ops[next++];
      const t0 = performance.now();
      try {
        const input = file ?? inputs.get(job.file)!;
        const img = sharp(input, { autoOrient: true, failOn: 'error' }).resize({ width });
        if (job.format === 'jpeg') img.jpeg({ quality, mozjpeg: false, progressive: false });
        else if (job.format === 'webp') img.webp({ quality });
        else img.avif({ quality, effort: AVIF_EFFORT });
        const out = await img.toBuffer();
        outBytes += out.length;
        latenciesMs.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, lane));
  return {
    type: 'result',
    ok: latenciesMs.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    latenciesMs,
    maxRssKb: process.resourceUsage().maxRSS,
    outBytes,
  };
}

process.on('message', async (msg: RawJob | { type: 'setup'; renderConcurrency: number } | { type: 'close' }) => {
  if (msg.type === 'setup') {
    configureSharp({ RENDER_CONCURRENCY: msg.renderConcurrency });
    process.send!({ type: 'ready' });
  } else if (msg.type === 'job') process.send!(await run(msg));
  else process.exit(0);
});

// The bench died or was interrupted: never outlive it.
process.on('disconnect', () => process.exit(0));
