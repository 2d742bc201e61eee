import type { DiskTier } from './disk.js';
import type { RenderLimiter } from './limiter.js';
import type { MemoryTier } from './memory.js';
import {
  matches,
  type CacheTier,
  type CachedRendition,
  type PurgeMatch,
  type Rendition,
  type RenditionCache,
  type RenditionMeta,
  type StoredCopy,
} from './types.js';

/** A read or render under way: a purge that races it marks it stale. */
interface Pending {
  meta: RenditionMeta;
  /** Set by a purge that raced this read or render: its result still answers its waiters but is not stored. */
  stale: boolean;
}

interface Inflight extends Pending {
  promise: Promise<CachedRendition>;
}

export interface TieredCacheParts {
  memory: MemoryTier | null;
  disk: DiskTier | null;
  /** The cluster's tier (RENDITIONS_STORE=s3): read after this node's disk, written after every render. */
  shared?: DiskTier | null;
  limiter: RenderLimiter;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Memory, then disk, then the shared tier when there is one, then one bounded render per key. A
 * memory hit is answered without touching the disk, the DB or the render queue; concurrent
 * requests for one key share one disk read or one render; a render is stored in memory at once
 * and written to disk (and the shared tier) in the background. A shared hit is kept on this node
 * too, so the next one is local.
 *
 * `stats()` names (plain numbers, for /metrics):
 * - hits_memory, hits_disk, hits_shared, misses (renders asked for), coalesced (requests that joined one in flight)
 * - renders (completed), render_errors, render_timeouts (504), rejected (503: queue full or no slot in time)
 * - queue_depth, in_flight (renders running now)
 * - memory_bytes, memory_entries, memory_evictions
 * - disk_bytes, disk_entries, disk_evictions, disk_torn (files dropped for a size mismatch),
 *   disk_write_errors, disk_writes_pending
 * - shared_bytes, shared_entries, shared_evictions, shared_torn, shared_write_errors (RENDITIONS_STORE=s3)
 */
export class TieredCache implements RenditionCache {
  private readonly inflight = new Map<string, Inflight>();
  /** Renders still running, including those whose callers already got a 504 (gone from `inflight`): a purge must reach them too. */
  private readonly rendering = new Set<Inflight>();
  /** Reads of `stored` (which are not in `inflight`: nobody may join them, they never render). */
  private readonly reads = new Set<Pending>();
  private readonly memory: MemoryTier | null;
  private readonly disk: DiskTier | null;
  private readonly shared: DiskTier | null;
  private readonly limiter: RenderLimiter;
  private readonly onError: (err: unknown, what: string) => void;
  private readonly counts = { hits_memory: 0, hits_disk: 0, misses: 0, coalesced: 0, disk_write_errors: 0 };
  private readonly sharedCounts = { hits_shared: 0, shared_write_errors: 0 };

  constructor(parts: TieredCacheParts) {
    this.memory = parts.memory;
    this.disk = parts.disk;
    this.shared = parts.shared ?? null;
    this.limiter = parts.limiter;
    this.onError = parts.onError ?? (() => {});
  }

  async tierOf(key: string): Promise<CacheTier> {
    if (this.memory?.peek(key)) return 'memory';
    if (await this.disk?.has(key)) return 'disk';
    return (await this.shared?.has(key)) ? 'shared' : 'miss';
  }

  fetch(key: string, meta: RenditionMeta, render: () => Promise<Rendition>): Promise<CachedRendition> {
    const hot = this.memory?.peekHit(key);
    if (hot) {
      this.counts.hits_memory++;
      return Promise.resolve(hot);
    }
    const joined = this.inflight.get(key);
    if (joined) {
      this.counts.coalesced++;
      return joined.promise;
    }
    const entry: Inflight = { promise: undefined as never, meta, stale: false };
    entry.promise = this.load(key, entry, render).finally(() => this.inflight.delete(key));
    this.inflight.set(key, entry);
    return entry.promise;
  }

  /**
   * A rendition already stored, never rendered: a memory hit synchronously (counted as `fetch`
   * counts it), else a read of the disk and shared tiers; undefined when there is nothing to read
   * or a render of `key` is in flight (the caller then takes `fetch`, which joins or renders).
   * For the hit memo (src/delivery/hit-memo.ts), whose answers must never charge a render; given
   * `known` (what the disk tier's index said of this key last time) the disk copy is read without
   * asking the index again.
   */
  stored(key: string, meta: RenditionMeta, known?: StoredCopy): CachedRendition | Promise<CachedRendition | undefined> | undefined {
    const hot = this.memory?.peekHit(key);
    if (hot) {
      this.counts.hits_memory++;
      return hot;
    }
    if ((!this.disk && !this.shared) || this.inflight.has(key)) return undefined;
    const read: Pending = { meta, stale: false };
    this.reads.add(read);
    return this.readStored(key, read, known).finally(() => this.reads.delete(read));
  }

