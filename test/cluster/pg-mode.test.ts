import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../ops/cli.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

// DATABASE_URL selects PostgreSQL for everything shared; this node's disk tier keeps its own index (issue 13).
let server: PostgresServer;
const apps: TestApp[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const t of apps) {
    await t.deps.repos.close();
    await t.cleanup();
  }
  await server?.stop();
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('DATABASE_URL', () => {
  it('keeps the library in PostgreSQL and the disk tier index in CACHE_DIR; a render is cached as on SQLite', async () => {
    const url = await server.createDatabase();
    const t = await testApp({ DATABASE_URL: url, NODE_NAME: 'solo' });
    apps.push(t);
    expect(t.deps.repos.shared).toBe(true);
    const id = await t.seed('dune-2mp.jpg');
    expect(await query(url, 'SELECT id FROM images')).toEqual([{ id }]);

    const get = () => t.request(`/img/w_120,f_webp/${id}`, { headers: { 'X-API-Key': t.adminKey } });
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect((await get()).headers.get('x-cache')).toBe('HIT-MEMORY');
    await t.deps.cache.settle?.();
    // The file is this node's: indexed beside it, never in the shared database.
    expect(t.deps.config.indexFile).toBe(path.join(t.deps.config.cacheDir, 'index.db'));
    expect(fs.existsSync(t.deps.config.indexFile)).toBe(true);
    expect(await t.deps.repos.renditions.totals()).toMatchObject({ entries: 1 });
    expect(await query(url, 'SELECT key FROM renditions')).toEqual([]);
    expect(fs.existsSync(t.deps.config.dbFile)).toBe(false);
  });

  it('imgpath db migrate brings the configured PostgreSQL to the current schema and exits', async () => {
    const url = await server.createDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpath-migrate-'));
    try {
      const r = await runCli(
        ['db', 'migrate'],
        { DATABASE_URL: url, DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'silent' },
        dir,
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`PostgreSQL at ${url} is up to date\n`);
      const tables = (await query<{ tablename: string }>(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).map((r) => r.tablename);
      expect(tables).toEqual(expect.arrayContaining(['images', 'presets', 'tasks', 'leases', 'settings']));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
