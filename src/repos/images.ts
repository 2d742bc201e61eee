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

/**
 * A new image's columns: the focal point is the database's default, and so is `createdAt` unless
 * given (an import keeping its original's date; the contract's fixtures, which need a known order).
 */
export type NewImage = Omit<ImageRow, 'createdAt' | 'focalX' | 'focalY'> & { createdAt?: number };

/** The columns the random pool keeps of every image (src/random/library-pool.ts). */
export type PoolRow = Pick<ImageRow, 'id' | 'ownerId' | 'visibility' | 'collection' | 'orientation' | 'width' | 'height' | 'tags'>;

/** Where the next `poolPage` starts: opaque, only ever handed back to the repository that gave it. */
export type PoolCursor = string;

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
  /** This owner's image of these bytes (null: the system's, no owner); one row per owner and content. */
  byHash(ownerId: number | null, hash: string): Promise<ImageRow | undefined>;
  /**
   * Whether `publicId` is taken for `imageId` (undefined: an image not inserted yet): another image's
   * public id or random id, another image's renamed-away name, or a retired name.
   */
  nameTaken(publicId: string, imageId?: string): Promise<boolean>;
  /**
   * Gives the image the public id `next` (null: none) in one transaction; its old one becomes a
   * redirect, and taking back a name it once had ends that redirect. Answers the updated row (the
   * same row when `next` is already its name), or undefined when `next` is taken. A concurrent
   * writer taking the name meanwhile makes it reject with the database's unique-constraint error.
   */
  rename(image: ImageRow, next: string | null): Promise<ImageRow | undefined>;
  /**
   * Inserts a new image with its tags, in one transaction with the checks a concurrent upload may
   * have made stale: `existing` when this owner already has these bytes (nothing inserted),
   * `taken` when the row's public id is taken (nothing inserted).
   */
  insert(row: NewImage, tags: string[]): Promise<{ inserted: ImageRow } | { existing: ImageRow } | { taken: true }>;
  /** How many images the library holds (all owners). */
  count(): Promise<number>;
  /**
   * The image a first start shows off: the largest public landscape JPEG (a 12 MP photo shows off
   * the resize), else any image; undefined when the library is empty.
   */
  showcase(): Promise<ImageRow | undefined>;
  /**
   * Every image, `limit` rows at a time, in an order that stays put (a row written meanwhile may
   * or may not be seen; none is answered twice): the random pool's (re)load, which yields between
   * pages. `after`: the previous page's `next` (undefined: from the start). `next` is undefined
   * after the last page.
   */
  poolPage(after: PoolCursor | undefined, limit: number): Promise<{ rows: PoolRow[]; next: PoolCursor | undefined }>;
  /**
   * A mark that moves when another process or node may have written images since it was last
   * read; this process's own writes leave it alone (they reach whoever follows the library through
   * `deps.events`). SQLite: the connection's data_version (another connection's commit to any
   * table); PostgreSQL: the cluster bus's notifications about images and their names, and its
   * resyncs (without a bus it never moves). Cheap enough to read on a request.
   */
  foreignWrites(): string;
}
