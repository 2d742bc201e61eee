/**
 * `npm run bench:memory`: peak RSS of the real server on its defaults (MEMORY_CACHE_MB,
 * ORIGINALS_CACHE_MB, RENDER_CONCURRENCY: nothing overridden but the bench's own switches) under a
 * sustained stream of distinct misses, long enough to fill its memory tier and turn it over: the
 * miss scenarios' shapes plus PNGs of every sample, 8 in flight (as the issue's peer benchmark). Reports RSS at rest after start, peak RSS under the load, the memory
 * tier's bytes against its budget and the originals kept. Also the last section of `npm run bench`.
 * It reports; it never asserts.
 *
 *   SUSTAINED_SECONDS=90   length of the load
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forkTs, nextMessage } from './children.js';
import { http } from './load.js';
import { benchServerEnv, type ServerProc } from './miss.js';

export interface SustainedResult {
  restMb: number;
  peakMb: number;
  renders: number;
  errors: number;
  seconds: number;
  memoryBudgetMb: number;
  memoryMb: number;
  evictions: number;
  originalsMb: number;
}

const rssMb = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

export async function sustainedMisses(opts: { seconds: number; write: (text: string) => void }): Promise<SustainedResult> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-sustained-'));
  // Nothing overridden but the bench's own switches: the defaults are what is measured.
  const child = forkTs('server-child.ts', await benchServerEnv(tmp));
  try {
    const ready = await nextMessage<{ url: string; images: ServerProc['images'] }>(child, 'ready', 120_000);
    const pid = child.pid!;
    // At rest: started, samples imported, nothing rendered yet.
    await new Promise((r) => setTimeout(r, 1000));
    const restMb = await rssMb(pid);
    const stats = async () => {
      child.send({ type: 'stats' });
      return nextMessage<{ stats: Record<string, number>; originals: { bytes: number }; memoryBudgetMb: number }>(child, 'stats');
    };
    const before = await stats();
    // Every URL distinct: the miss scenarios' shapes (12 MP to 200..1400 px WebP and JPEG, the
    // 20 MP original to 300 px, 600 px AVIF) and one in five a PNG up to 1400 px (hundreds of KB
    // to MBs), so the memory tier fills and turns over within the run.
    const byName = (n: string) => ready.images.find((i) => i.filename === n) ?? ready.images[0];
    const [sunset, dune, large] = [byName('sunset-12mp.jpg'), byName('dune-2mp.jpg'), byName('large-20mp.jpg')];
    const paths: string[] = [];
    for (let i = 0; paths.length < 20_000; i++) {
      const q = 50 + (i % 45);
      const width = 200 + ((i * 97) % 1200);
      const shape = [
        `w_${width},f_webp,q_${q}/${sunset.id}`,
        `w_${width},f_jpg,q_${q}/${sunset.id}`,
        `w_${280 + (i % 40)},f_jpg,q_${q}/${large.id}`,
        `w_${560 + (i % 80)},f_avif,q_${q}/${dune.id}`,
        `w_${width},f_png/${ready.images[i % ready.images.length].id}`,
      ][i % 5];
      paths.push(`/img/${shape}`);
    }
    const result = await http({ url: ready.url, paths, connections: 8, seconds: opts.seconds, pid });
    const after = await stats();
    const out: SustainedResult = {
      restMb: Math.round(restMb),
      peakMb: Math.round(result.peakKb / 1024),
      renders: after.stats.renders - before.stats.renders,
      errors: result.errors,
      seconds: result.seconds,
      memoryBudgetMb: after.memoryBudgetMb,
      memoryMb: Math.round(after.stats.memory_bytes / 2 ** 20),
      evictions: after.stats.memory_evictions,
      originalsMb: Math.round(after.originals.bytes / 2 ** 20),
    };
    opts.write(
      `  ${out.renders} renders in ${out.seconds.toFixed(0)} s (${out.errors} errors)\n` +
        `  RSS at rest ${out.restMb} MB, peak under load ${out.peakMb} MB; memory tier ${out.memoryMb} of ${out.memoryBudgetMb} MB (${out.evictions} evictions); originals kept ${out.originalsMb} MB\n`,
    );
    return out;
  } finally {
    child.kill();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(
    `imgpath sustained misses on defaults: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  await sustainedMisses({ seconds: Number(process.env.SUSTAINED_SECONDS ?? 90), write: (t) => process.stdout.write(t) });
}
