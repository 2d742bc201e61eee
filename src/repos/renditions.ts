import type { RenditionRow } from '../db/schema.js';

export type { RenditionRow };

/** A rendition as the index records it (`createdAt` is the database's to set). */
export type RenditionEntry = Omit<RenditionRow, 'createdAt'>;

/** What one query tells `imgpath cache stats` about the whole index. */
export interface RenditionIndexReport {
  byFormat: Array<{ format: string; entries: number; bytes: number }>;
  /** Distinct images with at least one rendition. */
  images: number;
  /** Least and most recent `lastAccess` (ms epoch); null when the index is empty. */
  oldestAccess: number | null;
  newestAccess: number | null;
}

/**
 * The disk cache's index (src/cache/disk.ts): the truth for the LRU order and the byte budget, so
 * both survive a restart, and the purge-by-image / by-preset lists. Keys are the cache keys.
 */
export interface RenditionsRepo {
  byKey(key: string): Promise<RenditionRow | undefined>;
  /** Inserts or replaces the entry under `entry.key`, in one unit of work; answers the entry it replaced. */
  put(entry: RenditionEntry): Promise<Pick<RenditionRow, 'format' | 'bytes'> | undefined>;
  totals(): Promise<{ entries: number; bytes: number }>;
  /** The `limit` least recently read, oldest first. */
  leastRecent(limit: number): Promise<Array<Pick<RenditionRow, 'key' | 'format' | 'bytes'>>>;
  /** One unit of work; answers the keys that were there (and so were removed). */
  remove(keys: readonly string[]): Promise<string[]>;
  /** Records reads (key, ms epoch) in one unit of work; unknown keys are skipped. */
  touch(reads: ReadonlyArray<readonly [key: string, at: number]>): Promise<void>;
  /** Entries not read since `beforeMs`. */
  idleBefore(beforeMs: number): Promise<RenditionRow[]>;
  all(): Promise<RenditionRow[]>;
  /**
   * Entries of this image and every entry whose options may name it as a watermark (`wm_{id}`):
   * a superset the caller narrows to the exact option token.
   */
  byImage(imageId: string): Promise<RenditionRow[]>;
  byPreset(preset: string): Promise<RenditionRow[]>;
  /** How many entries this image has itself (its watermark uses not counted). */
  countOf(imageId: string): Promise<number>;
  report(): Promise<RenditionIndexReport>;
}
