import { requireCaller } from '../auth/guards.js';
import { actingUserId, isAdmin, type Principal } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import { findImage } from '../delivery/deliver.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';

/**
 * Who may use the management API. Unlike delivery (where a public image is anyone's to
 * fetch), the library is per owner: a user manages only their own images, even public ones.
 */

/** Admins and system keys (no owning user, e.g. ADMIN_API_KEY) manage the whole library. */
export function seesWholeLibrary(p: Principal) {
  return isAdmin(p) || (p.kind === 'key' && p.userId === null);
}

export function mayManage(p: Principal, image: Pick<ImageRow, 'ownerId'>) {
  if (seesWholeLibrary(p)) return true;
  const uid = actingUserId(p);
  return uid !== null && uid === image.ownerId;
}

/** The image (by random or public id) if the caller manages it; 404 otherwise, so another user's image is not revealed. */
export function managedImage(deps: Deps, p: Principal, id: string): ImageRow {
  requireCaller(p);
  const image = findImage(deps, id);
  if (!image || !mayManage(p, image)) throw new NotFoundError(`No image ${id}`, 'image_not_found');
  return image;
}
