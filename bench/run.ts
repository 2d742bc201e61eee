/**
 * `npm run bench`: the real server (own process, 127.0.0.1, temp DATA_DIR/CACHE_DIR) under
 * autocannon, next to a reference doing the same work without the server: raw sharp for
 * misses, bare node:http serving the same bytes for hits. Server and reference alternate in
 * short rounds (ABBA), so load from other processes on a shared machine hits both alike.
 * Every loop is bounded in requests and seconds; the whole run takes a few minutes on 2 cores.
 * It reports; it never asserts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { forkTs, nextMessage } from './children.js';
import { formatHotPath, formatPropagation, hotPathOnBothDatabases, purgePropagation } from './cluster.js';
import { http, rawSharp, type Summary } from './load.js';
import { HIT_KINDS, hitBench, hitTable } from './hits.js';
import { formatFlood, loginCost, loginFlood } from './login-flood.js';
import { alternate, benchServerEnv, counters, line, missScenarios, type ServerProc } from './miss.js';
import { sustainedMisses } from './sustained.js';

const CONNECTIONS_HIT = 10;
/** Issue 14 measures hits against the node:http floor at this many connections. */
const CONNECTIONS_HIT_FLOOR = 64;
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
const baseEnv = { ...(await benchServerEnv(tmp)), RENDER_CONCURRENCY: String(renderConcurrency) };
const servers: ServerProc[] = [];

async function startServer(env: Record<string, string> = {}): Promise<ServerProc> {
  const child = forkTs('server-child.ts', { ...baseEnv, ...env });
  const ready = await nextMessage<{ url: string; images: ServerProc['images'] }>(child, 'ready', 120_000);
  const s = { child, url: ready.url, images: ready.images };
  servers.push(s);
  return s;
}

async function stopServer(s: ServerProc) {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.send({ type: 'close' });
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const results: Array<{ name: string; server: Summary; ref: Summary; refName: string }> = [];

function report(name: string, server: Summary, refName: string, ref: Summary, note: string) {
  process.stdout.write(`${name}  (${note})\n${line('server', server)}${line(refName, ref)}  ratio ${(server.rps / ref.rps).toFixed(2)}x\n`);
  results.push({ name, server, ref, refName });
}

const raw = await rawSharp(renderConcurrency);

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
      `misses: ${CONNECTIONS_MISS} in flight, ${MISS_ROUNDS} alternating rounds; hits: ${CONNECTIONS_HIT} connections, ${HIT_ROUNDS}x${HIT_ROUND_SECONDS}s alternating rounds, then ${CONNECTIONS_HIT_FLOOR} connections per hit kind`,
    '',
  ].join('\n'),
);

try {
  const first = await startServer();
  const sunset = first.images.find((i) => i.filename === 'sunset-12mp.jpg')!;

  process.stdout.write('── cache misses: every URL distinct; reference = raw sharp, same op and input, same number in flight, no HTTP\n');
  const { rendered } = await missScenarios(first, raw, {
    rounds: MISS_ROUNDS,
    connections: CONNECTIONS_MISS,
    roundMaxSeconds: MISS_ROUND_MAX_SECONDS,
    report,
  });
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

  // Issue 14's measure: 64 connections, the three ways a hit arrives, each against the floor in
  // the same run; then disk hits against memory hits (a server of its own, bench/hits.ts).
  process.stdout.write('\n── cache hits at 64 connections: signed URL, ?key= API key, anonymous preset; reference = bare node:http\n');
  const hits = await hitBench({
    connections: CONNECTIONS_HIT_FLOOR,
    rounds: 4,
    seconds: HIT_ROUND_SECONDS,
    kinds: HIT_KINDS,
    disk: true,
    write: (text) => process.stdout.write(text.replace(/^(?=.)/gm, '  ')),
  });
  process.stdout.write(`\n${hitTable(hits)}`);
  for (const h of hits) if (h.ref) results.push({ name: `hit64-${h.name}`, server: h.server, ref: h.ref, refName: h.refName });

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
  await stopServer(auth);

  // Issue 14 item 3: RSS of a server on its defaults under sustained misses, its memory tier filled.
  process.stdout.write('\n── sustained misses on the defaults: peak RSS, the memory tier filled and turned over (bench/sustained.ts)\n');
  await sustainedMisses({ seconds: Number(process.env.SUSTAINED_SECONDS ?? 60), write: (t) => process.stdout.write(t) });

  // Issue 13: the same hot path with the library in PostgreSQL, and nodes learning of each
  // other's changes through LISTEN/NOTIFY. Reported only where PostgreSQL is installed.
  process.stdout.write('\n── the hot path on SQLite and on PostgreSQL: one server each, alternating rounds (bench/cluster.ts)\n');
  process.stdout.write(formatHotPath(await hotPathOnBothDatabases()));
  process.stdout.write('\n── two nodes on PostgreSQL: a delete on one reaching the other (bench/cluster.ts)\n');
  process.stdout.write(formatPropagation(await purgePropagation(10)));
} finally {
  raw.close();
  for (const s of servers) await stopServer(s).catch(() => s.child.kill('SIGKILL'));
  await fs.rm(tmp, { recursive: true, force: true });
}

process.stdout.write('\nsummary (ratio = server / reference throughput)\n');
for (const r of results) {
  process.stdout.write(
    `  ${r.name.padEnd(13)} ${r.server.rps.toFixed(1).padStart(8)} req/s  p99 ${r.server.p99.toFixed(1).padStart(7)} ms  peak RSS ${String(r.server.peakMb).padStart(4)} MB` +
      `   vs ${r.refName.padEnd(14)} ${r.ref.rps.toFixed(1).padStart(8)} req/s  p99 ${r.ref.p99.toFixed(1).padStart(7)} ms   ratio ${(r.server.rps / r.ref.rps).toFixed(2)}x\n`,
  );
}
process.stdout.write(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average at end ${load()}\n`);
