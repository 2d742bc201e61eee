import type { OutputFormat } from '../spec/index.js';

export interface Rendition {
  data: Buffer;
  format: OutputFormat;
  width: number;
  height: number;
}

export type CacheTier = 'memory' | 'disk' | 'miss';

export interface CachedRendition extends Rendition {
  tier: CacheTier;
  /** Milliseconds spent rendering (0 for hits). */
  renderMs: number;
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
 */
export interface RenditionCache {
  fetch(key: string, meta: RenditionMeta, render: () => Promise<Rendition>): Promise<CachedRendition>;
  purgeImage(imageId: string): Promise<number>;
  purgePreset(name: string): Promise<number>;
  stats(): Record<string, number>;
  close(): Promise<void>;
}
