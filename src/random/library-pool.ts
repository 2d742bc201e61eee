import type { Deps } from '../deps.js';
import type { PoolCursor, PoolRow } from '../repos/images.js';
import { RandomPool, type PoolEntry } from './pool.js';

/**
 * The random pool of one running app, following the library by itself:
 * - this process's uploads, edits and deletes arrive through `deps.events`;
 * - other processes or nodes writing the same database move `images.foreignWrites()` (SQLite's
 *   data_version, the cluster bus on PostgreSQL); when it moved, the pool is reloaded in the
 *   background, at most once per RANDOM_RESYNC_SECONDS, checked lazily on picks (no timer to stop);
 * - a pick whose row turns out gone or changed is corrected on the spot by the caller (`heal`).
 */

/** Rows per page of a (re)load: requests keep flowing between pages. */
const CHUNK = 5000;

export function entryOf(row: PoolRow): PoolEntry {
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

function parseTags(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

export class LibraryPool {
  private current: RandomPool | undefined;
  private foreignMark = '';
  private checkedAt = 0;
  /** Changes seen while a load runs, replayed onto the fresh pool before it takes over. */
  private replay: Array<(p: RandomPool) => void> | null = null;
  private loading: Promise<RandomPool> | undefined;
  private reloading: Promise<void> | undefined;

  constructor(private readonly deps: Deps) {
    deps.events.added.push((row) => this.apply((p) => p.upsert(entryOf(row))));
    deps.events.changed.push((row) => this.apply((p) => p.upsert(entryOf(row))));
    deps.events.removed.push((id) => this.apply((p) => p.remove(id)));
  }

  /** Whether the first load is done: until then `pool` throws, and callers await `ready()`. */
  get loaded(): boolean {
    return this.current !== undefined;
  }

  /**
   * The loaded pool, without a wait (the /random hit path); may start a background reload if
   * another process or node wrote images.
   */
  get pool(): RandomPool {
    const pool = this.current;
    if (!pool) throw new Error('The random pool is read before its first load: await ready() first');
    this.maybeReload();
    return pool;
  }

  /** The pool, loaded on first use; every caller during the first load shares it. */
  ready(): Promise<RandomPool> {
    if (this.current) return Promise.resolve(this.current);
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private apply(change: (p: RandomPool) => void) {
    if (this.current) change(this.current);
    // During a load: it may have read the row before or after this change, so the change is replayed.
    this.replay?.push(change);
  }

  private async load(): Promise<RandomPool> {
    this.foreignMark = this.deps.repos.images.foreignWrites();
    this.current = await this.readAll();
    this.checkedAt = this.deps.clock();
    return this.current;
  }

  private maybeReload() {
    const every = this.deps.config.RANDOM_RESYNC_SECONDS;
    const now = this.deps.clock();
    if (every === 0 || this.reloading || now - this.checkedAt < every) return;
    this.checkedAt = now;
    // Our own writes come as events; only another process's or node's move this mark.
    const mark = this.deps.repos.images.foreignWrites();
    if (mark === this.foreignMark) return;
    this.foreignMark = mark;
    this.reloading = this.reload().finally(() => (this.reloading = undefined));
  }

  /**
   * Re-read the library in pages (yielding between them so requests keep flowing), then swap.
   * Await it in tests; production never needs to.
   */
  async reload() {
    try {
      this.current = await this.readAll();
    } catch (err) {
      this.deps.log.error({ err }, 'random pool reload failed; keeping the previous pool');
    }
  }

  /** Every image, page by page, with the changes that arrived meanwhile replayed onto it. */
  private async readAll(): Promise<RandomPool> {
    this.replay = [];
    try {
      const entries: PoolEntry[] = [];
      let after: PoolCursor | undefined;
      for (;;) {
        const page = await this.deps.repos.images.poolPage(after, CHUNK);
        for (const row of page.rows) entries.push(entryOf(row));
        if (page.next === undefined) break;
        after = page.next;
        await new Promise((r) => setImmediate(r));
      }
      const fresh = RandomPool.from(entries);
      for (const change of this.replay) change(fresh);
      return fresh;
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
