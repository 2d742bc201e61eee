/**
 * `npx tsx bench/origins.ts`: what a first request for a remote original costs (fetch from the
 * origin, sniff, probe, placeholder, store, then render) against a later miss on the same image
 * (render from the stored original) and a hit. The origin is a real HTTP server on 127.0.0.1
 * (so the network part is the floor: loopback); the app runs in-process on temp directories.
 * Reports only.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../src/app.js';
import { SAMPLES_DIR } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { createDeps } from '../src/deps.js';

const RUNS = Number(process.env.RUNS ?? 7);
const files = ['dune-2mp.jpg', 'sunset-12mp.jpg'];
const bytes = new Map(files.map((f) => [f, fs.readFileSync(path.join(SAMPLES_DIR, f))]));

const origin = http.createServer((req, res) => {
  const name = /^\/media\/\d+-(.+)$/.exec(req.url ?? '')?.[1];
  const body = name && bytes.get(name);
  if (!body) return void res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': body.length, ETag: `"${body.length}"` }).end(body);
});
await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
const port = (origin.address() as AddressInfo).port;

const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'imgpath-origins-'));
const config = loadConfig({
  DATA_DIR: path.join(tmp, 'data'),
  CACHE_DIR: path.join(tmp, 'cache'),
  LOG_LEVEL: 'silent',
  IMPORT_SAMPLES: 'false',
  INBOX_DIR: 'off',
  ALLOW_UNSIGNED_TRANSFORMS: 'true',
  RATE_LIMIT_MISS_PER_MIN: '0',
  ORIGINS: `blog=http://127.0.0.1:${port}/media/`,
  ORIGINS_ALLOW_PRIVATE: 'blog',
});
const deps = await createDeps(config);
const app = createApp(deps);

async function timed(url: string): Promise<number> {
  const started = performance.now();
  const res = await app.request(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return performance.now() - started;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

process.stdout.write(`imgpath origins  ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores, Node ${process.version}, ${RUNS} runs, medians\n`);
try {
  for (const file of files) {
    const first: number[] = [];
    const later: number[] = [];
    const hit: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // A new path each run: a first use every time (the same bytes, so the store write is idempotent).
      const p = `@blog/${i}-${file}`;
      first.push(await timed(`/img/w_400/${p}`));
      later.push(await timed(`/img/w_401/${p}`));
      hit.push(await timed(`/img/w_400/${p}`));
    }
    const kb = Math.round(bytes.get(file)!.length / 1024);
    process.stdout.write(
      `  ${file.padEnd(16)} ${kb} KB  first (remote) miss ${median(first).toFixed(0)} ms   later miss ${median(later).toFixed(0)} ms   hit ${median(hit).toFixed(1)} ms\n`,
    );
  }
} finally {
  await deps.cache.close();
  deps.db.$client.close();
  origin.close();
  await fsp.rm(tmp, { recursive: true, force: true });
}
