/**
 * Cache hits against their floor, shared by `npm run bench:hit` (bench/hit.ts) and `npm run bench`
 * (bench/run.ts): the three ways a hit arrives (signed URL, `?key=` API key, anonymous public
 * preset `t_…`), each in short rounds alternating ABBA with bare node:http answering the same
 * bytes (static-child.ts); and disk hits (a process with the memory tier off, over the same cache
 * folder) against memory hits of the same URL. It reports; it never asserts.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signedImagePath } from '../src/auth/signature.js';
import { forkTs, nextMessage } from './children.js';
import { http, summarize, type Sample, type Summary } from './load.js';

export const HIT_KINDS = ['signed', 'key', 'preset'] as const;
export type HitKind = (typeof HIT_KINDS)[number];

export interface HitBenchOptions {
  connections: number;
  rounds: number;
  /** Seconds per round and side. */
  seconds: number;
  kinds: readonly HitKind[];
  /** Also disk hits (MEMORY_CACHE_MB=0) against memory hits of the anonymous preset URL. */
  disk: boolean;
  /** Write one CPU profile of the server per kind here (the load only); the floor rounds are then skipped. */
  profileDir?: string;
  /** LOG_LEVEL of the servers (info: every hit writes its access line, as in production). */
  logLevel?: string;
  write(text: string): void;
}

export interface HitRow {
  name: string;
  server: Summary;
  /** The floor (bare node:http) for the hit kinds, the memory hit for `disk`; absent when profiling. */
  ref?: Summary;
  refName: string;
  /** node:http answering imgpath's very headers (hit kinds only, not when profiling). */
  sameHeaders?: Summary;
}

const ADMIN_KEY = 'bench-admin-key-0123456789';
const SIGNING = { kid: 'bench', secret: 'bench-signing-secret-0123456789abcdef' };
const OPTIONS = 'w_300,f_webp';

