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
  /** Throws when the store cannot be read and written (readiness probe). */
  check(): Promise<void>;
}

export function originalKey(hash: string) {
  return `originals/${hash.slice(0, 2)}/${hash}`;
}
