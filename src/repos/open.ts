import { localBus, type ChangeBus } from '../cluster/bus.js';
import type { Config } from '../config.js';
import { openDb, type Db } from '../db/client.js';
import type { Logger } from '../log.js';
import { createSqliteRepos, type Repos } from './index.js';
import type { RenditionsRepo } from './renditions.js';
import { sqliteRenditionsRepo } from './sqlite/renditions.js';

/** The databases of one process, as the configuration names them. */
export interface OpenedData {
  /**
   * This node's SQLite file (`config.indexFile`): the whole library without DATABASE_URL; with it,
   * only the index of this node's disk tier, whose files are this node's alone.
   */
  db: Db;
  /** The library, users, keys, presets and tasks: SQLite, or PostgreSQL shared by every node. */
  repos: Repos;
  /** Other nodes' changes (PostgreSQL LISTEN/NOTIFY); the single-node bus on SQLite. */
  bus: ChangeBus;
  /** The shared rendition tier's index (RENDITIONS_STORE=s3 reads it): PostgreSQL only. */
  sharedRenditions?: RenditionsRepo;
}

export interface OpenOptions {
  log?: Pick<Logger, 'warn'>;
  /** False: no listening connection (a CLI command that writes and exits: the database tells the nodes itself). */
  listen?: boolean;
  /** A SQLite handle already open on `config.indexFile` (tests). */
  db?: Db;
}

/**
 * SQLite in DATA_DIR, or PostgreSQL on DATABASE_URL (migrated at open; concurrent starts of several
 * nodes are safe) with the cluster bus. On PostgreSQL, `repos.renditions` stays this node's (the
 * disk tier is local); the shared tier's index is `sharedRenditions`.
 */
export async function openData(config: Config, opts: OpenOptions = {}): Promise<OpenedData> {
  const db = opts.db ?? openDb(config.indexFile);
  const url = config.DATABASE_URL;
  if (!url) return { db, repos: createSqliteRepos(db), bus: localBus() };
  // Loaded only here: a SQLite start never pays for the pg driver.
  const [{ openPg }, { pgBus }, { createPgRepos }, { pgRenditionsRepo }] = await Promise.all([
    import('../db/pg/client.js'),
    import('../cluster/pg-bus.js'),
    import('./pg/index.js'),
    import('./pg/renditions.js'),
  ]);
  const onError = (err: Error) => opts.log?.warn({ err: err.message }, 'PostgreSQL connection error');
  let pg: Awaited<ReturnType<typeof openPg>>;
  try {
    pg = await openPg(url, { node: config.NODE_NAME, onError });
  } catch (err) {
    db.$client.close();
    throw err;
  }
  let bus: ChangeBus = localBus();
  if (opts.listen !== false) {
    const listening = pgBus(url, pg.$client, { node: config.NODE_NAME, onError });
    await listening.ready;
    bus = listening;
  }
  const shared = createPgRepos(pg, { bus });
  const repos: Repos = {
    ...shared,
    renditions: sqliteRenditionsRepo(db),
    async close() {
      // The listening connection first: left open it would keep a CLI process alive.
      await bus.close();
      await shared.close();
      if (db.$client.open) db.$client.close();
    },
  };
  // Not through the change mark: the shared tier writes after every render, and no row cache depends on it.
  return { db, repos, bus, sharedRenditions: pgRenditionsRepo(pg) };
}