interface Proc {
  child: ChildProcess;
  url: string;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  if (child.connected) child.send({ type: 'close' });
  else child.kill();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export const hitLine = (label: string, s: Summary) =>
  `  ${label.padEnd(16)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(1).padStart(5)} ms  p99 ${s.p99.toFixed(1).padStart(5)} ms  CPU ${s.cpuUs.toFixed(0).padStart(4)} µs/req  errors ${s.errors}\n`;

export function hitTable(rows: HitRow[]): string {
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const cells = rows.map((r) => {
    const ref = r.ref;
    const same = r.sameHeaders;
    return [
      r.name,
      r.server.rps.toFixed(0),
      r.server.p50.toFixed(1),
      r.server.p99.toFixed(1),
      r.server.cpuUs.toFixed(0),
      r.refName,
      ref ? ref.rps.toFixed(0) : '—',
      ref ? ref.p99.toFixed(1) : '—',
      ref ? ref.cpuUs.toFixed(0) : '—',
      ref ? x(r.server.rps, ref.rps) : '—',
      // Reference µs per request / the server's: what the ratio would be on cores of its own.
      ref && r.server.cpuUs > 0 ? x(ref.cpuUs, r.server.cpuUs) : '—',
      same ? `${same.rps.toFixed(0)} (${x(r.server.rps, same.rps)})` : '—',
    ].join(' | ');
  });
  return (
    '| hit | req/s | p50 ms | p99 ms | CPU µs/req | reference | ref req/s | ref p99 ms | ref CPU µs/req | ratio | CPU ratio | node:http with imgpath headers req/s (ratio) |\n' +
    `|---|---|---|---|---|---|---|---|---|---|---|---|\n${cells.map((c) => `| ${c} |`).join('\n')}\n`
  );
}

export async function hitBench(opts: HitBenchOptions): Promise<HitRow[]> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-hit-'));
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(tmp, 'data'),
    CACHE_DIR: path.join(tmp, 'cache'),
    IMPORT_SAMPLES: 'true',
    INBOX_DIR: 'off',
    LOG_LEVEL: opts.logLevel ?? 'info',
    NODE_ENV: 'production',
    ADMIN_API_KEY: ADMIN_KEY,
    SIGNING_KEYS: `${SIGNING.kid}:${SIGNING.secret}`,
    JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123456789',
  };
  const children: ChildProcess[] = [];
  const start = async (extra: Record<string, string> = {}) => {
    const child = forkTs('server-child.ts', { ...env, ...extra });
    children.push(child);
    const ready = await nextMessage<{ url: string; images: Array<{ id: string; filename: string | null }> }>(child, 'ready', 120_000);
    return { child, url: ready.url, images: ready.images };
  };
  const rows: HitRow[] = [];
  try {
    const server = await start();
    const id = server.images.find((i) => i.filename === 'sunset-12mp.jpg')!.id;
    const put = await fetch(`${server.url}/presets`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hit', options: OPTIONS }),
    });
    if (!put.ok) throw new Error(`POST /presets: ${put.status} ${await put.text()}`);
    const paths: Record<HitKind, string> = {
      signed: signedImagePath(id, OPTIONS, SIGNING),
      key: `/img/${OPTIONS}/${id}?key=${ADMIN_KEY}`,
      preset: `/img/t_hit/${id}`,
    };
    // Render once, then every kind must answer the same bytes from the memory tier.
    const { body, headers } = await warm(server, Object.values(paths), 'HIT-MEMORY');
    const floor = await staticChild(children, { body: body.toString('base64'), contentType: 'image/webp' });
    const sameHeaders = await staticChild(children, { body: body.toString('base64'), contentType: 'image/webp', headers });
    const bare = floor.child;

    opts.write(
      `hits: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}; ` +
        `${opts.connections} connections, ${opts.rounds}x${opts.seconds}s ABBA rounds per kind; load average ${loadavg()}` +
        `${opts.profileDir ? '; server profiled, floor skipped' : ''}\n`,
    );
    for (const kind of opts.kinds) {
      const a = () => http({ url: server.url, paths: [paths[kind]], connections: opts.connections, seconds: opts.seconds, pid: server.child.pid! });
      const b = () => http({ url: floor.url, paths: ['/'], connections: opts.connections, seconds: opts.seconds, pid: bare.pid! });
      // Unmeasured: the first second of load compiles the hot path (and teaches the memo) on either side.
      await http({ url: server.url, paths: [paths[kind]], connections: opts.connections, seconds: 1, pid: server.child.pid! });
      await http({ url: floor.url, paths: ['/'], connections: opts.connections, seconds: 1, pid: bare.pid! });
      if (opts.profileDir) {
        const file = path.resolve(opts.profileDir, `hit-${kind}.cpuprofile`);
        const s = summarize(await profiled(server.child, file, opts.rounds, a));
        opts.write(`${kind}  ${paths[kind].replace(ADMIN_KEY, '…')}  (profile: ${path.relative(process.cwd(), file)})\n${hitLine('server', s)}`);
        rows.push({ name: kind, server: s, refName: 'node:http' });
        continue;
      }
      const c = () => http({ url: sameHeaders.url, paths: ['/'], connections: opts.connections, seconds: opts.seconds, pid: sameHeaders.child.pid! });
      await http({ url: sameHeaders.url, paths: ['/'], connections: opts.connections, seconds: 1, pid: sameHeaders.child.pid! });
      const [s, f, h] = await alternate3(opts.rounds, a, b, c);
      server.child.send({ type: 'stats' });
      const { memo } = await nextMessage<{ memo: Record<string, number> }>(server.child, 'stats');
      opts.write(
        `${kind}  ${paths[kind].replace(ADMIN_KEY, '…')}\n${hitLine('server', s)}${hitLine('node:http floor', f)}${hitLine('same headers', h)}` +
          `  ratio ${(s.rps / f.rps).toFixed(2)}x (to node:http with imgpath's headers ${(s.rps / h.rps).toFixed(2)}x); hit memo so far ${JSON.stringify(memo)}\n`,
      );
      rows.push({ name: kind, server: s, ref: f, refName: 'node:http', sameHeaders: h });
    }
    if (opts.disk) {
      // A second process over the same data and cache folders with its memory tier off: each of its hits reads the disk tier.
      const disk = await start({ MEMORY_CACHE_MB: '0' });
      await warm(disk, [paths.preset], 'HIT-DISK');
      const a = () => http({ url: disk.url, paths: [paths.preset], connections: opts.connections, seconds: opts.seconds, pid: disk.child.pid! });
      const b = () => http({ url: server.url, paths: [paths.preset], connections: opts.connections, seconds: opts.seconds, pid: server.child.pid! });
      await http({ url: disk.url, paths: [paths.preset], connections: opts.connections, seconds: 1, pid: disk.child.pid! });
      if (opts.profileDir) {
        const file = path.resolve(opts.profileDir, 'hit-disk.cpuprofile');
        const d = summarize(await profiled(disk.child, file, opts.rounds, a));
        opts.write(`disk  ${paths.preset} (MEMORY_CACHE_MB=0; profile: ${path.relative(process.cwd(), file)})\n${hitLine('disk hit', d)}`);
        rows.push({ name: 'disk', server: d, refName: 'memory hit' });
      } else {
        const [d, m] = await alternate(opts.rounds, a, b);
        opts.write(
          `disk  ${paths.preset} (MEMORY_CACHE_MB=0 process vs the memory one)\n${hitLine('disk hit', d)}${hitLine('memory hit', m)}  ratio ${(d.rps / m.rps).toFixed(2)}x\n`,
        );
        rows.push({ name: 'disk', server: d, ref: m, refName: 'memory hit' });
      }
    }
    opts.write(`load average at end ${loadavg()}\n`);
  } finally {
    for (const child of children) await stop(child).catch(() => child.kill('SIGKILL'));
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return rows;
}

