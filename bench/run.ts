/**
 * `npm run bench`: the real server (own process, 127.0.0.1, temp DATA_DIR/CACHE_DIR) under
 * autocannon, next to a reference doing the same work without the server: raw sharp for
 * misses, bare node:http serving the same bytes for hits. Server and reference alternate in
 * short rounds (ABBA), so load from other processes on a shared machine hits both alike.
 * Every loop is bounded in requests and seconds; the whole run takes a few minutes on 2 cores.
 * It reports; it never asserts.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { SAMPLES_DIR } from '../src/bootstrap.js';
import { forkTs, nextMessage } from './children.js';
import { http, rawSharp, summarize, type Sample, type Summary } from './load.js';
import { formatFlood, loginCost, loginFlood } from './login-flood.js';
import type { RawJob } from './raw-child.js';

interface ServerProc {
  child: ChildProcess;
  url: string;
  images: Array<{ id: string; filename: string | null; width: number; height: number; bytes: number }>;
}

const CONNECTIONS_HIT = 10;
const MISS_ROUNDS = 4;
const HIT_ROUNDS = 6;
const HIT_ROUND_SECONDS = 2;
const MISS_ROUND_MAX_SECONDS = 12;
const cores = os.availableParallelism();
const renderConcurrency = Number(process.env.RENDER_CONCURRENCY ?? cores);
// Misses: as many in flight as the server renders at once, and the same number of raw sharp
// operations. More raw lanes than server slots would compare parallelism, not overhead: on a
// shared machine a process with more runnable threads simply gets a bigger share of the CPU.
const CONNECTIONS_MISS = Number(process.env.BENCH_MISS_CONCURRENCY ?? renderConcurrency);

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-bench-'));
const baseEnv = {
  ...process.env,
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: path.join(tmp, 'data'),
  CACHE_DIR: path.join(tmp, 'cache'),
  ALLOW_UNSIGNED_TRANSFORMS: 'true',
  IMPORT_SAMPLES: 'true',
  INBOX_DIR: 'off',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
  // The bench measures rendering and caching, not the per-IP miss rate limit.
  RATE_LIMIT_MISS_PER_MIN: '0',
  RATE_LIMIT_API_PER_MIN: '0',
  RENDER_CONCURRENCY: String(renderConcurrency),
};
const servers: ServerProc[] = [];

async function startServer(env: Record<string, string> = {}): Promise<ServerProc> {
  const child = forkTs('server-child.ts', { ...baseEnv, ...env });
  const ready = await nextMessage<{ url: string; images: ServerProc['images'] }>(child, 'ready', 120_000);
  const s = { child, url: ready.url, images: ready.images };
  servers.push(s);
  return s;
}

async function counters(s: ServerProc) {
  s.child.send({ type: 'stats' });
  return (await nextMessage<{ stats: Record<string, number> }>(s.child, 'stats')).stats;
}

async function stopServer(s: ServerProc) {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.send({ type: 'close' });
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** ABBA: round k runs `a` first when k is even, `b` first when odd. */
async function alternate(rounds: number, a: (k: number) => Promise<Sample>, b: (k: number) => Promise<Sample>) {
  const as: Sample[] = [];
  const bs: Sample[] = [];
  for (let k = 0; k < rounds; k++) {
    if (k % 2 === 0) {
      as.push(await a(k));
      bs.push(await b(k));
    } else {
      bs.push(await b(k));
      as.push(await a(k));
    }
  }
  return [summarize(as), summarize(bs)] as const;
}

const line = (label: string, s: Summary, extra = '') =>
  `  ${label.padEnd(22)} ${s.rps.toFixed(1).padStart(8)} req/s  p50 ${s.p50.toFixed(1).padStart(7)} ms  p99 ${s.p99.toFixed(1).padStart(7)} ms  errors ${String(s.errors).padStart(3)}  peak RSS ${String(s.peakMb).padStart(4)} MB${extra}\n`;
const results: Array<{ name: string; server: Summary; ref: Summary; refName: string }> = [];

function report(name: string, server: Summary, refName: string, ref: Summary, note: string) {
  process.stdout.write(`${name}  (${note})\n${line('server', server)}${line(refName, ref)}  ratio ${(server.rps / ref.rps).toFixed(2)}x\n`);
  results.push({ name, server, ref, refName });
}

