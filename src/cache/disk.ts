import type { RenditionsRepo } from '../repos/renditions.js';
import type { OutputFormat } from '../spec/index.js';
import type { BlobStore } from '../storage/store.js';
import { BlobPlace, FilePlace, type RenditionPlace } from './place.js';
import { matches, type PurgeMatch, type Rendition, type RenditionMeta, type RenditionTier, type StoredCopy } from './types.js';

export interface DiskTierOptions {
  /** How often batched `last_access` updates reach SQLite; a hit never writes to the DB itself. */
  flushMs?: number;
  /** Milliseconds clock for `last_access` (ms, so hits within one second still order the LRU). */
  now?: () => number;
  /** Eviction stops once the total is back under this share of the budget, so it runs in batches, not per write. */
  lowWater?: number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Renditions as files under CACHE_DIR, indexed by the rendition index (src/repos/renditions.ts). The
 * index is the truth for the LRU order and the byte budget, so both survive a restart; a file whose
 * size differs from the recorded one (torn write, truncation, someone's editor) is dropped, never served.
 * Made by `DiskTier.open`, which reads the totals before the tier is used.
 */
export class DiskTier implements RenditionTier {
  private readonly now: () => number;
  private readonly lowWater: number;
  private readonly onError: (err: unknown, what: string) => void;
  private readonly touches = new Map<string, number>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private totalBytes = 0;
  private entries = 0;
  private evictions = 0;
  private torn = 0;
  private evicting: Promise<void> | null = null;
  private closed = false;

  /** A tier of files under `dir` over `index`, with its totals read (a restart keeps the budget accounting). */
  static async open(index: RenditionsRepo, dir: string, maxBytes: number, opts: DiskTierOptions = {}): Promise<DiskTier> {
    const tier = new DiskTier('disk', index, new FilePlace(dir), maxBytes, opts);
    await tier.resync();
    return tier;
  }

  /**
   * The shared tier (RENDITIONS_STORE=s3): the same LRU and budget over objects in `store`, with an
   * index every node reads (PostgreSQL). Each node counts its own writes between reads of the
   * index's totals (every flush, and before evicting), so the budget holds across nodes to within
   * what they write in one flush interval.
   */
  static async shared(index: RenditionsRepo, store: BlobStore, maxBytes: number, opts: DiskTierOptions = {}): Promise<DiskTier> {
    const tier = new DiskTier('shared', index, new BlobPlace(store), maxBytes, opts);
    await tier.resync();
    return tier;
  }

  private constructor(
    readonly name: 'disk' | 'shared',
    private readonly index: RenditionsRepo,
    private readonly place: RenditionPlace,
    readonly maxBytes: number,
    opts: DiskTierOptions = {},
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new Error(`Expected a positive integer byte budget for the disk tier but received ${maxBytes}`);
    this.now = opts.now ?? Date.now;
    this.lowWater = opts.lowWater ?? 0.9;
    this.onError = opts.onError ?? (() => {});
    this.timer = setInterval(() => void this.tick(), opts.flushMs ?? 5000);
    this.timer.unref();
    // Temp files a crash left mid-write are swept at server start and by `cache prune` (ops/leftovers.ts).
  }

  /** The folder of a disk tier's files (maintenance sweeps it). */
  get dir(): string {
    if (!(this.place instanceof FilePlace)) throw new Error('the shared tier has no folder');
    return this.place.dir;
  }

  /** Where a disk tier's rendition lives (maintenance and tests look there). */
  file(key: string, format: string) {
    if (!(this.place instanceof FilePlace)) throw new Error('the shared tier has no files');
    return this.place.file(key, format);
  }

  /**
   * The periodic flush (and the shared tier's resync). Never rejects: a timer has nobody to answer
   * to, and a tick that began just before close() may find the database gone (seen in CI).
   */
  private async tick() {
    await this.flushTouches();
    if (this.name !== 'shared' || this.closed) return;
    await this.resync().catch((err) => {
      if (!this.closed) this.onError(err, 'index resync');
    });
  }

  /** Another process (`imgpath cache prune`) may have changed the index: re-read the totals. */
  private async resync() {
    const { entries, bytes } = await this.index.totals();
    this.entries = entries;
    this.totalBytes = bytes;
  }

  /** Indexed (its bytes are checked only when read). */
  async has(key: string): Promise<boolean> {
    return (await this.index.byKey(key)) !== undefined;
  }

  async get(key: string): Promise<Rendition | undefined> {
    const row = await this.index.byKey(key);
    if (!row) return undefined;
    const data = await this.place.read(key, row.format, row.bytes);
    if (!data) {
      this.torn++;
      await this.delete(key);
      return undefined;
    }
    this.touches.set(key, this.now());
    return { data, format: row.format as OutputFormat, width: row.width, height: row.height };
  }

  /**
   * `get` for a caller that already knows what the index says of `key` (format, size): the file is
   * read without the index lookup, and is still refused unless it has exactly that size. Undefined
   * (nothing touched, nothing dropped) when it does not: the caller then asks `get`, which sorts
   * out a torn file. For the hit memo, whose copy of those facts holds only while the database is
   * unchanged (src/delivery/hit-memo.ts).
   */
  async getKnown(key: string, known: StoredCopy): Promise<Rendition | undefined> {
    const data = await this.place.read(key, known.format, known.bytes);
    if (!data) return undefined;
    this.touches.set(key, this.now());
    return { data, format: known.format, width: known.width, height: known.height };
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
    // Bytes first, then the row: a crash in between leaves an unindexed file (swept by prune), never a row without bytes.
    await this.place.write(key, r.format, r.data);
    const old = await this.index.put({
      key,
      imageId: meta.imageId,
      options: meta.options,
      preset: meta.preset ?? null,
      format: r.format,
      width: r.width,
      height: r.height,
      bytes: r.data.length,
      lastAccess: this.now(),
    });
    if (old && old.format !== r.format) await this.place.remove(key, old.format);
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
    await this.flushTouches();
    await this.resync();
    const target = Math.floor(this.maxBytes * this.lowWater);
    while (this.totalBytes > target) {
      const oldest = await this.index.leastRecent(64);
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
    const removed = new Set(await this.index.remove(rows.map((r) => r.key)));
    for (const r of rows) {
      if (removed.has(r.key)) this.totalBytes -= r.bytes;
      this.touches.delete(r.key);
    }
    this.entries -= removed.size;
    // Rows go first: from then on no reader is sent to these files, so removing them cannot tear a read.
    await Promise.all(rows.map((r) => this.place.remove(r.key, r.format)));
  }

  async delete(key: string) {
    await this.writes.get(key)?.catch(() => {});
    const row = await this.index.byKey(key);
    if (!row) return false;
    await this.remove([row]);
    return true;
  }

  /** Drops renditions not read since `beforeMs` (ms epoch); `cache prune --older-than`. */
  async dropIdle(beforeMs: number) {
    await this.flushTouches();
    const rows = await this.index.idleBefore(beforeMs);
    await this.remove(rows);
    return rows.length;
  }

  /** Drops every rendition (`cache prune --all`). */
  async clear() {
    await Promise.allSettled([...this.writes.values()]);
    const rows = await this.index.all();
    await this.remove(rows);
    return rows.length;
  }

  async purge(match: PurgeMatch) {
    // A write still in flight would otherwise land right after the purge.
    await Promise.allSettled([...this.writes.values()]);
    // The index narrows (watermark users by a substring); `matches` then checks the exact token.
    const rows = await ('imageId' in match ? this.index.byImage(match.imageId) : this.index.byPreset(match.preset));
    const exact = rows.filter((r) => matches({ imageId: r.imageId, options: r.options, preset: r.preset }, match));
    await this.remove(exact);
    return exact.length;
  }

  /** Writes the batched `last_access` updates in one transaction. */
  async flushTouches() {
    if (this.touches.size === 0) return;
    const pending = [...this.touches];
    this.touches.clear();
    try {
      await this.index.touch(pending);
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
    await this.flushTouches();
  }
}
