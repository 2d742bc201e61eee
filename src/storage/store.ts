/**
 * Where originals live. Keys are content-addressed (`originals/ab/<sha256>`), so a key's
 * bytes never change and writes of the same key are idempotent. Every backend passes the
 * shared contract suite in test/storage/contract.ts.
 */
export interface BlobStore {
  readonly kind: string;
  get(key: string): Promise<Buffer | undefined>;
  /** Atomic: a reader sees the whole object or nothing, never a torn write. */
  put(key: string, data: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
  /**
   * The path of a key's object when it is a file on this machine (whether or not it exists): a
   * render hands it to libvips, which reads it from the OS page cache itself, so the bytes never
   * pass through the JS heap (for a 2 MB original, 5-7 ms less CPU per miss on the bench VM: no
   * fresh pages to fault in). Remote stores have none.
   */
  localFile?(key: string): string;
  /** Throws when the store cannot be read and written (readiness probe). */
  check(): Promise<void>;
}

export function originalKey(hash: string) {
  return `originals/${hash.slice(0, 2)}/${hash}`;
}

/**
 * A store browsers can upload into themselves (S3): a presigned PUT to a staging key, then a HEAD
 * (size checked before a byte is read) and a GET pinned to the ETag that HEAD saw.
 */
export interface DirectUploadStore {
  /** A URL that takes one PUT of exactly `contentLength` bytes of `contentType`, for `expiresIn` seconds from `signedAt`. */
  presignPut(key: string, opts: { contentType: string; contentLength: number; expiresIn: number; signedAt: Date }): Promise<string>;
  stat(key: string): Promise<{ size: number; etag: string } | undefined>;
  /** `changed` when the object no longer has this ETag (someone PUT again since the HEAD). */
  getIfMatch(key: string, etag: string): Promise<Buffer | 'missing' | 'changed'>;
}

export function acceptsDirectUploads(store: BlobStore): store is BlobStore & DirectUploadStore {
  return 'presignPut' in store && typeof store.presignPut === 'function';
}
