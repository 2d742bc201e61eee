/**
 * How a random pick scales with the library: 1k vs 100k images, in-process (no socket).
 *   npx tsx bench/random.ts [sizes...]        e.g. npx tsx bench/random.ts 1000 100000
 * Rows are synthetic (no original bytes): only picks and redirects are measured, never renders.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { libraryPool } from '../src/random/library-pool.js';
import { pickOne } from '../src/random/pick.js';
import type { RandomFilters } from '../src/random/pool.js';
import { ANONYMOUS } from '../src/auth/principal.js';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const SIZES = sizes.length ? sizes : [1_000, 100_000];

async function library(n: number) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-bench-random-'));
  const config = loadConfig({
    DATA_DIR: path.join(dir, 'data'),
    CACHE_DIR: path.join(dir, 'cache'),
    LOG_LEVEL: 'silent',
    IMPORT_SAMPLES: 'false',
    INBOX_DIR: 'off',
  });
  const deps = await createDeps(config);
  const db = deps.db.$client;
  const users = db.prepare("insert into users (username, password_hash) values (?, 'x')");
  for (let u = 1; u <= 20; u++) users.run(`user${u}`);
  const insert = db.prepare(
    'insert into images (id, owner_id, hash, format, width, height, bytes, orientation, visibility, collection, tags) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const tag = db.prepare('insert into image_tags (image_id, tag) values (?, ?)');
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const width = 400 + Math.floor(rnd() * 5600);
      const height = 400 + Math.floor(rnd() * 5600);
      const orientation = Math.abs(width - height) <= Math.max(width, height) * 0.02 ? 'square' : width > height ? 'landscape' : 'portrait';
      const priv = rnd() < 0.1;
      const tags = [...new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => `tag${Math.floor(rnd() * 50)}`))];
      const id = `b${i.toString(36).padStart(8, '0')}`;
      insert.run(
        id,
        priv ? 1 + Math.floor(rnd() * 20) : null,
        `h${i}`,
        'jpeg',
        width,
        height,
        1000,
        orientation,
        priv ? 'private' : 'public',
        `col${Math.floor(rnd() * 10)}`,
        JSON.stringify(tags),
      );
      for (const t of tags) tag.run(id, t);
    }
  })();
  return { dir, deps };
}

function measure(label: string, iterations: number, fn: () => unknown) {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const us = ((performance.now() - start) * 1000) / iterations;
  return { label, us };
}

async function measureAsync(label: string, iterations: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(50, iterations); i++) await fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return { label, us: ((performance.now() - start) * 1000) / iterations };
}

const filterCases: Array<[string, RandomFilters]> = [
  ['no filter', {}],
  ['orientation', { orientation: 'portrait' }],
  ['collection+orientation+min_width', { collection: 'col3', orientation: 'landscape', minWidth: 3000 }],
  ['tag', { tag: 'tag7' }],
  ['tag+collection (intersection bucket)', { tag: 'tag7', collection: 'col3' }],
];

const table: Record<string, Record<string, string>> = {};
for (const n of SIZES) {
  const { dir, deps } = await library(n);
  const col = `${n.toLocaleString('en')} images`;
  const put = (label: string, value: string) => ((table[label] ??= {})[col] = value);
  const lp = libraryPool(deps);
  const loadStart = performance.now();
  await lp.ready();
  put('load from DB (ms, once at start)', (performance.now() - loadStart).toFixed(1));
  const reloadStart = performance.now();
  await lp.reload();
  put('background reload (ms wall, chunked)', (performance.now() - reloadStart).toFixed(1));
  put('heap used after load (MB)', (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0));

  const pool = lp.pool;
  for (const [name, f] of filterCases) {
    const r = measure(name, 100_000, () => pool.pick(f, ['pub', 'own:3'], Math.random()));
    put(`pool.pick: ${name} (µs)`, r.us.toFixed(2));
  }
  put('pool.sample 12 distinct (µs)', measure('sample', 20_000, () => pool.sample({}, ['pub'], 12, Math.random)).us.toFixed(2));
  put(
    'pickOne incl. DB row check (µs)',
    (await measureAsync('pickOne', 20_000, () => pickOne(deps, ANONYMOUS, { orientation: 'landscape' }, { kind: 'random' }))).us.toFixed(2),
  );
  put(
    'pickOne seeded (µs)',
    (await measureAsync('seeded', 20_000, () => pickOne(deps, ANONYMOUS, {}, { kind: 'seed', seed: `s${Math.random()}` }))).us.toFixed(2),
  );

  const app = createApp(deps);
  const redirect = await measureAsync('GET /random', 3000, async () => {
    const res = await app.request('/random?orientation=landscape&min_width=2000');
    if (res.status !== 302) throw new Error(`unexpected ${res.status}`);
  });
  put('GET /random → 302, in-process (µs)', redirect.us.toFixed(0));
  const json = await measureAsync('GET /random.json?count=12', 1000, async () => {
    const res = await app.request('/random.json?count=12');
    if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
    await res.arrayBuffer();
  });
  put('GET /random.json?count=12, in-process (µs)', json.us.toFixed(0));

  deps.db.$client.close();
  await fs.rm(dir, { recursive: true, force: true });
}

console.log(`random pick benchmark (node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'})`);
console.table(table);
