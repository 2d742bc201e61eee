import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { trackChanges, type ChangeMark } from './changes.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema> & {
  $client: Database.Database;
  /** Moves whenever this database may have changed (src/db/changes.ts): per connection, made with it. */
  changes: ChangeMark;
};

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Open (creating if needed) the SQLite file and bring it to the current schema. `:memory:` for tests. */
export function openDb(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);
  // WAL lets readers (every /img request) run while a writer (upload, import) commits.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Before any statement is prepared (migrations included): a statement prepared unwrapped would write unseen.
  const changes = trackChanges(sqlite);
  const db = Object.assign(drizzle(sqlite, { schema }), { changes }) as Db;
  migrateDb(db);
  return db;
}

export function migrateDb(db: Db) {
  migrate(db, { migrationsFolder });
}
