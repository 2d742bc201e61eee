import type { ApiKeyRow } from '../db/schema.js';

/** API key rows (src/auth/keys.ts holds the secrets, rotation rules and the verdict cache; this, the storage). */
export interface KeysRepo {
  /** The key not revoked whose current secret hashes to `hash`, or whose previous one does while its grace lasts past `now`. */
  liveByHash(hash: string, now: number): Promise<ApiKeyRow | undefined>;
  byId(id: string): Promise<ApiKeyRow | undefined>;
  /** Newest first; `userId`: that user's keys, null: the system keys (no owner), undefined: all. */
  list(userId?: number | null): Promise<ApiKeyRow[]>;
  count(): Promise<number>;
  insert(key: { id: string; userId: number | null; name: string; prefix: string; hash: string; scopes: string }): Promise<void>;
  /** Marks the key revoked at `at` and drops its previous secret; false when there is no such key. */
  revoke(id: string, at: number): Promise<boolean>;
  setSecret(id: string, secret: { hash: string; prefix: string; previousHash: string | null; previousValidUntil: number | null }): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * A mark that moves whenever the stored keys may have changed (here or in another process).
   * Synchronous: the verdict cache reads it on every keyed request, and a hit must not wait.
   */
  changes(): string;
}
