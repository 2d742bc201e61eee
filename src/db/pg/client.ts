import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from './schema.js';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations-pg');

/**
 * A pool on DATABASE_URL, brought to the current schema (concurrent starts of several nodes are
 * safe: see migratePg). `node` names the connections (application_name): the change notifications
 * carry it, so this node can skip its own writes (src/cluster/pg-bus.ts).
 */
export async function openPg(url: string, opts: { node: string; max?: number; onError?: (err: Error) => void }): Promise<PgDb> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, application_name: opts.node });
  // An idle pooled connection cut by the server (a restart, a failover) is dropped and replaced on
  // the next query; unhandled, its 'error' event would end the process.
  pool.on('error', (err) => opts.onError?.(err));
  const db = drizzle(pool, { schema }) as PgDb;
  await migratePg(db);
  return db;
}

/**
 * Apply the committed migrations. Several nodes may start at once: an advisory lock makes the
 * second wait for the first instead of both creating the same tables.
 */
export async function migratePg(db: PgDb) {
  const client = await db.$client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(7411502)');
    await migrate(drizzle(client, { schema }), { migrationsFolder });
  } finally {
    await client.query('SELECT pg_advisory_unlock(7411502)').catch(() => {});
    client.release();
  }
}
