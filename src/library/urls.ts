import type { Context } from 'hono';
import { signedImagePath } from '../auth/signature.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';

/** Ready-to-use URLs in API answers: absolute, and signed exactly where an anonymous `<img src>` would be refused. */

/** PUBLIC_URL when set (behind a proxy the request's own origin is internal), else the request's origin. */
export function baseUrl(deps: Deps, c: Context) {
  return (deps.config.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, '');
}

/** Options an anonymous caller may use unsigned (SPEC §2): none, or only presets and f_. */
function anonymousMayUse(options: string) {
  return options.split(',').every((item) => item === '' || item.startsWith('t_') || item.startsWith('f_'));
}

export function deliveryUrl(deps: Deps, base: string, image: Pick<ImageRow, 'id' | 'visibility'>, options: string) {
  const needsSignature = image.visibility === 'private' || !(deps.config.ALLOW_UNSIGNED_TRANSFORMS || anonymousMayUse(options));
  if (needsSignature) return base + signedImagePath(image.id, options, deps.secrets.signingKeys[0]);
  return `${base}/img/${options ? `${options}/` : ''}${image.id}`;
}

/** A few renditions a page typically wants, so an upload answer is usable at once. */
export const EXAMPLE_RENDITIONS: Record<string, string> = {
  thumbnail: 'w_200,h_200,c_fill',
  small: 'w_400',
  medium: 'w_1200',
  webp: 'w_800,f_webp',
};

export function imageUrls(deps: Deps, base: string, image: Pick<ImageRow, 'id' | 'visibility'>) {
  return {
    original: deliveryUrl(deps, base, image, ''),
    info: `${base}/info/${image.id}`,
    renditions: Object.fromEntries(Object.entries(EXAMPLE_RENDITIONS).map(([name, options]) => [name, deliveryUrl(deps, base, image, options)])),
  };
}
