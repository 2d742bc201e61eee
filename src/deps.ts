import fs from 'node:fs';
import type { Config } from './config.js';
import { ApiKeys } from './auth/keys.js';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords.js';
import { loadClusterSecrets, loadSecrets, type Secrets } from './auth/secrets.js';
import { type AuthState, createAuthState } from './auth/state.js';
import { createCache } from './cache/index.js';
import type { RenditionCache } from './cache/types.js';
import { localBus, type ChangeBus } from './cluster/bus.js';
import { followCluster } from './cluster/follow.js';
import { openDb, type Db } from './db/client.js';
import { createLogger, type Logger } from './log.js';
import type { Repos } from './repos/index.js';
import { openData, type OpenedData } from './repos/open.js';
import { OriginalsCache } from './render/originals-cache.js';
import { LocalStore } from './storage/local.js';
import type { BlobStore } from './storage/store.js';
import type { ImageRow } from './db/schema.js';
import type { Metrics } from './ops/metrics.js';
import type { Origins } from './origins/service.js';
import type { TaskRunner } from './library/tasks.js';
import { LibraryPool } from './random/library-pool.js';
import { cdnPurgerOf, type CdnPurger } from './cluster/cdn-purge.js';
import { HitMemo } from './delivery/hit-memo.js';

/** Everything the app needs from the outside world; tests build their own. */
export interface Deps {
  config: Config;
  /** This node's SQLite: the whole library, or with DATABASE_URL only its disk tier's index (src/repos/open.ts). */
  db: Db;
  /** Data access (src/repos): SQLite over `db`, or PostgreSQL (DATABASE_URL), unless a test brings its own. */
  repos: Repos;
  /** Changes other nodes made (PostgreSQL LISTEN/NOTIFY); nobody to hear from on SQLite (src/cluster/bus.ts). */
  bus: ChangeBus;
  store: BlobStore;
  cache: RenditionCache;
  /** Originals kept for the next miss, progressive JPEGs as their baseline copies (src/render/originals-cache.ts). */
  originals: OriginalsCache;
  secrets: Secrets;
  keys: ApiKeys;
  /** Every password hash and check, through one bounded queue of its own (src/auth/hash-queue.ts). */
  passwords: PasswordHasher;
  /** Rate-limit buckets, unflushed key usage and the users store of this app (src/auth/state.ts). */
  auth: AuthState;
  log: Logger;
  /** Unix seconds; injectable so expiry tests need no sleeping. */
  clock: () => number;
  events: LibraryEvents;
  /** Prometheus registry and recorders; `createApp` makes one when absent (src/ops/metrics.ts). */
  metrics?: Metrics;
  /** Remote originals (ORIGINS): made on first use by `originsOf(deps)` (src/origins/service.ts). */
  origins?: Origins;
  /** The background task queue: made on first use by `taskRunner(deps)` (src/library/tasks.ts). */
  taskRunner?: TaskRunner;
  /** The random pool following the library, and today's remembered picks (src/random). */
  random: RandomState;
  /** The CDN purge hook (PURGE_WEBHOOK_URL), called by the library where a change is made; absent when unset. */
  cdn?: CdnPurger;
  /** /img answers kept for the same request again, answered before Hono (src/delivery/hit-memo.ts, front.ts). */
  hits: HitMemo;
}

export interface RandomState {
  pool: LibraryPool;
  /** `/random/daily`: the pick of each audience and filter set, for the UTC day `day`. */
  daily: { day: string; picks: Map<string, string> };
}

/**
 * Library changes this node's own state follows (the random pool): fired where a change is made,
 * and with DATABASE_URL for changes heard from other nodes too (src/cluster/follow.ts). So a
 * listener runs once per node: a one-time side effect of a change (a CDN purge, a webhook)
 * belongs at the write, never here.
 */
export interface LibraryEvents {
  added: Array<(image: ImageRow) => void>;
  removed: Array<(imageId: string) => void>;
  changed: Array<(image: ImageRow) => void>;
}

export function emptyEvents(): LibraryEvents {
  return { added: [], removed: [], changed: [] };
}

export async function createDeps(config: Config, overrides: Partial<Deps> = {}): Promise<Deps> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  fs.mkdirSync(config.cacheDir, { recursive: true });
  const log = overrides.log ?? createLogger(config);
  const data: OpenedData = overrides.repos
    ? { db: overrides.db ?? openDb(config.indexFile), repos: overrides.repos, bus: overrides.bus ?? localBus() }
    : await openData(config, { log, db: overrides.db });
  const { db, repos } = data;
  const clock = overrides.clock ?? (() => Math.floor(Date.now() / 1000));
  const keys = overrides.keys ?? new ApiKeys(repos.keys, clock);
  if (config.ADMIN_API_KEY) {
    const secret = config.ADMIN_API_KEY;
    // Nodes starting together would each replace the other's row: one at a time.
    await (repos.cluster ? repos.cluster.exclusive('admin-api-key', () => keys.ensureBootstrap(secret)) : keys.ensureBootstrap(secret));
  }
  const passwords = overrides.passwords ?? createPasswordHasher(config);
  // Imported lazily: the AWS SDK adds ~150 ms to every start, wasted when originals are local.
  const store = overrides.store ?? (config.STORAGE === 's3' ? (await import('./storage/s3.js')).S3Store.fromConfig(config) : new LocalStore(config.dataDir));
  const shared = config.RENDITIONS_STORE === 's3' && data.sharedRenditions ? { index: data.sharedRenditions, store } : undefined;
  const deps: Deps = {
    config,
    db,
    repos,
    bus: overrides.bus ?? data.bus,
    store,
    cache: overrides.cache ?? (await createCache(config, repos.renditions, log, shared)),
    originals:
      overrides.originals ??
      new OriginalsCache({
        maxBytes: config.ORIGINALS_CACHE_MB * 1024 * 1024,
        jpegtran: config.jpegtran,
        onError: (err, what) => log.warn({ err }, `${what} failed; decoding the original`),
      }),
    secrets: overrides.secrets ?? (repos.cluster ? await loadClusterSecrets(config, repos.cluster) : loadSecrets(config)),
    keys,
    passwords,
    auth: overrides.auth ?? createAuthState({ repos, config, clock, passwords }),
    log,
    clock,
    events: overrides.events ?? emptyEvents(),
    random: undefined as never,
    cdn: overrides.cdn ?? cdnPurgerOf(config, log),
    hits: undefined as never,
  };
  // The pool follows deps.events from the start, so it is made once the rest of deps exists.
  deps.random = overrides.random ?? { pool: new LibraryPool(deps), daily: { day: '', picks: new Map() } };
  deps.hits = overrides.hits ?? new HitMemo(deps);
  // Other nodes' changes, applied to this node's caches as its own are (nothing to hear on SQLite).
  followCluster(deps);
  return deps;
}
