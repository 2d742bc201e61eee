/**
 * `npm run bench:hit`: memory hits only, the three ways one arrives (signed URL, `?key=` API key,
 * anonymous public preset `t_…`), each against bare node:http answering the same bytes (the
 * floor, static-child.ts), 64 connections, short rounds alternating ABBA. A minute or two on
 * 2 cores, so a change to the hit path can be measured without the whole `npm run bench`.
 *
 * BENCH_HIT_PROFILE=<dir>: the server child runs under `--cpu-prof` and writes its profile there
 * on exit (summarise with bench/profile-top.ts). BENCH_HIT_KINDS=signed,key,preset picks kinds;
 * BENCH_HIT_ROUNDS / BENCH_HIT_SECONDS size the rounds. It reports; it never asserts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signedImagePath } from '../src/auth/signature.js';
import { forkTs, nextMessage } from './children.js';
import { http, summarize, type Sample, type Summary } from './load.js';

const CONNECTIONS = 64;
const ROUNDS = Number(process.env.BENCH_HIT_ROUNDS ?? 4);
const ROUND_SECONDS = Number(process.env.BENCH_HIT_SECONDS ?? 3);
const KINDS = (process.env.BENCH_HIT_KINDS ?? 'signed,key,preset').split(',');
const PROFILE_DIR = process.env.BENCH_HIT_PROFILE;
const cores = os.availableParallelism();

const ADMIN_KEY = 'bench-admin-key-0123456789';
const SIGNING = { kid: 'bench', secret: 'bench-signing-secret-0123456789abcdef' };
const OPTIONS = 'w_300,f_webp';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-hit-'));
const env: Record<string, string | undefined> = {
  ...process.env,
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: path.join(tmp, 'data'),
  CACHE_DIR: path.join(tmp, 'cache'),
  IMPORT_SAMPLES: 'true',
  INBOX_DIR: 'off',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  NODE_ENV: 'production',
  ADMIN_API_KEY: ADMIN_KEY,
  SIGNING_KEYS: `${SIGNING.kid}:${SIGNING.secret}`,
  JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123456789',
};

const server = forkTs('server-child.ts', env, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`] : []);
const bare = forkTs('static-child.ts');
const line = (label: string, s: Summary) =>
  `  ${label.padEnd(16)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(1).padStart(5)} ms  p99 ${s.p99.toFixed(1).padStart(5)} ms  errors ${s.errors}\n`;

try {
  const ready = await nextMessage<{ url: string; images: Array<{ id: string; filename: string | null }> }>(server, 'ready', 120_000);
  const id = ready.images.find((i) => i.filename === 'sunset-12mp.jpg')!.id;
  const put = await fetch(`${ready.url}/presets`, {
    method: 'POST',
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'hit', options: OPTIONS }),
  });
  if (!put.ok) throw new Error(`POST /presets: ${put.status} ${await put.text()}`);
  const paths: Record<string, string> = {
    signed: signedImagePath(id, OPTIONS, SIGNING),
    key: `/img/${OPTIONS}/${id}?key=${ADMIN_KEY}`,
    preset: `/img/t_hit/${id}`,
  };
  // Render once, then every kind must answer the same bytes from the memory tier.
  let body: Buffer | undefined;
  for (const kind of KINDS) {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${ready.url}${paths[kind]}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`${kind}: ${res.status} ${bytes}`);
      if (body && !bytes.equals(body)) throw new Error(`${kind}: different bytes`);
      body = bytes;
      if (i === 1 && res.headers.get('x-cache') !== 'HIT-MEMORY') throw new Error(`${kind}: X-Cache ${res.headers.get('x-cache')}`);
    }
  }
  bare.send({ body: body!.toString('base64'), contentType: 'image/webp' });
  const bareUrl = (await nextMessage<{ url: string }>(bare)).url;

  process.stdout.write(
    `imgpath hit bench: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}; ` +
      `${CONNECTIONS} connections, ${ROUNDS}x${ROUND_SECONDS}s ABBA rounds per kind; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}${PROFILE_DIR ? '; server under --cpu-prof' : ''}\n`,
  );
  const run = (url: string, pid: number, p: string) => () => http({ url, paths: [p], connections: CONNECTIONS, seconds: ROUND_SECONDS, pid });
  const rows: string[] = [];
  for (const kind of KINDS) {
    const a = run(ready.url, server.pid!, paths[kind]);
    const b = run(bareUrl, bare.pid!, '/');
    const as: Sample[] = [];
    const bs: Sample[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      // ABBA; under --cpu-prof the floor is skipped (the profile is of the server alone).
      if (PROFILE_DIR) as.push(await a());
      else if (k % 2 === 0) {
        as.push(await a());
        bs.push(await b());
      } else {
        bs.push(await b());
        as.push(await a());
      }
    }
    const s = summarize(as);
    const f = bs.length ? summarize(bs) : undefined;
    process.stdout.write(
      `${kind}  ${paths[kind].replace(ADMIN_KEY, '…')}\n${line('server', s)}${f ? `${line('node:http floor', f)}  ratio ${(s.rps / f.rps).toFixed(2)}x\n` : ''}`,
    );
    rows.push(
      `| ${kind} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${f ? f.rps.toFixed(0) : '—'} | ${f ? f.p99.toFixed(1) : '—'} | ${f ? (s.rps / f.rps).toFixed(2) : '—'}x |`,
    );
  }
  process.stdout.write(`\n| hit | req/s | p50 ms | p99 ms | floor req/s | floor p99 ms | ratio |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
} finally {
  bare.kill();
  if (server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.send({ type: 'close' });
    const timer = setTimeout(() => server.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  await fs.rm(tmp, { recursive: true, force: true });
}
