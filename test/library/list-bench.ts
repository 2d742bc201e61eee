/**
 * How GET /images behaves at 100k images (not a test: run `npx tsx test/library/list-bench.ts`).
 * Inserts rows straight into SQLite (listing never decodes images), then times the real route
 * through app.request for shallow and deep pages, offset vs cursor, and with filters.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { images, imageTags, users } from '../../src/db/schema.js';
import { principalForKey } from '../../src/auth/credentials.js';
import { listImages } from '../../src/library/images.js';
import { listQuerySchema } from '../../src/library/schemas.js';
import { testApp } from '../helpers/app.js';

const N = Number(process.argv[2] ?? 100_000);
const RUNS = 60;

const t = await testApp({ RATE_LIMIT_API_PER_MIN: '0' });
const user = t.deps.db.insert(users).values({ username: 'bench', passwordHash: 'x' }).returning().get();
const { key: userKey } = await t.deps.keys.create({ userId: user.id, scopes: ['upload', 'deliver'] });

const started = performance.now();
t.deps.db.transaction((tx) => {
  for (let i = 0; i < N; i += 1000) {
    const rows = [];
    const tags = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      const id = `b${j.toString(36).padStart(8, '0')}`;
      rows.push({
        id,
        ownerId: j % 2 === 0 ? user.id : null,
        hash: `h${j}`,
        format: 'jpeg',
        width: 100 + (j % 50),
        height: 100,
        bytes: 1000,
        orientation: (j % 3 === 0 ? 'portrait' : 'landscape') as 'portrait' | 'landscape',
        collection: j % 10 === 0 ? 'tenth' : null,
        // A few hundred images per second, as a busy import would make.
        createdAt: 1_700_000_000 + Math.floor(j / 300),
      });
      if (j % 7 === 0) tags.push({ imageId: id, tag: 'seventh' });
    }
    tx.insert(images).values(rows).run();
    if (tags.length) tx.insert(imageTags).values(tags).run();
  }
});
t.deps.db.run(sql`ANALYZE`);
console.log(`inserted ${N} rows in ${(performance.now() - started).toFixed(0)} ms`);

const median = (ms: number[]) => ms.sort((a, b) => a - b)[ms.length >> 1];

/** Median of the whole HTTP request (auth, validation, JSON) and of the queries alone (listImages). */
async function time(label: string, path: string, key = t.adminKey) {
  const http: number[] = [];
  const queries: number[] = [];
  let total = 0;
  const principal = (await principalForKey(t.deps, key))!;
  const query = listQuerySchema.parse(Object.fromEntries(new URL(path, 'http://x').searchParams));
  for (let i = 0; i < RUNS; i++) {
    let s = performance.now();
    const res = await t.request(path, { headers: { 'X-API-Key': key } });
    const body = (await res.json()) as any;
    http.push(performance.now() - s);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    total = body.total;
    if (path.startsWith('/images')) {
      s = performance.now();
      await listImages(t.deps, principal, query);
      queries.push(performance.now() - s);
    }
  }
  const q = queries.length ? median(queries).toFixed(2) : '-';
  console.log(`${label.padEnd(44)} request ${median(http).toFixed(2).padStart(6)} ms   queries ${q.padStart(6)} ms   total=${total ?? '-'}`);
}

const lastPage = Math.ceil(N / 20);
await time('baseline: GET /presets (auth + routing only)', '/presets');
const deep = (await (await t.request(`/images?limit=20&page=${lastPage - 1}`, { headers: { 'X-API-Key': t.adminKey } })).json()) as any;
await time('admin page 1', '/images?limit=20');
await time('admin page 100', '/images?limit=20&page=100');
await time(`admin page ${lastPage} (last, offset ${(lastPage - 1) * 20})`, `/images?limit=20&page=${lastPage}`);
await time('admin cursor at the same depth', `/images?limit=20&cursor=${deep.nextCursor}`);
await time('user (owns half) page 1', '/images?limit=20', userKey);
await time(`user page ${Math.floor(lastPage / 2)} (last)`, `/images?limit=20&page=${Math.floor(lastPage / 2)}`, userKey);
await time('admin tag=seventh page 1', '/images?limit=20&tag=seventh');
await time('admin tag=seventh page 500', '/images?limit=20&tag=seventh&page=500');
const tagDeep = (await (await t.request('/images?limit=20&tag=seventh&page=499', { headers: { 'X-API-Key': t.adminKey } })).json()) as any;
await time('admin tag=seventh cursor at page 500', `/images?limit=20&tag=seventh&cursor=${tagDeep.nextCursor}`);
const userDeep = (await (await t.request(`/images?limit=20&page=${Math.floor(lastPage / 2) - 1}`, { headers: { 'X-API-Key': userKey } })).json()) as any;
await time('user cursor at the last page', `/images?limit=20&cursor=${userDeep.nextCursor}`, userKey);
await time('admin collection=tenth page 1', '/images?limit=20&collection=tenth');
await time('admin orientation=portrait page 1', '/images?limit=20&orientation=portrait');
await time('admin limit=100 page 1', '/images?limit=100');

for (const [label, q] of [
  ['offset, owner', sql`EXPLAIN QUERY PLAN SELECT * FROM images WHERE owner_id = 1 ORDER BY created_at DESC, id DESC LIMIT 21 OFFSET 40000`],
  ['cursor, all', sql`EXPLAIN QUERY PLAN SELECT * FROM images WHERE (created_at, id) < (1700000100, 'x') ORDER BY created_at DESC, id DESC LIMIT 21`],
  ['count, owner', sql`EXPLAIN QUERY PLAN SELECT count(*) FROM images WHERE owner_id = 1`],
] as const) {
  console.log(
    label,
    t.deps.db
      .all<{ detail: string }>(q)
      .map((r) => r.detail)
      .join(' | '),
  );
}
await t.cleanup();
