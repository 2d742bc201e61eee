import type { OutputFormat } from '../spec/index.js';

export interface Rendition {
  data: Buffer;
  format: OutputFormat;
  width: number;
  height: number;
}

/** Where a rendition was answered from: this node's memory or disk, the cluster's shared tier (RENDITIONS_STORE=s3), or a render. */
export type CacheTier = 'memory' | 'disk' | 'shared' | 'miss';

export interface CachedRendition extends Rendition {
  tier: CacheTier;
  /** Milliseconds spent rendering (0 for hits). */
  renderMs: number;
  /**
   * The response headers that follow from the rendition and its tier alone (Content-Type,
   * Content-Length, X-Cache, Server-Timing), built once when the memory tier stores it, so a
   * memory hit does not rebuild them; the headers that depend on who asked are added per request.
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * A purge raced it (its image deleted, made private or re-cropped, its preset edited while it
   * was read or rendered): it still answers the requests that asked for it, but nobody may keep it
   * (the CDN was purged before it was done, and would hold the old answer for a year).
   */
  stale?: boolean;
}

const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
};

/** See CachedRendition.headers. */
export function renditionHeaders(r: Omit<CachedRendition, 'headers'>): Record<string, string> {
  return {
    'Content-Type': CONTENT_TYPES[r.format],
    'Content-Length': String(r.data.length),
    'X-Cache': r.tier === 'miss' ? 'MISS' : `HIT-${r.tier.toUpperCase()}`,
    'Server-Timing': `cache;desc="${r.tier}", render;dur=${r.renderMs.toFixed(1)}`,
  };
}

/** What the disk tier's index holds of a rendition besides its bytes (`stored` skips the lookup given it). */
export interface StoredCopy {
  format: OutputFormat;
  width: number;
  height: number;
  bytes: number;
}

export interface RenditionMeta {
  imageId: string;
  /** Canonical options (what the key was made from), recorded for purges and the API. */
  options: string;
  /** The preset the rendition came from, so editing a preset purges exactly its renditions. */
  preset?: string | null;
}

/**
 * Rendered images by cache key (hash of image id, canonical options, output format).
 * `fetch` answers from memory, then disk, else calls `render` once however many callers wait.
 * A miss that cannot get a render slot rejects with `OverloadedError` (503, or 504 past the deadline).
 */
export interface RenditionCache {
  fetch(key: string, meta: RenditionMeta, render: () => Promise<Rendition>): Promise<CachedRendition>;
  /**
   * What `fetch` would answer without rendering: a memory hit synchronously, a disk or shared hit
   * as a promise, undefined (or a promise of it) when only a render would do. Optional: without
   * it the hit memo (src/delivery/hit-memo.ts) never answers.
   */
  stored?(key: string, meta: RenditionMeta, known?: StoredCopy): CachedRendition | Promise<CachedRendition | undefined> | undefined;
  /** Where `key` would be answered from right now, without reading or rendering (the `.json` dry run). */
  tierOf(key: string): Promise<CacheTier>;
  /** Every rendition of the image (or watermarked with it) in every tier, the shared one included. */
  purgeImage(imageId: string): Promise<number>;
  purgePreset(name: string): Promise<number>;
  /**
   * The same, in this node's own tiers only (memory, disk): what a change made on another node asks
   * of this one (src/cluster/follow.ts). The node that made it purged the shared tier already, and
   * may have rendered anew into it since.
   */
  forgetImage(imageId: string): Promise<number>;
  forgetPreset(name: string): Promise<number>;
  /** Plain counters and gauges (names documented in src/cache/tiered.ts). */
  stats(): Record<string, number>;
  /** Resolves once renditions being written in the background are on disk (tests, bench). */
  settle?(): Promise<void>;
  /** Finishes pending disk writes and flushes the LRU index; call before closing the DB. */
  close(): Promise<void>;
}

/**
 * What a purge removes: every rendition made from one image's bytes (as the source, or as the
 * `wm_` watermark of another image), or every rendition made through one preset.
 */
export type PurgeMatch = { imageId: string } | { preset: string };

export function matches(meta: RenditionMeta, match: PurgeMatch): boolean {
  if ('preset' in match) return (meta.preset ?? null) === match.preset;
  return meta.imageId === match.imageId || usesWatermark(meta.options, match.imageId);
}

/** The exact `wm_{id}` option of the canonical string: `wm_logo` must not match `wm_logo2`. */
export function usesWatermark(options: string, imageId: string): boolean {
  return options.split(',').includes(`wm_${imageId}`);
}

/**
 * One storage level of the cache (memory, disk). Both pass the contract suite in
 * test/cache/tier-contract.ts: byte budget with LRU eviction, exact purges, nothing torn served.
 */
export interface RenditionTier {
  readonly name: 'memory' | 'disk' | 'shared';
  get(key: string): Promise<Rendition | undefined>;
  /** Stores a rendition; one larger than the whole budget is skipped, not stored by evicting everything. */
  put(key: string, meta: RenditionMeta, rendition: Rendition): Promise<void>;
  delete(key: string): Promise<boolean>;
  purge(match: PurgeMatch): Promise<number>;
  /** entries, bytes, evictions (and tier-specific counters). */
  stats(): { entries: number; bytes: number; evictions: number } & Record<string, number>;
  close(): Promise<void>;
}
