import type { DirectUploadRow } from '../db/schema.js';

export type { DirectUploadRow };

export type NewDirectUpload = Pick<DirectUploadRow, 'id' | 'caller' | 'ownerId' | 'contentType' | 'bytes' | 'options' | 'expiresAt' | 'completeBy'>;

/** Direct uploads waiting for their complete (src/library/direct-uploads.ts); times are unix seconds. */
export interface DirectUploadsRepo {
  /** A new upload, pending. */
  create(upload: NewDirectUpload): Promise<void>;
  byId(id: string): Promise<DirectUploadRow | undefined>;
  /** `completeBy` of the caller's uploads still open (pending or completing, not past completeBy), soonest first. */
  openFor(caller: string, now: number): Promise<number[]>;
  /**
   * Takes the upload for one complete: pending, or completing with a claim older than
   * `staleBefore` (a complete that crashed). Undefined when another complete holds it.
   */
  claim(id: string, now: number, staleBefore: number): Promise<DirectUploadRow | undefined>;
  /** Records the outcome (or `pending` again) and drops the claim. */
  settle(id: string, state: DirectUploadRow['state'], result: string | null): Promise<void>;
  delete(id: string): Promise<void>;
  /** Up to `limit` uploads whose completeBy is before `now`, whatever their state. */
  due(now: number, limit: number): Promise<DirectUploadRow[]>;
}
