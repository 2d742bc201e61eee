import { randomBytes } from 'node:crypto';
import type { Caller } from '../auth/principal.js';
import { actingUserId } from '../auth/principal.js';
import type { DirectUploadRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { AppError, NotFoundError, StorageUnavailableError } from '../errors.js';
import { acceptsDirectUploads, type BlobStore, type DirectUploadStore } from '../storage/store.js';
import { checkUploadSize, ingest, type IngestOptions, type IngestResult } from './ingest.js';

/**
 * Direct uploads (STORAGE=s3): the browser PUTs the file to the bucket itself, through a presigned
 * URL, so the bytes never cross imgpath twice; `complete` then runs them through the one ingest
 * path (sniffed, limits, dedup) and removes the staging object, accepted or refused.
 *
 * The presigned PUT binds the exact Content-Length and Content-Type (signed headers); it cannot
 * bind a maximum, so complete checks the size with a HEAD before reading a byte, and reads with
 * If-Match on the ETag that HEAD saw, so an object swapped in between is never read.
 */

/** A PUT that started just before the URL expired may still be running; complete waits this long for it. */
const COMPLETE_GRACE_SECONDS = 600;
/** A complete that crashed mid-way leaves its claim; after this another complete may take the upload. */
const CLAIM_TIMEOUT_SECONDS = 300;
/** Expired uploads swept per new upload: bounded, so opening an upload never waits on a long backlog. */
const SWEEP_BATCH = 10;

type Store = BlobStore & DirectUploadStore;

export interface UploadRequest extends Omit<IngestOptions, 'ownerId'> {
  contentType: string;
  bytes: number;
}

export interface UploadTicket {
  id: string;
  url: string;
  method: 'PUT';
  /** Headers the PUT must carry as signed (Content-Length is the browser's to set, and must equal `bytes`). */
  headers: { 'Content-Type': string };
  bytes: number;
  expiresAt: number;
  completeBy: number;
}

export function stagingKey(id: string) {
  return `uploads/${id}`;
}

function storeOf(deps: Deps): Store {
  if (!acceptsDirectUploads(deps.store)) {
    throw new AppError(
      501,
      'direct_uploads_unavailable',
      'Direct uploads need STORAGE=s3 (originals in a bucket the browser can PUT to); use POST /images here',
    );
  }
  return deps.store;
}

/** Uploads are personal: the user they were opened for (any of their credentials), or the very key when it has no user. */
function callerKey(p: Caller) {
  const uid = actingUserId(p);
  return uid !== null ? `user:${uid}` : `key:${p.kind === 'key' ? p.keyId : 'none'}`;
}

export async function openUpload(deps: Deps, caller: Caller, req: UploadRequest): Promise<UploadTicket> {
  const store = storeOf(deps);
  checkUploadSize(deps.config, req.bytes);
  await sweepUploads(deps);
  const now = deps.clock();
  const who = callerKey(caller);
  const open = await deps.repos.directUploads.openFor(who, now);
  const max = deps.config.MAX_OPEN_UPLOADS;
  if (open.length >= max) {
    const retryAfter = Math.max(1, open[0]! - now);
    throw new AppError(
      429,
      'too_many_open_uploads',
      `${open.length} uploads are open; complete one or wait for one to expire (MAX_OPEN_UPLOADS=${max})`,
      { limit: max, retryAfter },
      { 'Retry-After': String(retryAfter) },
    );
  }

  const id = randomBytes(12).toString('base64url');
  const ttl = deps.config.UPLOAD_URL_TTL_SECONDS;
  const expiresAt = now + ttl;
  const completeBy = expiresAt + COMPLETE_GRACE_SECONDS;
  const url = await store.presignPut(stagingKey(id), {
    contentType: req.contentType,
    contentLength: req.bytes,
    expiresIn: ttl,
    signedAt: new Date(now * 1000),
  });
  const { contentType, bytes, ...options } = req;
  await deps.repos.directUploads.create({
    id,
    caller: who,
    ownerId: actingUserId(caller),
    contentType,
    bytes,
    options: JSON.stringify(options),
    expiresAt,
    completeBy,
  });
  return { id, url, method: 'PUT', headers: { 'Content-Type': contentType }, bytes, expiresAt, completeBy };
}

/**
 * Ingests what was PUT. Idempotent: a second complete of an accepted upload answers its image again
 * (as a duplicate, like the same bytes uploaded twice), of a refused one the same refusal.
 */
export async function completeUpload(deps: Deps, caller: Caller, id: string): Promise<IngestResult> {
  const store = storeOf(deps);
  const row = await deps.repos.directUploads.byId(id);
  // Another caller's upload answers like an unknown one: ids are not revealed.
  if (!row || row.caller !== callerKey(caller)) throw new NotFoundError(`No upload ${id}`, 'upload_not_found');
  const now = deps.clock();
  if (row.state === 'done') return replayDone(deps, row);
  if (row.state === 'refused') throw replayRefusal(row);
  if (now > row.completeBy) {
    await discard(deps, store, row);
    throw new AppError(410, 'upload_expired', `Upload ${id} expired; open a new one`);
  }

  const claimed = await deps.repos.directUploads.claim(id, now, now - CLAIM_TIMEOUT_SECONDS);
  if (!claimed) throw new AppError(409, 'upload_in_progress', `Upload ${id} is being completed by another request`);

  try {
    const bytes = await readStaged(deps, store, row);
    const options = JSON.parse(row.options) as Omit<IngestOptions, 'ownerId'>;
    const result = await ingest(deps, bytes, { ...options, ownerId: row.ownerId });
    await setState(deps, id, 'done', { imageId: result.image.id });
    await removeStaged(deps, store, row);
    return result;
  } catch (err) {
    if (isRefusal(err)) {
      // The bytes are at fault: nothing of them may stay behind, and the answer is final.
      await removeStaged(deps, store, row);
      await setState(deps, id, 'refused', { status: err.status, code: err.code, message: err.message, details: err.details });
    } else {
      // Not there yet, changed meanwhile, or the store failed: the caller may try again.
      await setState(deps, id, 'pending', null);
    }
    throw err;
  }
}

/** 4xx about the bytes (413, 415, 422, 400); 409s (nothing PUT yet, PUT again meanwhile) can be retried. */
function isRefusal(err: unknown): err is AppError {
  return err instanceof AppError && err.status >= 400 && err.status < 500 && err.status !== 409;
}

async function readStaged(deps: Deps, store: Store, row: DirectUploadRow): Promise<Buffer> {
  const key = stagingKey(row.id);
  const notYet = () => new AppError(409, 'upload_missing', `Nothing has been PUT to upload ${row.id}'s URL yet`);
  const stat = await storeCall(deps, row, () => store.stat(key));
  if (!stat) throw notYet();
  // Before a byte is read: the signed Content-Length bounds a PUT, but not every S3 server checks it.
  checkUploadSize(deps.config, stat.size);
  const bytes = await storeCall(deps, row, () => store.getIfMatch(key, stat.etag));
  if (bytes === 'missing') throw notYet();
  if (bytes === 'changed') throw new AppError(409, 'upload_changed', `Upload ${row.id} was PUT again while being completed; complete it again`);
  return bytes;
}

async function storeCall<T>(deps: Deps, row: DirectUploadRow, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    deps.log.error({ err, upload: row.id }, 'could not read a direct upload from the image store');
    throw new StorageUnavailableError();
  }
}

