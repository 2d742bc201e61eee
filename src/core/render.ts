import { cacheMissCharge, type RequestScope } from '../auth/state.js';
import type { CachedRendition, Rendition } from '../cache/types.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import {
  AppError,
  CorruptImageError,
  NotFoundError,
  OriginalCorruptError,
  OriginalMissingError,
  StorageUnavailableError,
  UnsupportedMediaError,
  WatermarkRefusedError,
} from '../errors.js';
import { decodes, render } from '../render/index.js';
import type { Input } from '../render/types.js';
import { readHead } from '../storage/read.js';
import { originalKey } from '../storage/store.js';
import { findImage } from './images.js';
import type { DeliveryPlan } from './plan.js';

/**
 * The rendition of a plan through the cache tiers (memory, disk, one coalesced render). Its
 * `tier` says where it came from, for the surface to report (X-Cache, metrics) as it likes.
 * `charged`: who a render is charged to (RATE_LIMIT_MISS_PER_MIN, the key's usage); nobody for
 * the server's own work.
 */
export function renderVia(deps: Deps, plan: DeliveryPlan, charged?: RequestScope): Promise<CachedRendition> {
  const chargeMiss = cacheMissCharge(deps, charged);
  return deps.cache.fetch(plan.key, { imageId: plan.image.id, options: plan.canonical, preset: plan.preset }, async () => {
    // Only a miss reaches here: throttles the caller (RATE_LIMIT_MISS_PER_MIN) and counts the render.
    chargeMiss();
    return renderPlan(deps, plan);
  });
}

async function renderPlan(deps: Deps, plan: DeliveryPlan): Promise<Rendition> {
  const { image, spec, format } = plan;
  const input = await decodableOriginal(deps, image);
  if (!input) throw await originalMissing(deps, image);
  const wm = spec.wm ? await findImage(deps, spec.wm) : undefined;
  // Deleted since the plan allowed it: refused as the plan would refuse it now.
  if (spec.wm && !wm) throw new WatermarkRefusedError(spec.wm);
  const watermark = wm && (await decodableOriginal(deps, wm));
  if (wm && !watermark) throw await originalMissing(deps, wm, spec.wm);
  const focal = image.focalX !== null && image.focalY !== null ? { x: image.focalX, y: image.focalY } : undefined;
  const started = performance.now();
  const { limits } = deps.config;
  const reduced = (shrink: number) => deps.originals.reduced(image.hash, image.format, input, image, shrink, limits.maxInputPixels);
  const out = await render(input, spec, { format, limits, watermark, focal, stored: image, reduced }).catch(async (err: unknown) => {
    if (!mayBeTheFile(err)) throw err;
    if (typeof input !== 'string' && typeof watermark !== 'string') throw await blame(deps, err, [image, input], wm && watermark && [wm, watermark]);
    // libvips failed on a file it was to read: gone (the image deleted meanwhile), unreadable, an
    // I/O error. Its own words would be a 415 or 422 naming the path; read the bytes as from a
    // remote store instead and answer as that would: 500 original_missing, a 503 to retry, or
    // whatever the bytes' own failure is (see blame).
    const bytes = typeof input === 'string' ? await readOriginal(deps, image) : input;
    if (!bytes) throw await originalMissing(deps, image);
    const wmBytes = typeof watermark === 'string' ? await readOriginal(deps, wm!) : watermark;
    if (wm && !wmBytes) throw await originalMissing(deps, wm, spec.wm);
    return render(bytes, spec, { format, limits, watermark: wmBytes, focal, stored: image }).catch(async (again: unknown) => {
      if (!mayBeTheFile(again)) throw again;
      throw await blame(deps, again, [image, bytes], wm && wmBytes && [wm, wmBytes]);
    });
  });
  // Recorded here, once per actual render: coalesced waiters and hits never reach this line.
  deps.metrics?.observeRender(out.format, (performance.now() - started) / 1000);
  // Never larger than the source for nothing: when the options changed no pixel (a pure
  // re-encode, `unchanged`) and the format is the source's, more bytes -> the source bytes,
  // provided they carry no metadata (GPS) or rotation that must be stripped. The row knows the
  // source's size, so the original is read only when it is the answer (`input` may be its baseline copy).
  if (out.unchanged && image.clean && out.format === image.format && out.data.length > image.bytes) {
    const source = await readOriginal(deps, image);
    if (source) return { ...out, data: source };
  }
  return out;
}