/** `rounds` runs of `run` with the server child's CPU profile recorded around them, written to `file`. */
async function profiled(child: ChildProcess, file: string, rounds: number, run: () => Promise<Sample>): Promise<Sample[]> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  child.send({ type: 'profile-start' });
  await nextMessage(child, 'profiling');
  const samples: Sample[] = [];
  for (let k = 0; k < rounds; k++) samples.push(await run());
  child.send({ type: 'profile-stop', file });
  await nextMessage(child, 'profiled');
  return samples;
}

/** A static-child.ts floor answering `job`. */
async function staticChild(children: ChildProcess[], job: { body: string; contentType: string; headers?: Array<[string, string]> }): Promise<Proc> {
  const child = forkTs('static-child.ts');
  children.push(child);
  child.send(job);
  return { child, url: (await nextMessage<{ url: string }>(child)).url };
}

/** Headers a server answers per request or per connection, left out of what a floor repeats. */
const PER_REQUEST = new Set(['date', 'connection', 'keep-alive', 'x-request-id', 'transfer-encoding']);

/**
 * Requests each path until it answers from `tier` (a miss renders and stores it first); the bytes,
 * the same for every path, and the last answer's headers less those made per request.
 */
async function warm(server: { url: string }, paths: string[], tier: string): Promise<{ body: Buffer; headers: Array<[string, string]> }> {
  let body: Buffer | undefined;
  let headers: Array<[string, string]> = [];
  for (const p of paths) {
    for (let i = 0; ; i++) {
      const res = await fetch(`${server.url}${p}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`${p}: ${res.status} ${bytes}`);
      if (body && !bytes.equals(body)) throw new Error(`${p}: different bytes`);
      body = bytes;
      headers = [...res.headers].filter(([name]) => !PER_REQUEST.has(name));
      if (res.headers.get('x-cache') === tier) break;
      if (i === 20) throw new Error(`${p}: X-Cache ${res.headers.get('x-cache')}, never ${tier}`);
      // The disk copy is written in the background after a render.
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { body: body!, headers };
}

/** ABC then CBA: three sides alternating, so a change in the machine's load meets each alike. */
async function alternate3(rounds: number, a: () => Promise<Sample>, b: () => Promise<Sample>, c: () => Promise<Sample>) {
  const out: Sample[][] = [[], [], []];
  const sides = [a, b, c];
  for (let k = 0; k < rounds; k++) {
    const order = k % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
    for (const i of order) out[i].push(await sides[i]());
  }
  return out.map(summarize) as [Summary, Summary, Summary];
}

/** ABBA: round k runs `a` first when k is even, `b` first when odd. */
async function alternate(rounds: number, a: () => Promise<Sample>, b: () => Promise<Sample>) {
  const as: Sample[] = [];
  const bs: Sample[] = [];
  for (let k = 0; k < rounds; k++) {
    if (k % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return [summarize(as), summarize(bs)] as const;
}

function loadavg() {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