const raw = await rawSharp(renderConcurrency);

async function missScenario(server: ServerProc, name: string, image: ServerProc['images'][number], format: RawJob['format'], ops: RawJob['ops']) {
  const f = format === 'jpeg' ? 'jpg' : format;
  const file = path.join(SAMPLES_DIR, image.filename!);
  const per = Math.ceil(ops.length / MISS_ROUNDS);
  const chunk = (k: number) => ops.slice(k * per, (k + 1) * per);
  const rendered: string[] = [];
  const before = await counters(server);
  const [s, r] = await alternate(
    MISS_ROUNDS,
    async (k) => {
      const paths = chunk(k).map((o) => `/img/w_${o.width},f_${f},q_${o.quality}/${image.id}`);
      const sample = await http({
        url: server.url,
        paths,
        connections: CONNECTIONS_MISS,
        amount: paths.length,
        seconds: MISS_ROUND_MAX_SECONDS,
        pid: server.child.pid!,
      });
      rendered.push(...paths);
      return sample;
    },
    (k) => raw.run({ file, format, ops: chunk(k), concurrency: CONNECTIONS_MISS, maxSeconds: MISS_ROUND_MAX_SECONDS }),
  );
  const after = await counters(server);
  report(
    name,
    s,
    'raw sharp',
    r,
    `${image.filename} ${image.width}x${image.height} → ${ops[0].width}${ops.length > 1 && ops[1].width !== ops[0].width ? `..${ops[ops.length - 1].width}` : ''} px ${format}; ` +
      `${after.renders - before.renders} renders, ${after.rejected - before.rejected} rejected`,
  );
  return rendered;
}

// ---------------------------------------------------------------------------------------------

const started = Date.now();
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
process.stdout.write(
  [
    'imgpath bench',
    `  machine   ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}; load average at start ${load()}`,
    `  runtime   Node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '(default 4)'}, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(default)'}`,
    `  settings  RENDER_CONCURRENCY=${renderConcurrency}, sharp threads per render ${Math.max(1, Math.floor(cores / renderConcurrency))}, libvips cache off; ` +
      `misses: ${CONNECTIONS_MISS} in flight, ${MISS_ROUNDS} alternating rounds; hits: ${CONNECTIONS_HIT} connections, ${HIT_ROUNDS}x${HIT_ROUND_SECONDS}s alternating rounds`,
    '',
  ].join('\n'),
);