async function replayDone(deps: Deps, row: DirectUploadRow): Promise<IngestResult> {
  const { imageId } = JSON.parse(row.result ?? '{}') as { imageId?: string };
  const image = imageId ? await deps.repos.images.byId(imageId) : undefined;
  if (!image) throw new NotFoundError(`The image made from upload ${row.id} was deleted`, 'image_not_found');
  return { image, duplicate: true };
}

function replayRefusal(row: DirectUploadRow) {
  const r = JSON.parse(row.result ?? '{}') as { status: number; code: string; message: string; details?: Record<string, unknown> };
  return new AppError(r.status, r.code, r.message, r.details ?? {});
}

function setState(deps: Deps, id: string, state: DirectUploadRow['state'], result: object | null) {
  return deps.repos.directUploads.settle(id, state, result && JSON.stringify(result));
}

/** Best effort: a staging object that could not be removed now is removed by the sweep after completeBy. */
async function removeStaged(deps: Deps, store: Store, row: DirectUploadRow) {
  try {
    await store.delete(stagingKey(row.id));
    return true;
  } catch (err) {
    deps.log.warn({ err, upload: row.id }, "could not remove a direct upload's staging object; the sweep retries");
    return false;
  }
}

async function discard(deps: Deps, store: Store, row: DirectUploadRow) {
  if (await removeStaged(deps, store, row)) await deps.repos.directUploads.delete(row.id);
}

/**
 * Removes uploads past completeBy, in any state, with their staging objects: a presigned URL can be
 * PUT to again after complete, until it expires, so even a completed upload may have left an object.
 */
export async function sweepUploads(deps: Deps, limit = SWEEP_BATCH) {
  if (!acceptsDirectUploads(deps.store)) return 0;
  const store = deps.store;
  const due = await deps.repos.directUploads.due(deps.clock(), limit);
  for (const row of due) await discard(deps, store, row);
  return due.length;
}
