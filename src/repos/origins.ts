import type { ImageRow, OriginImageRow } from '../db/schema.js';

/** The image columns a remote original takes from its bytes (src/library/ingest.ts describeOriginal). */
export type DescribedOriginal = Omit<
  ImageRow,
  'id' | 'ownerId' | 'visibility' | 'collection' | 'tags' | 'filename' | 'publicId' | 'focalX' | 'focalY' | 'createdAt'
>;

/** Where a remote original (src/origins) came from, and when the origin last answered for it. */
export interface OriginsRepo {
  /** The source of the image with this (derived) id; undefined for a library image. */
  sourceOf(imageId: string): Promise<OriginImageRow | undefined>;
  /** Records a revalidation's outcome (times, validators) on the source row. */
  touch(imageId: string, set: Partial<Omit<OriginImageRow, 'imageId'>>): Promise<void>;
  /**
   * New or changed bytes, in one transaction: the image row is inserted (or, when `id` exists,
   * its bytes' columns replaced) and its source recorded. Answers the row as stored.
   */
  store(image: { id: string; visibility: 'public' | 'private'; filename: string | null } & DescribedOriginal, source: OriginImageRow): Promise<ImageRow>;
}
