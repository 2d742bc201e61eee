/**
 * `npx tsx bench/memory-budget.ts`: does the memory tier's budget hold in resident memory? Renders
 * (2 in flight, as RENDER_CONCURRENCY=2) are stored in a MemoryTier of MEMORY_CACHE_MB (default 48
 * here, for a quick run) until about twice its budget went through it (evictions included), and
 * the process's RSS growth is compared with the budget. A control run renders the same without
 * keeping anything, so render churn alone is known. Run with MALLOC_ARENA_MAX=2, as the server:
 *   MALLOC_ARENA_MAX=2 node --expose-gc --import tsx bench/memory-budget.ts
 */
import fs from 'node:fs';
import { configureSharp } from '../src/cache/runtime.js';
import { MemoryTier } from '../src/cache/memory.js';
import { loadConfig } from '../src/config.js';
import { render } from '../src/render/index.js';
import { parseSpec } from '../src/spec/index.js';

const config = loadConfig({ DATA_DIR: '/tmp/imgpath-memory-budget', RENDER_CONCURRENCY: '2' });
configureSharp(config);
const MB = 2 ** 20;
const budgetMb = Number(process.env.MEMORY_CACHE_MB ?? 48);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const input = fs.readFileSync(new URL('../samples/dune-2mp.jpg', import.meta.url));

/** Renditions of assorted sizes and formats (a few KB to ~150 KB), like a real mix of misses. */
function job(i: number) {
  const width = 400 + ((i * 97) % 1280);
  const format = i % 3 === 0 ? 'jpeg' : 'webp';
  const spec = parseSpec(`w_${width},f_${format === 'jpeg' ? 'jpg' : format},q_${60 + (i % 35)}`);
  return render(input, spec, { format, limits: config.limits });
}

async function run(keep: boolean, from: number) {
  const tier = new MemoryTier(budgetMb * MB);
  const start = rss();
  let peak = start;
  let through = 0;
  let next = from;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 50);
  await Promise.all(
    [0, 1].map(async () => {
      while (through < 2 * budgetMb * MB) {
        const i = next++;
        const out = await job(i);
        through += out.data.length;
        if (keep) await tier.put(`k${i}`, { imageId: 'x', options: String(i) }, out);
      }
    }),
  );
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 200));
  const beforeGc = rss();
  // Renders' own output buffers the tier copied from are garbage by now; with --expose-gc they go, so
  // what is left is what the tier holds (without it, the figure includes garbage not yet collected).
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const end = rss();
  const s = tier.stats();
  return { start, end, beforeGc, peak: Math.max(peak, beforeGc), tierMb: s.bytes / MB, entries: s.entries, evictions: s.evictions, renders: next - from };
}

for (let i = 0; i < 30; i++) await job(1_000_000 + i); // warm up: sharp, libvips and the allocator reach their working set
const control = await run(false, 0);
const kept = await run(true, 100_000);
const growth = kept.end - kept.start;
process.stdout.write(
  [
    `memory tier budget ${budgetMb} MB (MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'default'}), ${kept.renders} renders, 2 in flight`,
    `  control, nothing kept   RSS ${control.start.toFixed(0)} -> ${control.end.toFixed(0)} MB (peak ${control.peak.toFixed(0)}): ${(control.end - control.start).toFixed(0)} MB of render churn`,
    `  tier kept ${kept.tierMb.toFixed(1)} MB in ${kept.entries} renditions (${kept.evictions} evicted)`,
    `  RSS ${kept.start.toFixed(0)} -> ${kept.beforeGc.toFixed(0)} MB (peak ${kept.peak.toFixed(0)})${globalThis.gc ? `, ${kept.end.toFixed(0)} MB after a full GC` : ''}: +${growth.toFixed(0)} MB = ${(growth / budgetMb).toFixed(2)}x the budget`,
    '',
  ].join('\n'),
);
