import { actingUserId, type Principal } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { originalKey } from '../storage/store.js';
import { checkMayListOwner, seesWholeLibrary } from '../auth/access.js';
import { withHashLock } from './hash-lock.js';
import { normaliseTags } from './ingest.js';
import type { VariantRow } from '../repos/images.js';
import { iso, placeholderOf } from './schemas.js';
import { deliveryUrl, imageUrls, variantOptions } from './urls.js';
import { imagePurge } from './cdn.js';

/** Library behaviour behind the image routes: views, listing, edits and deletion. */

export function imageView(deps: Deps, base: string, image: ImageRow) {
  const urls = imageUrls(deps, base, image);
  return {
    id: image.id,
    publicId: image.publicId,
    // What a roadmap.sh client reads: a name, the size in bytes and one URL (the original's).
    name: image.filename ?? image.id,
    size: image.bytes,
    url: urls.original,
    ownerId: image.ownerId,
    width: image.width,
    height: image.height,
    format: image.format,
    bytes: image.bytes,
    frames: image.frames,
    hasAlpha: image.hasAlpha,
    orientation: image.orientation,
    visibility: image.visibility,
    collection: image.collection,
    tags: JSON.parse(image.tags) as string[],
    filename: image.filename,
    placeholder: placeholderOf(image),
    focalPoint: image.focalX !== null && image.focalY !== null ? { x: image.focalX, y: image.focalY } : null,
    createdAt: iso(image.createdAt),
    urls,
  };
}

/**
 * The image with its recorded variants. `format` (roadmap.sh's "optionally in another format")
 * makes `url` the original in that format.
 */
export async function imageDetail(deps: Deps, base: string, image: ImageRow, opts: { format?: string } = {}) {
  const cached = await deps.repos.renditions.countOf(image.id);
  const view = imageView(deps, base, image);
  return {
    ...view,
    ...(opts.format !== undefined && { url: deliveryUrl(deps, base, image, `f_${opts.format}`) }),
    variants: (await variantsOf(deps, base, [image])).get(image.id) ?? [],
    cachedRenditions: cached,
  };
}

/** The recorded variants of several images (one query for a whole list page), newest first. */
export async function variantsOf(deps: Deps, base: string, list: ImageRow[]) {
  const byId = new Map(list.map((image) => [image.id, image]));
  const out = new Map<string, ReturnType<typeof variantView>[]>();
  if (list.length === 0) return out;
  const made = await deps.repos.images.variantsOf([...byId.keys()]);
  for (const v of made) {
    const image = byId.get(v.imageId)!;
    const views = out.get(v.imageId) ?? [];
    views.push(variantView(deps, base, image, v));
    out.set(v.imageId, views);
  }
  return out;
}

function variantView(deps: Deps, base: string, image: ImageRow, v: VariantRow) {
  return {
    options: v.options,
    format: v.format,
    width: v.width,
    height: v.height,
    bytes: v.bytes,
    createdAt: iso(v.createdAt),
    url: deliveryUrl(deps, base, image, variantOptions(v.options, v.format)),
  };
}

export interface ListQuery {
  page: number;
  limit: number;
  cursor?: string;
  tag?: string;
  collection?: string;
  visibility?: 'public' | 'private';
  orientation?: 'landscape' | 'portrait' | 'square';
  owner?: number;
}

/** One page, newest first (the caller's own images; admins and system keys choose any owner or none). */
export async function listImages(deps: Deps, p: Principal, q: ListQuery) {
  checkMayListOwner(p, q.owner);
  const whole = seesWholeLibrary(p);
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const { rows, total } = await deps.repos.images.page({
    ownerId: whole ? q.owner : (actingUserId(p) ?? -1),
    collection: q.collection,
    visibility: q.visibility,
    orientation: q.orientation,
    tag: q.tag === undefined ? undefined : (normaliseTags([q.tag])[0] ?? ''),
    after,
    offset: (q.page - 1) * q.limit,
    limit: q.limit + 1,
  });
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit);
  const last = items.at(-1);
  return { items, total, more, nextCursor: more && last ? encodeCursor(last) : undefined };
}

export function encodeCursor(image: Pick<ImageRow, 'createdAt' | 'id'>) {
  return `${image.createdAt}.${image.id}`;
}

function decodeCursor(cursor: string) {
  const dot = cursor.indexOf('.');
  return { createdAt: Number(cursor.slice(0, dot)), id: cursor.slice(dot + 1) };
}

export interface ImagePatch {
  tags?: string[];
  collection?: string | null;
  visibility?: 'public' | 'private';
}

/** Update the row and, when tags change, image_tags with it (one unit, so filters never see half an edit). */
export async function updateImage(deps: Deps, image: ImageRow, patch: ImagePatch): Promise<ImageRow> {
  const tags = patch.tags === undefined ? undefined : normaliseTags(patch.tags);
  if (tags === undefined && patch.collection === undefined && patch.visibility === undefined) return image;
  const updated = (await deps.repos.images.update(image.id, { tags, collection: patch.collection, visibility: patch.visibility })) ?? image;
  deps.events.changed.forEach((fn) => fn(updated));
  // Public answers sit in the CDN for a year: made private, they must go. Tags and collection change no answer.
  if (image.visibility === 'public' && updated.visibility === 'private') {
    // Here too: a render of it as a public image still running would answer after the CDN's purge, and be kept.
    await deps.cache.purgeImage(image.id);
    (await imagePurge(deps, image, 'image-private')).send();
  }
  return updated;
}

export async function setFocalPoint(deps: Deps, image: ImageRow, point: { x: number; y: number }): Promise<ImageRow> {
  const updated = (await deps.repos.images.update(image.id, { focalX: point.x, focalY: point.y })) ?? image;
  // g_auto renditions were cropped around the old point (or saliency): they are wrong now.
  await deps.cache.purgeImage(image.id);
  if (updated.visibility === 'public') (await imagePurge(deps, updated, 'image-changed')).send();
  deps.events.changed.forEach((fn) => fn(updated));
  return updated;
}

/**
 * Remove an image: rows first (tags and variants cascade), then its rendered copies, then the
 * original bytes unless another row (another owner's upload of the same file) still uses them.
 * Once the row is gone the image is deleted as far as anyone can tell: a failure to clean up the
 * cache or the file afterwards is logged (it costs disk, not correctness) and never turns into an error.
 */
export async function deleteImage(deps: Deps, image: ImageRow) {
  const key = originalKey(image.hash);
  const cdn = await imagePurge(deps, image, 'image-deleted');
  // Under the hash lock, so an upload of the same bytes cannot write its file between our
  // "nobody else uses it" and the removal (that upload's image would lose its original).
  const purgedOriginal = await withHashLock(deps.repos, image.hash, async () => {
    // Every name it answered to is retired with it: a signed URL covers a name, never to open another image.
    const { hashStillUsed: stillUsed } = await deps.repos.images.delete(image);
    deps.events.removed.forEach((fn) => fn(image.id));
    cdn.send();
    if (stillUsed) return false;
    try {
      await deps.store.delete(key);
      return true;
    } catch (err) {
      deps.log.error({ err, imageId: image.id, key }, 'image deleted, but its original could not be removed from storage');
      return false;
    }
  });
  try {
    await deps.cache.purgeImage(image.id);
  } catch (err) {
    deps.log.error({ err, imageId: image.id }, 'image deleted, but its cached renditions could not be purged');
  }
  return { purgedOriginal };
}
