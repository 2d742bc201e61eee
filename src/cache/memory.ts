import { LRUCache } from 'lru-cache';
import { matches, renditionHeaders, type CachedRendition, type PurgeMatch, type Rendition, type RenditionMeta, type RenditionTier } from './types.js';

interface Entry {
  rendition: Rendition;
  meta: RenditionMeta;
  /** What a hit answers, built once at put: a hit allocates neither the object nor its headers. */
  hit: CachedRendition;
}

/**
 * What an entry costs besides its bytes: the key, the meta, the hit object with its frozen
 * headers, the LRU node, the buffer's own bookkeeping. Measured: 1.2 KB of JS heap per entry and
 * 2.8 KB of RSS with the allocator's share (20,000 16-byte renditions); at 256 B, a tier of 40 KB
 * renditions held 6 % more than its budget, and one of thumbnails far more.
 */
const ENTRY_OVERHEAD = 2048;

/**
 * The bytes in an allocation of their own length. sharp hands over libvips' own output buffer
 * (grown while the encoder wrote, allocated on a render thread among the decoder's large blocks):
 * kept as is, held renditions cost
 * 1.7-2.2x their length in RSS (measured: a full 32 MB tier, +69 MB), so the budget would not
 * hold. A copy (microseconds, once per stored rendition) costs 0.94-1.02x. Never from Node's
 * shared pool either (Buffer.from below 4 KB): one small survivor would pin a whole pool slab.
 */
function exactCopy(data: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}

/** Hot renditions in process memory, bounded in bytes (not entries: one 4K AVIF weighs as much as 500 thumbnails). */
export class MemoryTier implements RenditionTier {
  readonly name = 'memory' as const;
  private readonly lru: LRUCache<string, Entry>;
  private evictions = 0;

  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new Error(`Expected a positive integer byte budget for the memory tier but received ${maxBytes}`);
    this.lru = new LRUCache<string, Entry>({
      maxSize: maxBytes,
      sizeCalculation: (e) => e.rendition.data.length + ENTRY_OVERHEAD,
      dispose: (_e, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  /** Synchronous lookup: the hot path answers a memory hit without a single await. */
  peek(key: string): Rendition | undefined {
    return this.lru.get(key)?.rendition;
  }

  /** `peek` as the hit the cache answers (tier memory, headers ready); shared between requests, so frozen. */
  peekHit(key: string): CachedRendition | undefined {
    return this.lru.get(key)?.hit;
  }

  async get(key: string) {
    return this.peek(key);
  }

  async put(key: string, meta: RenditionMeta, given: Rendition) {
    const rendition = { ...given, data: exactCopy(given.data) };
    // lru-cache refuses (silently) an entry larger than maxSize, which is the skip we want.
    const hit = { ...rendition, tier: 'memory' as const, renderMs: 0 };
    this.lru.set(key, { rendition, meta, hit: Object.freeze({ ...hit, headers: Object.freeze(renditionHeaders(hit)) }) });
  }

  async delete(key: string) {
    return this.lru.delete(key);
  }

  async purge(match: PurgeMatch) {
    const doomed: string[] = [];
    for (const [key, entry] of this.lru.entries()) if (matches(entry.meta, match)) doomed.push(key);
    for (const key of doomed) this.lru.delete(key);
    return doomed.length;
  }

  stats() {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, evictions: this.evictions };
  }

  async close() {
    this.lru.clear();
  }
}
