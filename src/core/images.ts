import { canSee, mayUseWatermark } from '../auth/access.js';
import type { Authority } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotFoundError, WatermarkRefusedError } from '../errors.js';
import type { Spec } from '../spec/index.js';

/**
 * The image a URL or API path names: its random id or its public id (`blog/2024/cat`); one
 * indexed lookup, none while the database is unchanged (src/repos/sqlite/images.ts).
 */
export function findImage(deps: Pick<Deps, 'repos'>, id: string): Promise<ImageRow | undefined> {
  return deps.repos.images.find(id);
}

/** The image if `authority` may see it; otherwise 404, so a private image's existence is not revealed. */
export async function visibleImage(deps: Pick<Deps, 'repos'>, id: string, authority: Authority): Promise<ImageRow> {
  const image = await findImage(deps, id);
  if (!image || !canSee(authority, image)) throw new NotFoundError(`No image ${id}`, 'image_not_found');
  return image;
}

/** A watermark is another library image: the caller must be allowed to see it, or wm_ would leak a private image. */
export async function checkWatermark(deps: Pick<Deps, 'repos'>, authority: Authority, spec: Spec) {
  if (!spec.wm) return;
  watermarkAllowed(authority, spec.wm, await findImage(deps, spec.wm));
}

/** checkWatermark on a row already looked up (undefined: no such image). */
export function watermarkAllowed(authority: Authority, id: string, wm: ImageRow | undefined) {
  if (!wm || !mayUseWatermark(authority, wm)) throw new WatermarkRefusedError(id);
}
