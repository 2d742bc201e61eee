import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import type { LibraryEvents } from '../deps.js';
import type { ImageRow } from '../db/schema.js';
import { ConflictError, StorageUnavailableError, TooLargeError } from '../errors.js';
import type { Logger } from '../log.js';
import { placeholder, probe } from '../render/probe.js';
import type { ClusterRepo } from '../repos/cluster.js';
import type { ImagesRepo } from '../repos/images.js';
import type { ImageFacts } from '../render/types.js';
import { originalKey, type BlobStore } from '../storage/store.js';
import { fileLabel } from './file-names.js';
import { withHashLock } from './hash-lock.js';
import { newImageId } from './ids.js';
import { assignPublicId, checkPublicId, checkPublicIdFree, isPublicIdRace, taken } from './public-ids.js';

export interface IngestOptions {
  ownerId?: number | null;
  filename?: string;
  visibility?: 'public' | 'private';
  tags?: string[];
  collection?: string | null;
  /** A readable id (`blog/2024/cat`), validated and free (409 otherwise); absent = only the random id. */
  publicId?: string;
}

export interface IngestResult {
  image: ImageRow;
  /** True when the same bytes were already in this owner's library: nothing new was stored. */
  duplicate: boolean;
}

export interface IngestDeps {
  config: Config;
  /** `cluster`: nodes sharing the store lock an original's hash across processes (./hash-lock.ts). */
  repos: { images: ImagesRepo; cluster?: ClusterRepo };
  store: BlobStore;
  /** Listeners told about every new image (the random pool follows them). */
  events?: LibraryEvents;
  /** Where a storage failure's cause goes (the caller only sees a 503). */
  log?: Pick<Logger, 'error'>;
}

/**
 * The one way bytes become a library image (upload, CLI import, drop folder, first-start samples).
 * Order matters for crash safety: the original is written (atomically) before the row that
 * points at it, so a crash can leave an unreferenced blob, never a row without its bytes.
 */
export async function ingest(deps: IngestDeps, bytes: Buffer, opts: IngestOptions = {}): Promise<IngestResult> {
  const { config } = deps;
  const images = deps.repos.images;
  checkUploadSize(config, bytes.length);
  const facts = await probe(bytes, config.limits);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const ownerId = opts.ownerId ?? null;

  const publicId = opts.publicId === undefined ? undefined : checkPublicId(opts.publicId);
  const existing = await images.byHash(ownerId, hash);
  if (existing) return announced(deps, existing, await duplicateOf(images, existing, publicId));
  if (publicId !== undefined) await checkPublicIdFree(images, publicId);

  // Everything that can reject the bytes runs before the write, so a refused upload leaves no file.
  const tags = normaliseTags(opts.tags ?? []);
  const row = {
    id: newImageId(),
    ownerId,
    ...(await describeProbed(bytes, hash, facts)),
    visibility: opts.visibility ?? config.DEFAULT_VISIBILITY,
    collection: opts.collection ?? null,
    tags: JSON.stringify(tags),
    filename: fileLabel(opts.filename),
    publicId: publicId ?? null,
  } as const;

  // Write and row under the hash lock: a delete of another owner's copy of these bytes then sees
  // our row before it decides the file is unused, or finishes removing it before we write it again.
  let inserted: IngestResult;
  try {
    inserted = await withHashLock(deps.repos, hash, async () => {
      await writeOriginal(deps, hash, bytes);
      // A concurrent ingest of the same bytes by the same owner may have won the race since the check above.
      return insertOrRelease(deps, hash, async () => {
        const done = await images.insert(row, tags);
        if ('existing' in done) return announced(deps, done.existing, await duplicateOf(images, done.existing, publicId));
        if ('taken' in done) throw taken(publicId!);
        return { image: done.inserted, duplicate: false };
      });
    });
  } catch (err) {
    // Another process took the name between our check and our insert: the same 409 as if we had seen it.
    if (isPublicIdRace(err)) throw new ConflictError(`The public id ${JSON.stringify(publicId)} is taken`, { field: 'publicId' });
    throw err;
  }
  if (!inserted.duplicate) deps.events?.added.forEach((fn) => fn(inserted.image));
  return inserted;
}

/**
 * Runs the row's transaction after the original was written, under the hash lock. When it is
 * refused (a public id taken by a concurrent upload, say) and no row points at these bytes, the
 * file just written goes again: a refused upload leaves nothing behind, raced or not.
 */