  private async readStored(key: string, read: Pending, known: StoredCopy | undefined): Promise<CachedRendition | undefined> {
    const direct = known && (await this.disk?.getKnown(key, known).catch(() => undefined));
    if (!direct) return this.readCold(key, read);
    this.counts.hits_disk++;
    if (!read.stale) this.memory?.put(key, read.meta, direct);
    return { ...direct, tier: 'disk', renderMs: 0 };
  }

  private async load(key: string, entry: Inflight, render: () => Promise<Rendition>): Promise<CachedRendition> {
    const stored = await this.readCold(key, entry);
    if (stored) return stored;
    this.counts.misses++;
    const started = performance.now();
    // Stored from inside the work rather than after the await: a render past its deadline answers
    // 504 but still runs to the end (sharp cannot be interrupted), and its result should answer the retry.
    const rendered = await this.limiter.run(async () => {
      this.rendering.add(entry);
      try {
        const r = await render();
        if (!entry.stale) this.store(key, entry, r);
        return r;
      } finally {
        this.rendering.delete(entry);
      }
    });
    return { ...rendered, tier: 'miss', renderMs: performance.now() - started, stale: entry.stale };
  }

  /** The disk tier's copy, else the shared tier's (kept on this node too), else undefined. */
  private async readCold(key: string, entry: Pending): Promise<CachedRendition | undefined> {
    const cold = await this.disk?.get(key).catch((err) => {
      // An unreadable cache is a miss, not an outage: the original can still be rendered.
      this.onError(err, 'disk read');
      return undefined;
    });
    if (cold) {
      this.counts.hits_disk++;
      if (!entry.stale) this.memory?.put(key, entry.meta, cold);
      return { ...cold, tier: 'disk', renderMs: 0, stale: entry.stale };
    }
    const far = await this.shared?.get(key).catch((err) => {
      this.onError(err, 'shared tier read');
      return undefined;
    });
    if (far) {
      this.sharedCounts.hits_shared++;
      if (!entry.stale) this.keepLocally(key, entry, far);
      return { ...far, tier: 'shared', renderMs: 0, stale: entry.stale };
    }
    return undefined;
  }

  private store(key: string, entry: Pending, r: Rendition) {
    this.keepLocally(key, entry, r);
    this.shared?.put(key, entry.meta, r).catch((err) => {
      this.sharedCounts.shared_write_errors++;
      this.onError(err, 'shared tier write');
    });
  }

  private keepLocally(key: string, entry: Pending, r: Rendition) {
    this.memory?.put(key, entry.meta, r);
    this.disk?.put(key, entry.meta, r).catch((err) => {
      this.counts.disk_write_errors++;
      this.onError(err, 'disk write');
    });
  }

  private async purge(match: PurgeMatch, shared = true) {
    for (const entry of [...this.inflight.values(), ...this.rendering, ...this.reads]) if (matches(entry.meta, match)) entry.stale = true;
    const [fromMemory, fromDisk, fromShared] = await Promise.all([
      this.memory?.purge(match) ?? 0,
      this.disk?.purge(match) ?? 0,
      (shared && this.shared?.purge(match)) || 0,
    ]);
    // A rendition usually sits in several tiers: report distinct renditions, not copies.
    return Math.max(fromMemory, fromDisk, fromShared);
  }

  purgeImage(imageId: string) {
    return this.purge({ imageId });
  }

  purgePreset(name: string) {
    return this.purge({ preset: name });
  }

  forgetImage(imageId: string) {
    return this.purge({ imageId }, false);
  }

  forgetPreset(name: string) {
    return this.purge({ preset: name }, false);
  }

  /** Waits for background disk writes (tests, bench, shutdown). */
  async settle() {
    await Promise.all([this.disk?.settle(), this.shared?.settle()]);
  }

  stats(): Record<string, number> {
    const m = this.memory?.stats() ?? { entries: 0, bytes: 0, evictions: 0 };
    const d = this.disk?.stats() ?? { entries: 0, bytes: 0, evictions: 0, torn: 0, writesPending: 0 };
    return {
      ...this.counts,
      renders: this.limiter.counters.completed,
      render_errors: this.limiter.counters.failed,
      render_timeouts: this.limiter.counters.timeouts,
      rejected: this.limiter.counters.rejected,
      queue_depth: this.limiter.queued,
      in_flight: this.limiter.inFlight,
      memory_bytes: m.bytes,
      memory_entries: m.entries,
      memory_evictions: m.evictions,
      disk_bytes: d.bytes,
      disk_entries: d.entries,
      disk_evictions: d.evictions,
      disk_torn: d.torn ?? 0,
      disk_writes_pending: d.writesPending ?? 0,
      ...(this.shared ? this.sharedStats() : {}),
    };
  }

  private sharedStats() {
    const s = this.shared!.stats();
    return { ...this.sharedCounts, shared_bytes: s.bytes, shared_entries: s.entries, shared_evictions: s.evictions, shared_torn: s.torn ?? 0 };
  }

  async close() {
    await this.disk?.close();
    await this.shared?.close();
    await this.memory?.close();
  }
}
