import type { Db } from '../db/client.js';
import type { ClusterRepo } from './cluster.js';
import type { ChangeMark } from '../db/changes.js';
import type { DirectUploadsRepo } from './direct-uploads.js';
import type { ImagesRepo } from './images.js';
import type { OriginsRepo } from './origins.js';
import type { PresetsRepo } from './presets.js';
import type { RenditionsRepo } from './renditions.js';
import { sqliteDirectUploadsRepo } from './sqlite/direct-uploads.js';
import type { KeysRepo } from './keys.js';
import { sqliteKeysRepo } from './sqlite/keys.js';
import { sqliteImagesRepo } from './sqlite/images.js';
import { sqliteOriginsRepo } from './sqlite/origins.js';
import { sqlitePresetsRepo } from './sqlite/presets.js';
import { sqliteRenditionsRepo } from './sqlite/renditions.js';
import { sqliteTasksRepo } from './sqlite/tasks.js';
import { sqliteUsageRepo } from './sqlite/usage.js';
import { sqliteUsersRepo } from './sqlite/users.js';
import type { TasksRepo } from './tasks.js';
import type { UsageRepo } from './usage.js';
import type { UsersRepo } from './users.js';

/**
 * Data access, one repository per aggregate (issue 12 item 5). Routes and the image core use
 * these, never drizzle or the schema's tables, so a second database (issue 13) is one more
 * `create<Db>Repos` behind the same interfaces. Methods are async even where SQLite is not.
 * Every implementation passes test/repos/contract.ts.
 */
export interface Repos {
  /** Moves whenever the database may have changed: the hit path's row caches check it (src/db/changes.ts). */
  changes: ChangeMark;
  /**
   * Other processes use this database at the same time (PostgreSQL: the other nodes). When false,
   * this process is the whole cluster, so at start whatever was left running is its own to take back.
   */
  shared: boolean;
  /** Settings, leases and locks of the nodes sharing the database: with `shared` only (PostgreSQL). */
  cluster?: ClusterRepo;
  tasks: TasksRepo;
  /** The disk cache's index. */
  renditions: RenditionsRepo;
  /** Images with their tags, names (public ids, aliases, retired names) and variants; the hit path's row lookup. */
  images: ImagesRepo;
  /** Remote originals' sources (src/origins): their image rows are the images repo's. */
  origins: OriginsRepo;
  /** Presets (`t_{name}`); the hit path's preset lookup. */
  presets: PresetsRepo;
  /** Direct uploads (STORAGE=s3) waiting for their complete. */
  directUploads: DirectUploadsRepo;
  /** Answers once the database takes a query (the /readyz check); rejects when it does not. */
  ping(): Promise<void>;
  /** Closes the connection(s) beneath; the repositories are unusable afterwards. */
  close(): Promise<void>;
  users: UsersRepo;
  keys: KeysRepo;
  /** Per-key usage counters, written in batches (src/auth/usage.ts). */
  usage: UsageRepo;
}

/** Repositories over one better-sqlite3 connection (opened by `openDb`, which also made its change mark). */
export function createSqliteRepos(db: Db): Repos {
  const ping = db.$client.prepare('SELECT 1');
  return {
    changes: db.changes,
    shared: false,
    tasks: sqliteTasksRepo(db),
    renditions: sqliteRenditionsRepo(db),
    images: sqliteImagesRepo(db),
    origins: sqliteOriginsRepo(db),
    presets: sqlitePresetsRepo(db),
    directUploads: sqliteDirectUploadsRepo(db),
    users: sqliteUsersRepo(db),
    keys: sqliteKeysRepo(db),
    usage: sqliteUsageRepo(db),
    async ping() {
      ping.get();
    },
    async close() {
      if (db.$client.open) db.$client.close();
    },
  };
}
