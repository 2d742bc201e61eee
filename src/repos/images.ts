import type { ImageRow } from '../db/schema.js';

/** A transformed version recorded against its image (POST /images/{id}/transform). */
export interface VariantRow {
  id: number;
  imageId: string;
  options: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  createdAt: number;
}

/** One page of the library, newest first (src/library/images.ts decides who sees what). */
export interface ImagePageQuery {
  limit: number;
  /** Rows to skip (offset paging); ignored when `after` is set. */
  offset: number;
  /** Keyset paging: rows strictly older than this (created_at, id). */
  after?: { createdAt: number; id: string };
  ownerId?: number;
  collection?: string;
  visibility?: 'public' | 'private';
  orientation?: 'landscape' | 'portrait' | 'square';
  /** A normalised tag. */
  tag?: string;
}

/** The columns an edit may change (tags are stored as a JSON list and indexed in image_tags). */
export interface ImageChanges {
  tags?: string[];
  collection?: string | null;
  visibility?: 'public' | 'private';
  focalX?: number;
  focalY?: number;
}

/**
 * The images aggregate: rows, their tags and their names (public ids, renamed-away aliases,
 * retired names). Methods are async so another database can stand behind the same interface.
 */
export interface ImagesRepo {
  /**
   * The image a URL or API path names: its random id or its public id (`blog/2024/cat`). The hot
   * path of every request: while the database is unchanged the same (frozen) row comes back
   * without a query, through an already-resolved promise.
   */
  find(idOrPublicId: string): Promise<ImageRow | undefined>;
  byId(id: string): Promise<ImageRow | undefined>;
  /** Several rows by id (order not kept; missing ids absent). */
  byIds(ids: string[]): Promise<ImageRow[]>;
  byPublicId(publicId: string): Promise<ImageRow | undefined>;
  /** The image a former public id now redirects to (undefined: the name was never renamed away). */
  renamed(publicId: string): Promise<ImageRow | undefined>;
  /** One page and the total matching the filters. */
  page(q: ImagePageQuery): Promise<{ rows: ImageRow[]; total: number }>;
  /** The row updated (tags in image_tags too, in one transaction); undefined when it is gone. */
  update(id: string, changes: ImageChanges): Promise<ImageRow | undefined>;
  /**
   * Deletes the row (tags and variants cascade) and retires every name it answered to, in one
   * transaction. `hashStillUsed`: another row still uses the same original bytes.
   */
  delete(image: Pick<ImageRow, 'id' | 'hash' | 'publicId'>): Promise<{ hashStillUsed: boolean }>;
  /** Whether a name can never be given out again (a deleted image's public id or alias). */
  isRetired(publicId: string): Promise<boolean>;
  /** Whether any row uses the original bytes of this hash (deleting the file would break it). */
  hashInUse(hash: string): Promise<boolean>;
  /**
   * Records (or refreshes) a variant of an image, in one transaction with the check that the image
   * still exists; false when it was deleted meanwhile (nothing recorded).
   */
  recordVariant(v: Omit<VariantRow, 'id' | 'createdAt'>): Promise<boolean>;
  /** The recorded variants of these images, newest first. */
  variantsOf(imageIds: string[]): Promise<VariantRow[]>;
  /** How many images the library holds (all owners). */
  count(): Promise<number>;
  /**
   * The image a first start shows off: the largest public landscape JPEG (a 12 MP photo shows off
   * the resize), else any image; undefined when the library is empty.
   */
  showcase(): Promise<ImageRow | undefined>;
}
