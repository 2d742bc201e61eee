import type { Principal } from '../auth/principal.js';
import type { RequestScope } from '../auth/state.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { planDelivery, renderVia } from '../core/index.js';
import type { Spec } from '../spec/index.js';
import { deliveryUrl, variantOptions } from './urls.js';

export interface TransformResult {
  imageId: string;
  options: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  url: string;
}

/**
 * Render through the delivery path (same plan, cache key and cache as /img), so the answer's
 * URL is served from cache at once, then record the variant against its image.
 * The caller's rights on the image were checked by the route: the render is the server's own work
 * for that caller (an `internal` authority), so a watermark must still be one they may see.
 */
export async function makeVariant(
  deps: Deps,
  args: { principal: Principal; image: ImageRow; spec: Spec; accept?: string; base: string; charged?: RequestScope },
): Promise<TransformResult> {
  const { image } = args;
  const plan = await planDelivery(deps, { authority: { kind: 'internal', for: args.principal }, image, spec: args.spec, accept: args.accept });
  const out = await renderVia(deps, plan, args.charged);
  const bytes = out.data.length;
  // False when the image was deleted while rendering (a slow async task): nothing to record against.
  const recorded = await deps.repos.images.recordVariant({
    imageId: image.id,
    options: plan.canonical,
    format: out.format,
    width: out.width,
    height: out.height,
    bytes,
  });
  if (!recorded) {
    // The render landed in the cache after the delete purged it: purge again so no copy outlives the image.
    await deps.cache.purgeImage(image.id);
    throw new NotFoundError(`Image ${image.id} was deleted while the variant was rendering`, 'image_not_found');
  }
  return {
    imageId: image.id,
    options: plan.canonical,
    format: out.format,
    width: out.width,
    height: out.height,
    bytes,
    url: deliveryUrl(deps, args.base, image, variantOptions(plan.canonical, out.format)),
  };
}
