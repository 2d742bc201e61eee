import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import type { ImagesRepo } from '../repos/images.js';
import { BadRequestError, ConflictError } from '../errors.js';
import { publicIdProblem } from '../spec/public-id.js';
import { imagePurge } from './cdn.js';

/**
 * Readable public ids (`blog/2024/cat`), the library side: who may take a name, and renames.
 *
 * One namespace per server, like a Cloudinary cloud: `/img/blog/cat` is a URL anyone can type,
 * so it must name one image whoever asks. Per-owner namespaces would need the owner in every
 * URL (or a guess when two owners both have `blog/cat`); a server shared by several users gets
 * the first-come rule its users already know from usernames. The 409 for a taken name says only
 * that it is taken, never whose image or whether that image is private.
 *
 * A name is taken when it is another image's public id, another image's random id (both are
 * looked up by the same URLs, src/core/images.ts findImage), or an old name another image
 * keeps as a redirect (image_aliases).
 *
 * Renaming keeps the old name as a 301 to the new one, for as long as the image lives: pages and
 * browsers that cached the permanent redirect keep working, which they would not if the name could
 * go to someone else. Removing a public id (null) redirects the old name to the random id.
 */

export function checkPublicId(publicId: string): string {
  const problem = publicIdProblem(publicId);
  if (problem) throw new BadRequestError(`Invalid publicId: ${problem}`, { field: 'publicId' }, 'bad_public_id');
  return publicId;
}

/** Throws 409 unless `publicId` is free for `imageId` (undefined: an image not inserted yet). */
export async function checkPublicIdFree(images: Pick<ImagesRepo, 'nameTaken'>, publicId: string, imageId?: string) {
  if (await images.nameTaken(publicId, imageId)) throw taken(publicId);
}

export function taken(publicId: string) {
  return new ConflictError(`The public id ${JSON.stringify(publicId)} is taken`, { field: 'publicId' });
}

/** SQLite's answer when a concurrent writer took the name between our check and our write. */
export function isPublicIdRace(err: unknown) {
  return err instanceof Error && /UNIQUE constraint failed: (images\.public_id|image_aliases\.public_id)/.test(err.message);
}

/**
 * Give `image` the public id `next` (null: none), in one transaction; the old one becomes a
 * redirect. Returns the updated row; 409 when `next` is taken, checked or raced.
 */
export async function assignPublicId(images: Pick<ImagesRepo, 'rename'>, image: ImageRow, next: string | null): Promise<ImageRow> {
  let updated: ImageRow | undefined;
  try {
    updated = await images.rename(image, next);
  } catch (err) {
    if (isPublicIdRace(err) && next !== null) throw taken(next);
    throw err;
  }
  if (!updated) throw taken(next!);
  return updated;
}

/**
 * PATCH publicId: rename (old name redirects), set or remove, in one transaction. A name given
 * up answers a 301 from now on, so the CDN forgets what it kept under the old name (and a cached
 * redirect under the new one, when renaming back).
 */
export async function renameImage(deps: Deps, image: ImageRow, next: string | null): Promise<ImageRow> {
  if (next !== null) checkPublicId(next);
  const updated = await assignPublicId(deps.repos.images, image, next);
  if (updated === image) return updated;
  deps.events.changed.forEach((fn) => fn(updated));
  if (image.visibility === 'public' && image.publicId !== null && image.publicId !== updated.publicId) {
    (await imagePurge(deps, image, 'image-renamed', [image.publicId, ...(updated.publicId ? [updated.publicId] : [])])).send();
  }
  return updated;
}

/** The image a former public id now redirects to (undefined: the name was never renamed away). */
export function findRenamed(deps: Pick<Deps, 'repos'>, publicId: string): Promise<ImageRow | undefined> {
  return deps.repos.images.renamed(publicId);
}