/**
 * What libvips makes of a file it cannot read (see toAppError): a corrupt or unknown image, or its
 * own words for the rest (`render_failed`: a file deleted between libvips' header read and its
 * reopening for the pixels says 'unable to open ... for read', found by a CI run). Our own refusals
 * (limits, options) are not about the file.
 */
function mayBeTheFile(err: unknown) {
  return err instanceof CorruptImageError || err instanceof UnsupportedMediaError || (err instanceof AppError && err.code === 'render_failed');
}

/**
 * Whose fault a render from the originals' bytes that failed as mayBeTheFile is. Every original
 * decoded at upload (probe), so one that no longer does was truncated or overwritten behind the
 * server's back: 500 original_corrupt (the image's or the watermark's), not the 415/422 of an
 * upload, and never libvips' words (they may name a path; they go to the log). Originals that
 * still decode leave the failure to the options: it stays the 400 or 422 it was. Only failures pay
 * for this decode. A copy held in memory (originals cache, baseline copy) from before the damage
 * goes on rendering until it is evicted or the server restarts.
 */
async function blame(deps: Deps, err: unknown, ...sources: ([ImageRow, Buffer] | undefined)[]): Promise<unknown> {
  for (const source of sources) {
    if (!source || (await decodes(source[1], source[0], deps.config.limits.maxInputPixels))) continue;
    const [row] = source;
    deps.log.error({ err, imageId: row.id, hash: row.hash }, 'original cannot be decoded');
    return new OriginalCorruptError(source === sources[0] ? row.id : undefined);
  }
  return err;
}

/**
 * No original where the image's row says: the image deleted since this request found it (a 404, as
 * a moment later; a watermark's `wm_` refused as the plan would now), else storage lost it (a 500
 * for the operator, logged).
 */
async function originalMissing(deps: Deps, image: ImageRow, asWatermark?: string): Promise<AppError> {
  if (!(await findImage(deps, image.id))) {
    return asWatermark === undefined ? new NotFoundError(`No image ${image.id}`, 'image_not_found') : new WatermarkRefusedError(asWatermark);
  }
  deps.log.error({ imageId: image.id, hash: image.hash }, 'original missing from storage');
  return new OriginalMissingError(asWatermark === undefined ? image.id : undefined);
}

/**
 * What to decode for an image's original (undefined when storage has none): what the originals
 * cache holds since an earlier miss; else its local file, which libvips reads itself; else its
 * bytes, read and kept (a progressive JPEG as its baseline copy, the same pixels at a fraction of
 * the decoding cost: that needs the bytes of a local one too).
 */
async function decodableOriginal(deps: Deps, image: ImageRow): Promise<Input | undefined> {
  const held = deps.originals.held(image.hash);
  if (held) return held;
  const file = deps.store.localFile?.(originalKey(image.hash));
  const head = () => fromStorage(deps, image, () => readHead(file!, HEAD_BYTES));
  if (file && !(await deps.originals.wantsBytes(image.hash, image.format, head))) return file;
  const original = await readOriginal(deps, image);
  return original && deps.originals.decodable(image.hash, image.format, original);
}

/** Enough of a JPEG to reach its frame header past the usual EXIF and ICC segments. */
const HEAD_BYTES = 64 * 1024;

/** An original's bytes (undefined when absent). */
function readOriginal(deps: Deps, image: ImageRow): Promise<Buffer | undefined> {
  return fromStorage(deps, image, () => deps.store.get(originalKey(image.hash)));
}

/** A read of an original; a store that fails (EIO, S3 down) is a 503 to retry, not a 500. */
async function fromStorage<T>(deps: Deps, image: ImageRow, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof AppError) throw err;
    deps.log.error({ err, imageId: image.id, store: deps.store.kind }, 'original could not be read from storage');
    throw new StorageUnavailableError();
  }
}
