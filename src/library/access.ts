import { mayManage, requireCaller } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import { findImage } from '../core/index.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';

/** The image (by random or public id) if the caller manages it (src/auth/access.ts `mayManage`); 404 otherwise, so another user's image is not revealed. */
export async function managedImage(deps: Deps, p: Principal, id: string): Promise<ImageRow> {
  requireCaller(p);
  const image = await findImage(deps, id);
  if (!image || !mayManage(p, image)) throw new NotFoundError(`No image ${id}`, 'image_not_found');
  return image;
}