try {
  const first = await startServer();
  const byName = (n: string) => first.images.find((i) => i.filename === n)!;
  const sunset = byName('sunset-12mp.jpg');
  const dune = byName('dune-2mp.jpg');
  const largest = [...first.images].sort((a, b) => b.width * b.height - a.width * a.height)[0];
  const widths = (n: number) => Array.from({ length: n }, (_, k) => ({ width: 200 + Math.floor((k * 1000) / n), quality: 80 }));
  const qualities = (n: number, width: number) => Array.from({ length: n }, (_, k) => ({ width, quality: 20 + k }));

  process.stdout.write('── cache misses: every URL distinct; reference = raw sharp, same op and input, same number in flight, no HTTP\n');
  const rendered = [
    ...(await missScenario(first, 'miss-webp', sunset, 'webp', widths(128))),
    ...(await missScenario(first, 'miss-jpeg', sunset, 'jpeg', widths(128))),
    ...(await missScenario(first, 'large-jpeg', largest, 'jpeg', qualities(80, 300))),
    ...(await missScenario(first, 'avif', dune, 'avif', qualities(32, 600))),
  ];
  raw.close();

  process.stdout.write('\n── cache hits: reference = bare node:http answering the same bytes from memory (a static file server)\n');
  const hotPath = `/img/w_300,f_webp/${sunset.id}`;
  const hotBytes = Buffer.from(await (await fetch(`${first.url}${hotPath}`)).arrayBuffer());
  const bare = forkTs('static-child.ts');
  bare.send({ body: hotBytes.toString('base64'), contentType: 'image/webp' });
  const bareUrl = (await nextMessage<{ url: string }>(bare)).url;
  const hit = (s: { url: string; pid: number }, p: string[]) => () =>
    http({ url: s.url, paths: p, connections: CONNECTIONS_HIT, seconds: HIT_ROUND_SECONDS, pid: s.pid });
  const [mem, floor] = await alternate(HIT_ROUNDS, hit({ url: first.url, pid: first.child.pid! }, [hotPath]), hit({ url: bareUrl, pid: bare.pid! }, ['/']));
  bare.kill();
  report('hit-memory', mem, 'bare node:http', floor, `one ${hotBytes.length}-byte w_300 WebP URL repeated; ${(mem.rps / cores).toFixed(0)} req/s per core`);
  process.stdout.write(`  counters of the first server: ${JSON.stringify(await counters(first))}\n`);
  await stopServer(first);

  process.stdout.write('\n── restart: a new server process over the same DATA_DIR and CACHE_DIR (memory tier empty)\n');
  const second = await startServer();
  const replay = await http({ url: second.url, paths: rendered, connections: CONNECTIONS_MISS, amount: rendered.length, seconds: 60, pid: second.child.pid! });
  const c2 = await counters(second);
  process.stdout.write(
    `  replayed all ${rendered.length} URLs rendered before the restart: ${c2.hits_disk} disk hits, ${c2.renders} renders, ${replay.errors} errors\n`,
  );
  // A third process with the memory tier off, so that every one of its hits reads the disk tier,
  // against the restarted one, whose memory tier now holds every rendition (replayed above).
  const diskOnly = await startServer({ MEMORY_CACHE_MB: '0' });
  const [disk, mem2] = await alternate(
    HIT_ROUNDS,
    hit({ url: diskOnly.url, pid: diskOnly.child.pid! }, rendered),
    hit({ url: second.url, pid: second.child.pid! }, rendered),
  );
  const avg = Math.round(c2.disk_bytes / Math.max(1, c2.disk_entries));
  report('hit-disk', disk, 'hit-memory', mem2, `all ${rendered.length} renditions in turn (avg ${avg} bytes); MEMORY_CACHE_MB=0 process vs the restarted one`);
  process.stdout.write(`  counters of the disk-only server: ${JSON.stringify(await counters(diskOnly))}\n`);
  await stopServer(diskOnly);
  await stopServer(second);

  // Password hashing shares libuv's thread pool with renders: a login flood must not starve them.
  process.stdout.write(
    '\n── logins vs renders: small misses one at a time, alone and during a flood of failed logins (each from its own X-Forwarded-For address)\n',
  );
  const adminKey = 'bench-admin-key-0123456789';
  const auth = await startServer({ TRUST_PROXY: 'true', ADMIN_API_KEY: adminKey, RATE_LIMIT_MISS_PER_MIN: '0' });
  const target = { url: auth.url, pid: auth.child.pid!, adminKey, imageId: auth.images.find((i) => i.filename === 'dune-2mp.jpg')!.id };
  const cost = await loginCost(target, 3);
  process.stdout.write(`  one failed login        median ${cost.medianMs.toFixed(0)} ms, peak RSS +${cost.rssDeltaMb} MB over the idle server\n`);
  const flood = await loginFlood(target, { renders: 40, connections: 10, maxLogins: 300, maxSeconds: 30 });
  process.stdout.write(`${formatFlood(flood, 10)}\n`);
} finally {
  raw.close();
  for (const s of servers) await stopServer(s).catch(() => s.child.kill('SIGKILL'));
  await fs.rm(tmp, { recursive: true, force: true });
}

process.stdout.write('\nsummary (ratio = server / reference throughput)\n');
for (const r of results) {
  process.stdout.write(
    `  ${r.name.padEnd(11)} ${r.server.rps.toFixed(1).padStart(8)} req/s  p99 ${r.server.p99.toFixed(1).padStart(7)} ms  peak RSS ${String(r.server.peakMb).padStart(4)} MB` +
      `   vs ${r.refName.padEnd(14)} ${r.ref.rps.toFixed(1).padStart(8)} req/s  p99 ${r.ref.p99.toFixed(1).padStart(7)} ms   ratio ${(r.server.rps / r.ref.rps).toFixed(2)}x\n`,
  );
}
process.stdout.write(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average at end ${load()}\n`);
