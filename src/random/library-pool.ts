import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { RandomPool, type PoolEntry } from './pool.js';

/**
 * The random pool of one running app, following the library by itself:
 * - this process's uploads, edits and deletes arrive through `deps.events`;
 * - other processes sharing the SQLite file (a CLI import, a second instance) bump SQLite's
 *   `data_version`; when it moved, the pool is reloaded in the background, at most once per
 *   RANDOM_RESYNC_SECONDS, checked lazily on picks (no timer to stop);
 * - a pick whose row turns out gone or changed is corrected on the spot by the caller (`heal`).
 */

const CHUNK = 5000;

interface RawRow {
  id: string;
  owner_id: number | null;
  visibility: 'public' | 'private';
  collection: string | null;
  orientation: PoolEntry['orientation'];
  width: number;
  height: number;
  tags: string;
}

export function entryOf(row: Pick<ImageRow, 'id' | 'ownerId' | 'visibility' | 'collection' | 'orientation' | 'width' | 'height' | 'tags'>): PoolEntry {
  return {
    id: row.id,
    ownerId: row.ownerId,
    visibility: row.visibility,
    collection: row.collection,
    orientation: row.orientation,
    width: row.width,
    height: row.height,
    tags: parseTags(row.tags),
  };
}

function fromRaw(r: RawRow): PoolEntry {
  return {
    id: r.id,
    ownerId: r.owner_id,
    visibility: r.visibility,
    collection: r.collection,
    orientation: r.orientation,
    width: r.width,
    height: r.height,
    tags: parseTags(r.tags),
  };
}

function parseTags(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

const COLUMNS = 'rowid as rid, id, owner_id, visibility, collection, orientation, width, height, tags';

export class LibraryPool {
  private current: RandomPool | undefined;
  private dataVersion = 0;
  private checkedAt = 0;
  /** Changes seen while a reload runs, replayed onto the fresh pool before it takes over. */
  private replay: Array<(p: RandomPool) => void> | null = null;
  private reloading: Promise<void> | undefined;

  constructor(private readonly deps: Deps) {
    deps.events.added.push((row) => this.apply((p) => p.upsert(entryOf(row))));
    deps.events.changed.push((row) => this.apply((p) => p.upsert(entryOf(row))));
    deps.events.removed.push((id) => this.apply((p) => p.remove(id)));
  }

  /** The pool, loaded from the DB on first use; may start a background reload if another process wrote. */
  get pool(): RandomPool {
    if (!this.current) this.loadNow();
    else this.maybeReload();
    return this.current!;
  }

  private apply(change: (p: RandomPool) => void) {
    // Before the first load there is nothing to update: the load will read the DB.
    if (this.current) change(this.current);
    this.replay?.push(change);
  }

  /** Synchronous full load (start-up): one query, one sort per bucket. */
  loadNow() {
    this.dataVersion = this.readDataVersion();
    const rows = this.deps.db.$client.prepare(`select ${COLUMNS} from images`).all() as RawRow[];
    this.current = RandomPool.from(rows.map(fromRaw));
    this.checkedAt = this.deps.clock();
  }

  private readDataVersion() {
    return this.deps.db.$client.pragma('data_version', { simple: true }) as number;
  }

  private maybeReload() {
    const every = this.deps.config.RANDOM_RESYNC_SECONDS;
    const now = this.deps.clock();
    if (every === 0 || this.reloading || now - this.checkedAt < every) return;
    this.checkedAt = now;
    // data_version moves only when another connection committed: our own writes come as events.
    const v = this.readDataVersion();
    if (v === this.dataVersion) return;
    this.dataVersion = v;
    this.reloading = this.reload().finally(() => (this.reloading = undefined));
  }

  /**
   * Re-read the images table in chunks (yielding between them so requests keep flowing), then
   * swap. Await it in tests; production never needs to.
   */
  async reload() {
    this.replay = [];
    try {
      const stmt = this.deps.db.$client.prepare(`select ${COLUMNS} from images where rowid > ? order by rowid limit ${CHUNK}`);
      const entries: PoolEntry[] = [];
      let last = -Infinity;
      for (;;) {
        const rows = stmt.all(last) as Array<RawRow & { rid: number }>;
        for (const r of rows) entries.push(fromRaw(r));
        if (rows.length < CHUNK) break;
        last = rows[rows.length - 1].rid;
        await new Promise((r) => setImmediate(r));
      }
      const fresh = RandomPool.from(entries);
      for (const change of this.replay) change(fresh);
      this.current = fresh;
    } catch (err) {
      this.deps.log.error({ err }, 'random pool reload failed; keeping the previous pool');
    } finally {
      this.replay = null;
    }
  }

  /** Wait for a background reload, if one is running (tests, shutdown). */
  settled() {
    return this.reloading ?? Promise.resolve();
  }
}

/** The app's pool (made in createDeps), shared by the routes, the watcher and benchmarks. */
export function libraryPool(deps: Pick<Deps, 'random'>): LibraryPool {
  return deps.random.pool;
}