async function insertOrRelease(deps: IngestDeps, hash: string, insert: () => Promise<IngestResult>): Promise<IngestResult> {
  try {
    return await insert();
  } catch (err) {
    if (!(await deps.repos.images.hashInUse(hash))) {
      await deps.store
        .delete(originalKey(hash))
        .catch((cause: unknown) => deps.log?.error({ err: cause, hash }, "a refused upload's original could not be removed"));
    }
    throw err;
  }
}

/** A duplicate that just took its public id is a changed image (the random pool keeps rows). */
function announced(deps: IngestDeps, before: ImageRow, result: IngestResult): IngestResult {
  if (result.image.publicId !== before.publicId) deps.events?.changed.forEach((fn) => fn(result.image));
  return result;
}

/**
 * The same bytes again from the same owner: the existing image, which takes the asked-for public id
 * if it has none yet. One that already has another is a 409 (one row per owner and content): the
 * caller renames it with PATCH, or knows the bytes are there under that name.
 */
async function duplicateOf(images: ImagesRepo, existing: ImageRow, publicId: string | undefined): Promise<IngestResult> {
  if (publicId === undefined || existing.publicId === publicId) return { image: existing, duplicate: true };
  if (existing.publicId !== null) {
    throw new ConflictError(
      `These bytes are already your image ${JSON.stringify(existing.publicId)} (${existing.id}); rename it with PATCH /images/{id} to change its public id`,
      {
        field: 'publicId',
        id: existing.id,
        publicId: existing.publicId,
      },
    );
  }
  return { image: await assignPublicId(images, existing, publicId), duplicate: true };
}

/**
 * The columns an image row takes from its bytes alone (hash, type, size, placeholder), after the
 * same sniffing and limits as every upload: 415 for non-images, 413 past the pixel or frame limits,
 * 422 for bytes that do not decode. Remote originals (src/origins) are described by this too.
 */
export async function describeOriginal(config: Pick<Config, 'limits'>, bytes: Buffer) {
  const facts = await probe(bytes, config.limits);
  return describeProbed(bytes, createHash('sha256').update(bytes).digest('hex'), facts);
}

async function describeProbed(bytes: Buffer, hash: string, facts: ImageFacts) {
  const ph = await placeholder(bytes);
  return {
    hash,
    format: facts.format,
    width: facts.width,
    height: facts.height,
    bytes: bytes.length,
    frames: facts.frames,
    hasAlpha: facts.hasAlpha,
    clean: !facts.hasMetadata,
    orientation: orientationOf(facts.width, facts.height),
    placeholder: ph.thumbhash,
    placeholderUri: ph.dataUri,
    dominant: ph.dominant,
  };
}

/** Stores an original's bytes under its hash; call under withHashLock(hash). A store failure is a 503 to retry. */
export async function writeOriginal(deps: Pick<IngestDeps, 'store' | 'log'>, hash: string, bytes: Buffer) {
  try {
    await deps.store.put(originalKey(hash), bytes);
  } catch (err) {
    deps.log?.error({ err, hash }, 'could not write an original to the image store');
    throw new StorageUnavailableError();
  }
}

/** What the upload size check reads: the limit, and the variable that set it (named in the refusal). */
export type UploadSizeConfig = Pick<Config, 'MAX_UPLOAD_MB'> & { limits: Pick<Config['limits'], 'maxUploadBytes'> };

/** MAX_UPLOAD_MB, checked on a size alone so file readers can refuse a huge file without reading it. */
export function checkUploadSize(config: UploadSizeConfig, bytes: number) {
  const limit = config.limits.maxUploadBytes;
  if (bytes > limit) throw new TooLargeError(`Image is ${bytes} bytes; the limit is MAX_UPLOAD_MB=${config.MAX_UPLOAD_MB}`, { limit });
}

export function orientationOf(width: number, height: number) {
  // Within 2% counts as square: a 1000x990 photo is square to a layout, not landscape.
  if (Math.abs(width - height) <= Math.max(width, height) * 0.02) return 'square' as const;
  return width > height ? ('landscape' as const) : ('portrait' as const);
}

export function normaliseTags(tags: string[]) {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter((t) => /^[\p{L}\p{N}_ -]{1,64}$/u.test(t)))].slice(0, 50);
}
