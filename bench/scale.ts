/**
 * `npm run bench:scale`: the miss scenarios of `npm run bench` at RENDER_CONCURRENCY 1, 2 and 4,
 * each pinned with `taskset` to as many CPUs (server, raw sharp and load generator alike), so the
 * table says how miss throughput grows with the machine. Sets past this machine's CPUs are skipped.
 *
 *   BENCH_SCALE="1:0,2:0-1,4:0-3"   concurrency:cpu-list pairs (the default)
 *   BENCH_SCALE_ROUNDS=4            alternating rounds per scenario
 *   BENCH_SCALE_FRACTION=1          share of each scenario's operations (0.1 for a quick dry run)
 *
 * Run it on a quiet machine: every other process takes CPU from the pinned set.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forkTs, nextMessage, ROOT } from './children.js';
import { rawSharp, type Summary } from './load.js';
import { benchServerEnv, line, missScenarios, type MissResult, type ServerProc } from './miss.js';

const rounds = Number(process.env.BENCH_SCALE_ROUNDS ?? 4);
const fraction = Number(process.env.BENCH_SCALE_FRACTION ?? 1);

/** CPUs in a taskset list such as `0-3` or `0,2`. */
function cpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b = a] = part.split('-').map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

/** One pinned configuration, in this (already pinned) process: a server, raw sharp, the scenarios. */
async function one() {
  const concurrency = Number(process.env.RENDER_CONCURRENCY);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-scale-'));
  const child = forkTs('server-child.ts', await benchServerEnv(tmp));
  const raw = await rawSharp(concurrency);
  try {
    const ready = await nextMessage<{ url: string; images: ServerProc['images'] }>(child, 'ready', 120_000);
    const report = (name: string, s: Summary, refName: string, r: Summary, note: string) =>
      process.stdout.write(`${name}  (${note})\n${line('server', s)}${line(refName, r)}  ratio ${(s.rps / r.rps).toFixed(2)}x\n`);
    const { results } = await missScenarios({ child, ...ready }, raw, { rounds, connections: concurrency, roundMaxSeconds: 12, fraction, report });
    process.send!({ type: 'results', results });
  } finally {
    raw.close();
    child.kill();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function all() {
  const available = os.availableParallelism();
  const pairs = (process.env.BENCH_SCALE ?? '1:0,2:0-1,4:0-3').split(',').reduce<Array<{ n: number; cpus: string }>>((acc, item) => {
    // `1:0,2:0-1` splits on every comma; a part without a colon continues the previous CPU list.
    if (item.includes(':')) {
      const [n, cpus] = item.split(':');
      acc.push({ n: Number(n), cpus });
    } else acc[acc.length - 1].cpus += `,${item}`;
    return acc;
  }, []);
  const rows: string[] = [];
  process.stdout.write(
    `imgpath bench:scale — ${os.cpus()[0]?.model ?? 'CPU'}, ${available} CPUs; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  for (const { n, cpus } of pairs) {
    if (Math.max(...cpuList(cpus)) >= available) {
      process.stdout.write(`\n── RENDER_CONCURRENCY=${n} on CPUs ${cpus}: skipped, this machine has ${available} CPUs\n`);
      continue;
    }
    process.stdout.write(`\n── RENDER_CONCURRENCY=${n}, taskset -c ${cpus}\n`);
    const child = spawn('taskset', ['-c', cpus, process.execPath, '--import', 'tsx', path.join(ROOT, 'bench', 'scale.ts')], {
      cwd: ROOT,
      env: { ...process.env, RENDER_CONCURRENCY: String(n), BENCH_SCALE_ONE: '1', BENCH_QUALITY: '0' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { results } = await nextMessage<{ results: MissResult[] }>(child, 'results', 60 * 60_000);
    for (const r of results) {
      rows.push(
        `| ${n} | ${cpus} | ${r.name} | ${r.server.rps.toFixed(1)} | ${r.ref.rps.toFixed(1)} | ${(r.server.rps / r.ref.rps).toFixed(2)}x | ${r.server.p99.toFixed(0)} ms | ${r.server.peakMb} MB |`,
      );
    }
  }
  process.stdout.write(
    `\n| RENDER_CONCURRENCY | CPUs | scenario | imgpath req/s | raw sharp req/s | ratio | p99 | peak RSS |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
  );
  process.stdout.write(
    `load average at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
}

if (process.env.BENCH_SCALE_ONE === '1') {
  await one();
  process.exit(0);
} else await all();
