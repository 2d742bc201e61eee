import fs from 'node:fs/promises';
import path from 'node:path';
import { asc, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { renditions } from '../db/schema.js';
import type { OutputFormat } from '../spec/index.js';
import { atomicWrite } from '../storage/atomic.js';
import { matches, type PurgeMatch, type Rendition, type RenditionMeta, type RenditionTier } from './types.js';

export interface DiskTierOptions {
  /** How often batched `last_access` updates reach SQLite; a hit never writes to the DB itself. */
  flushMs?: number;
  /** Milliseconds clock for `last_access` (ms, so hits within one second still order the LRU). */
  now?: () => number;
  /** Eviction stops once the total is back under this share of the budget, so it runs in batches, not per write. */
  lowWater?: number;
  onError?: (err: unknown, what: string) => void;
}

const KEY = /^[A-Za-z0-9_-]{1,128}$/;
const EXT: Record<OutputFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', gif: 'gif' };

/**
 * Renditions as files under CACHE_DIR, indexed by the `renditions` table. The index is the
 * truth for the LRU order and the byte budget, so both survive a restart; a file whose size
 * differs from the recorded one (torn write, truncation, someone's editor) is dropped, never served.
 */
export class DiskTier implements RenditionTier {
  readonly name = 'disk' as const;
  private readonly now: () => number;
  private readonly lowWater: number;
  private readonly onError: (err: unknown, what: string) => void;
  private readonly touches = new Map<string, number>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private readonly byKey;
  private totalBytes = 0;
  private entries = 0;
  private evictions = 0;
  private torn = 0;
  private evicting: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    readonly dir: string,
    readonly maxBytes: number,
    opts: DiskTierOptions = {},
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new Error(`Expected a positive integer byte budget for the disk tier but received ${maxBytes}`);
    this.now = opts.now ?? Date.now;
    this.lowWater = opts.lowWater ?? 0.9;
    this.onError = opts.onError ?? (() => {});
    this.byKey = db
      .select()
      .from(renditions)
      .where(eq(renditions.key, sql.placeholder('key')))
      .prepare();
    this.resync();
    this.timer = setInterval(() => this.flushTouches(), opts.flushMs ?? 5000);
    this.timer.unref();
    // Temp files a crash left mid-write are swept at server start and by `cache prune` (ops/leftovers.ts).
  }

  /** Where a rendition's bytes live (maintenance and tests look there). */
  file(key: string, format: string) {
    if (!KEY.test(key)) throw new Error(`invalid cache key ${JSON.stringify(key)}`);
    return path.join(this.dir, key.slice(0, 2), `${key}.${EXT[format as OutputFormat] ?? 'bin'}`);
  }

  /** Another process (`imgpath cache prune`) may have changed the index: re-read the totals. */
  private resync() {
    const row = this.db
      .select({ n: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${renditions.bytes}), 0)` })
      .from(renditions)
      .get();
    this.entries = row?.n ?? 0;
    this.totalBytes = row?.bytes ?? 0;
  }

  /** Indexed (its bytes are checked only when read). */
  has(key: string): boolean {
    return this.byKey.get({ key }) !== undefined;
  }

  async get(key: string): Promise<Rendition | undefined> {
    const row = this.byKey.get({ key });
    if (!row) return undefined;
    const data = await readExactly(this.file(key, row.format), row.bytes);
    if (!data) {
      this.torn++;
      await this.delete(key);
      return undefined;
    }
    this.touches.set(key, this.now());
    return { data, format: row.format as OutputFormat, width: row.width, height: row.height };
  }

  put(key: string, meta: RenditionMeta, r: Rendition): Promise<void> {
    if (this.closed || r.data.length === 0 || r.data.length > this.maxBytes) return Promise.resolve();
    const previous = this.writes.get(key) ?? Promise.resolve();
    const write = previous
      .then(() => this.write(key, meta, r))
      .finally(() => {
        if (this.writes.get(key) === write) this.writes.delete(key);
      });
    this.writes.set(key, write);
    return write;
  }

  private async write(key: string, meta: RenditionMeta, r: Rendition) {
    // File first, then the row: a crash in between leaves an unindexed file (swept by prune), never a row without bytes.
    await atomicWrite(this.file(key, r.format), r.data);
    const old = this.byKey.get({ key });
    const row = {
      key,
      imageId: meta.imageId,
      options: meta.options,
      preset: meta.preset ?? null,
      format: r.format,
      width: r.width,
      height: r.height,
      bytes: r.data.length,
      lastAccess: this.now(),
    };
    this.db.insert(renditions).values(row).onConflictDoUpdate({ target: renditions.key, set: row }).run();
    if (old && old.format !== r.format) await fs.rm(this.file(key, old.format), { force: true });
    this.totalBytes += r.data.length - (old?.bytes ?? 0);
    if (!old) this.entries++;
    if (this.totalBytes > this.maxBytes) await this.evict();
  }

  /** Drops least-recently-used renditions until the total is under the low-water mark. */
  evict(): Promise<void> {
    this.evicting ??= this.evictBatch().finally(() => (this.evicting = null));
    return this.evicting;
  }

  private async evictBatch() {
    this.flushTouches();
    this.resync();
    const target = Math.floor(this.maxBytes * this.lowWater);
    while (this.totalBytes > target) {
      const oldest = this.db
        .select({ key: renditions.key, format: renditions.format, bytes: renditions.bytes })
        .from(renditions)
        .orderBy(asc(renditions.lastAccess))
        .limit(64)
        .all();
      if (oldest.length === 0) break;
      const victims: typeof oldest = [];
      let freed = 0;
      for (const v of oldest) {
        if (this.totalBytes - freed <= target) break;
        victims.push(v);
        freed += v.bytes;
      }
      await this.remove(victims);
      this.evictions += victims.length;
    }
  }

  private async remove(rows: Array<{ key: string; format: string; bytes: number }>) {
    if (rows.length === 0) return;
    const del = this.db.$client.prepare('DELETE FROM renditions WHERE key = ?');
    let bytes = 0;
    let n = 0;
    this.db.$client.transaction(() => {
      for (const r of rows) {
        if (del.run(r.key).changes > 0) {
          bytes += r.bytes;
          n++;
        }
        this.touches.delete(r.key);
      }
    })();
    this.totalBytes -= bytes;
    this.entries -= n;
    // Rows go first: from then on no reader is sent to these files, so removing them cannot tear a read.
    await Promise.all(rows.map((r) => fs.rm(this.file(r.key, r.format), { force: true })));
  }

  async delete(key: string) {
    await this.writes.get(key)?.catch(() => {});
    const row = this.byKey.get({ key });
    if (!row) return false;
    await this.remove([row]);
    return true;
  }

  /** Drops renditions not read since `beforeMs` (ms epoch); `cache prune --older-than`. */
  async dropIdle(beforeMs: number) {
    this.flushTouches();
    const rows = this.db.select().from(renditions).where(lt(renditions.lastAccess, beforeMs)).all();
    await this.remove(rows);
    return rows.length;
  }

  /** Drops every rendition (`cache prune --all`). */
  async clear() {
    await Promise.allSettled([...this.writes.values()]);
    const rows = this.db.select().from(renditions).all();
    await this.remove(rows);
    return rows.length;
  }

  async purge(match: PurgeMatch) {
    // A write still in flight would otherwise land right after the purge.
    await Promise.allSettled([...this.writes.values()]);
    const where =
      'imageId' in match
        ? // instr() narrows the watermark users without LIKE's `_` wildcard; `matches` then checks the exact token.
          or(eq(renditions.imageId, match.imageId), sql`instr(${renditions.options}, ${`wm_${match.imageId}`}) > 0`)
        : eq(renditions.preset, match.preset);
    const rows = this.db.select().from(renditions).where(where).all();
    const exact = rows.filter((r) => matches({ imageId: r.imageId, options: r.options, preset: r.preset }, match));
    await this.remove(exact);
    return exact.length;
  }

  /** Writes the batched `last_access` updates in one transaction. */
  flushTouches() {
    if (this.touches.size === 0) return;
    const pending = [...this.touches];
    this.touches.clear();
    const update = this.db.$client.prepare('UPDATE renditions SET last_access = ? WHERE key = ?');
    try {
      this.db.$client.transaction(() => {
        for (const [key, at] of pending) update.run(at, key);
      })();
    } catch (err) {
      this.onError(err, 'last_access flush');
    }
  }

  /** Waits for the renditions being written right now (tests and shutdown). */
  async settle() {
    while (this.writes.size) await Promise.allSettled([...this.writes.values()]);
  }

  stats() {
    return { entries: this.entries, bytes: this.totalBytes, evictions: this.evictions, torn: this.torn, writesPending: this.writes.size };
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.settle();
    await this.evicting;
    this.flushTouches();
  }
}

/**
 * The file's bytes when it holds exactly `bytes` of them, else undefined (missing, torn,
 * truncated or grown). One read of `bytes + 1` answers both "too short" and "too long"
 * without a separate stat: open, read, close, where readFile needs open, stat, read, read, close.
 */
async function readExactly(file: string, bytes: number): Promise<Buffer | undefined> {
  if (bytes <= 0) return undefined;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.allocUnsafeSlow(bytes + 1);
    // Regular files answer a read in full up to end-of-file (Linux caps a single read near 2 GiB,
    // far above any rendition), so one read tells the size.
    const { bytesRead: filled } = await handle.read(buf, 0, buf.length, 0);
    return filled === bytes ? buf.subarray(0, bytes) : undefined;
  } finally {
    await handle.close();
  }
}
