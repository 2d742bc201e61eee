/**
 * Two imgpath nodes on one throwaway PostgreSQL (issue 13): how long a delete made on node B takes
 * to reach node A, from B's 204 (the delete is committed) to the end of A's first 404, with A asked
 * back to back from before the delete (memory hits until then). Negative: A knew before B's answer
 * reached the client. Originals in one shared folder (as a
 * network mount would be), caches per node. `npx tsx bench/cluster.ts`, or the last section of
 * `npm run bench`; reported only when PostgreSQL's binaries are installed (scripts/install-test-deps.sh).
 * Reports; never asserts.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { ChildProcess } from 'node:child_process';
import { forkTs, nextMessage, percentile } from './children.js';
import { http, type Summary } from './load.js';
import { alternate } from './miss.js';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface Propagation {
  /** Milliseconds from B's 204 to A's first 404 (the end of that answer), one per run, sorted. */
  samples: number[];
  median: number;
  p90: number;
  max: number;
  /** From sending the delete to B (B's own work included). */
  fromSendMedian: number;
  /** Asks A answered from its caches (200) between the start of asking and its 404, per run (mean). */
  asks: number;
}

export async function purgePropagation(runs = 10): Promise<Propagation | { skipped: string }> {
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) return { skipped: `PostgreSQL not installed (${PG_BIN}): scripts/install-test-deps.sh` };
  // The test suite's throwaway server (initdb in a temp dir, stopped by PID).
  const { startPostgres } = await import('../test/helpers/postgres.js');
  const pg = await startPostgres();
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'imgpath-cluster-bench-'));
  const children: ChildProcess[] = [];
  try {
    const adminKey = 'bench-admin-key-0123456789';
    const env = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: await pg.createDatabase('bench'),
      DATA_DIR: path.join(tmp, 'shared'),
      ADMIN_API_KEY: adminKey,
      IMPORT_SAMPLES: 'false',
      INBOX_DIR: 'off',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_API_PER_MIN: '0',
      RATE_LIMIT_MISS_PER_MIN: '0',
    };
    const node = async (name: string) => {
      const child = forkTs('server-child.ts', { ...env, NODE_NAME: name, CACHE_DIR: path.join(tmp, name) });
      children.push(child);
      return (await nextMessage<{ url: string }>(child, 'ready', 120_000)).url;
    };
    const [a, b] = await Promise.all([node('a'), node('b')]);
    const headers = { 'X-API-Key': adminKey };
    const samples: number[] = [];
    const fromSend: number[] = [];
    let asks = 0;
    for (let run = 0; run < runs; run++) {
      const bytes = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: run * 20, g: 90, b: 160 } } })
        .jpeg()
        .toBuffer();
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)]), `run-${run}.jpg`);
      const { id } = (await (await fetch(`${b}/images`, { method: 'POST', headers, body: form })).json()) as { id: string };
      const url = `${a}/img/w_100,f_webp/${id}`;
      // Rendered and held in A's memory tier.
      for (let i = 0; i < 3; i++) await (await fetch(url, { headers })).arrayBuffer();
      // A is asked back to back from before the delete is sent until it answers 404.
      let first404 = 0;
      let n = 0;
      const asking = (async () => {
        for (;;) {
          const res = await fetch(url, { headers });
          await res.arrayBuffer();
          if (res.status === 404) return void (first404 = performance.now());
          n++;
        }
      })();
      const sent = performance.now();
      const deleted = await fetch(`${b}/images/${id}`, { method: 'DELETE', headers });
      const committed = performance.now();
      if (deleted.status !== 204) throw new Error(`delete answered ${deleted.status}`);
      const timeout = setTimeout(() => process.stderr.write('A still serves a deleted image after 10 s\n'), 10_000);
      await asking;
      clearTimeout(timeout);
      samples.push(first404 - committed);
      fromSend.push(first404 - sent);
      asks += n;
    }
    samples.sort((x, y) => x - y);
    fromSend.sort((x, y) => x - y);
    return {
      samples,
      median: percentile(samples, 50),
      p90: percentile(samples, 90),
      max: samples.at(-1)!,
      fromSendMedian: percentile(fromSend, 50),
      asks: asks / runs,
    };
  } finally {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await pg.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

export interface HotPath {
  scenario: 'hit-memory' | 'hit-disk' | 'miss';
  sqlite: Summary;
  postgres: Summary;
}

/**
 * The hot path on each database, same machine, same images: a server on SQLite against one on
 * PostgreSQL (alone on it), in alternating rounds. Memory hits (one URL), disk hits (a second pair
 * with MEMORY_CACHE_MB=0, every rendition in turn) and misses (every URL new).
 */
export async function hotPathOnBothDatabases(opts: { rounds?: number; seconds?: number } = {}): Promise<HotPath[] | { skipped: string }> {
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) return { skipped: `PostgreSQL not installed (${PG_BIN}): scripts/install-test-deps.sh` };
  const rounds = opts.rounds ?? 4;
  const seconds = opts.seconds ?? 2;
  const { startPostgres } = await import('../test/helpers/postgres.js');
  const pg = await startPostgres();
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'imgpath-db-bench-'));
  const children: ChildProcess[] = [];
  type Server = { url: string; pid: number; images: Array<{ id: string; filename: string | null }> };
  const start = async (name: string, env: Record<string, string>): Promise<Server> => {
    const child = forkTs('server-child.ts', {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: path.join(tmp, name, 'data'),
      CACHE_DIR: path.join(tmp, name, 'cache'),
      ALLOW_UNSIGNED_TRANSFORMS: 'true',
      IMPORT_SAMPLES: 'true',
      INBOX_DIR: 'off',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      RATE_LIMIT_API_PER_MIN: '0',
      RATE_LIMIT_MISS_PER_MIN: '0',
      NODE_NAME: name,
      ...env,
    });
    children.push(child);
    const ready = await nextMessage<{ url: string; images: Server['images'] }>(child, 'ready', 180_000);
    return { url: ready.url, pid: child.pid!, images: ready.images };
  };
  const id = (s: Server, file: string) => s.images.find((i) => i.filename === file)!.id;
  const hits = (s: Server, paths: string[]) => () => http({ url: s.url, paths, connections: 10, seconds, pid: s.pid });
  try {
    const out: HotPath[] = [];
    const [lite, post] = [await start('sqlite', {}), await start('postgres', { DATABASE_URL: await pg.createDatabase('hot') })];
    const hot = (s: Server) => [`/img/w_300,f_webp/${id(s, 'sunset-12mp.jpg')}`];
    for (const s of [lite, post]) await (await fetch(`${s.url}${hot(s)[0]}`)).arrayBuffer();
    const [m1, m2] = await alternate(rounds, hits(lite, hot(lite)), hits(post, hot(post)));
    out.push({ scenario: 'hit-memory', sqlite: m1, postgres: m2 });

    // Misses: 12 new widths of a 2 MP image per round, as many in flight as render slots.
    const misses = (s: Server, k: number) => {
      const paths = Array.from({ length: 12 }, (_, i) => `/img/w_${300 + k * 12 + i},f_jpg/${id(s, 'dune-2mp.jpg')}`);
      return http({ url: s.url, paths, connections: os.availableParallelism(), amount: paths.length, seconds: 30, pid: s.pid });
    };
    const [x1, x2] = await alternate(
      rounds,
      (k) => misses(lite, k),
      (k) => misses(post, k),
    );
    out.push({ scenario: 'miss', sqlite: x1, postgres: x2 });

    // Disk hits: memory tier off, the renditions the misses made (one process each, over the same folders).
    const rendered = (s: Server) => Array.from({ length: rounds * 12 }, (_, j) => `/img/w_${300 + j},f_jpg/${id(s, 'dune-2mp.jpg')}`);
    const [dl, dp] = [
      await start('sqlite', { MEMORY_CACHE_MB: '0', NODE_NAME: 'sqlite-disk' }),
      await start('postgres', { MEMORY_CACHE_MB: '0', NODE_NAME: 'postgres-disk', DATABASE_URL: pg.url.replace(/\/postgres$/, '/hot') }),
    ];
    const [d1, d2] = await alternate(rounds, hits(dl, rendered(lite)), hits(dp, rendered(post)));
    out.push({ scenario: 'hit-disk', sqlite: d1, postgres: d2 });
    return out;
  } finally {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await pg.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

export function formatHotPath(r: HotPath[] | { skipped: string }): string {
  if ('skipped' in r) return `  skipped: ${r.skipped}\n`;
  const cell = (s: Summary) => `${s.rps.toFixed(1).padStart(8)} req/s  p99 ${s.p99.toFixed(1).padStart(7)} ms  errors ${s.errors}`;
  return r
    .map(
      (x) => `  ${x.scenario.padEnd(10)}  SQLite ${cell(x.sqlite)}   PostgreSQL ${cell(x.postgres)}   ratio ${(x.postgres.rps / x.sqlite.rps).toFixed(2)}x\n`,
    )
    .join('');
}

export function formatPropagation(r: Propagation | { skipped: string }): string {
  if ('skipped' in r) return `  skipped: ${r.skipped}\n`;
  return (
    `  delete on B (its 204) -> first 404 on A: median ${r.median.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms, max ${r.max.toFixed(1)} ms over ${r.samples.length} deletes;` +
    ` from sending the delete: median ${r.fromSendMedian.toFixed(1)} ms (A asked back to back meanwhile: ${r.asks.toFixed(1)} cache hits per run)\n` +
    `  each: ${r.samples.map((s) => s.toFixed(1)).join(' ')} ms\n`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write('── the hot path on SQLite and on PostgreSQL (one server each, alternating rounds)\n');
  process.stdout.write(formatHotPath(await hotPathOnBothDatabases()));
  process.stdout.write('── two nodes on PostgreSQL: a purge reaching the other node\n');
  process.stdout.write(formatPropagation(await purgePropagation(Number(process.env.RUNS ?? 10))));
}
