import type { Context } from 'hono';
import { checkOptionsAllowed } from '../auth/access.js';
import { ANONYMOUS } from '../auth/principal.js';
import { signedImagePath } from '../auth/signature.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { parseOptions, specLimits } from '../core/index.js';
import { BadOptionError, OutputTooLargeError } from '../errors.js';
import { largestFitting, outputFrames, planLayout, type OutputFormat, type Spec } from '../spec/index.js';

/** The name an image's URLs use: its public id when it has one. */
export function nameOf(image: Pick<ImageRow, 'id' | 'publicId'>): string {
  return image.publicId ?? image.id;
}

/**
 * Ready-to-use delivery URLs in API answers (upload, GET /images, variants, /random), built by one
 * rule. They must work in a browser that carries no key (an `<img src>`, a redirect), so:
 * - a public image, with options anyone may use unsigned (none, presets, f_): a plain URL;
 * - a public image with other options: signed public-only (src/auth/signature.ts), without expiry:
 *   it works while the image is public, and making the image private ends it;
 * - a private image: signed (the full form), expiring PRIVATE_URL_TTL_SECONDS from now (rounded up
 *   to SIGNATURE_EXPIRY_BUCKET), so an answer pasted somewhere does not become a permanent share
 *   link. An exp_ the options already carry is kept when it is sooner.
 * Callers must have checked the caller may fetch the image with these options: signing here
 * never grants anything the caller could not already fetch.
 */

export const PRIVATE_URL_TTL_SECONDS = 3600;

/** PUBLIC_URL when set (behind a proxy the request's own origin is internal), else the request's origin. */
export function baseUrl(c: Context, deps: Deps) {
  return (deps.config.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, '');
}

/** `base` + the delivery path for `options` ('' = the original); `spec` is `options` parsed, when the caller has it. */
export function deliveryUrl(
  deps: Deps,
  base: string,
  image: Pick<ImageRow, 'id' | 'publicId' | 'visibility'>,
  options: string,
  spec: Spec = parseOptions(deps, options),
): string {
  // The readable id when the image has one: that is the URL its owner chose to publish.
  const name = nameOf(image);
  if (image.visibility === 'public' && anonymousMayUse(deps, spec)) {
    return `${base}/img/${options ? `${options}/` : ''}${name}`;
  }
  const isPublic = image.visibility === 'public';
  const expiresAt = isPublic ? undefined : Math.min(deps.clock() + PRIVATE_URL_TTL_SECONDS, spec.exp ?? Infinity);
  return (
    base +
    signedImagePath(name, options, deps.secrets.signingKeys[0], {
      expiresAt,
      bucketSeconds: deps.config.SIGNATURE_EXPIRY_BUCKET,
      reach: isPublic ? 'public' : 'any',
    })
  );
}

/** The /img rule for an unsigned, unauthenticated request (SPEC §2). */
function anonymousMayUse(deps: Deps, spec: Spec) {
  try {
    checkOptionsAllowed(ANONYMOUS, spec, deps.config);
    return true;
  } catch {
    return false;
  }
}

/** A few renditions a page typically wants, so an upload answer is usable at once. */
export const EXAMPLE_RENDITIONS: Record<string, string> = {
  thumbnail: 'w_200,h_200,c_fill',
  small: 'w_400',
  medium: 'w_1200',
  webp: 'w_800,f_webp',
};

/**
 * The example renditions this image can take within the output caps, as /random takes a template:
 * one naming a width is narrowed to the widest the image's shape allows (`small` of a 60x2000
 * strip is w_245, where w_400 would be 400x13333), and a box it cannot take (the thumbnail of a
 * 1x5000 strip, 200x1000000 before its crop) is left out rather than handed out dead.
 */
export function exampleRenditions(deps: Deps, image: Pick<ImageRow, 'width' | 'height' | 'frames' | 'format'>): Record<string, string> {
  const fits = (options: string) => {
    try {
      // A server whose MAX_OUTPUT_DIM is under an example's width refuses it already as an option.
      const spec = parseOptions(deps, options);
      const frames = outputFrames(image.format, image.frames, spec.f && spec.f !== 'auto' ? spec.f : (image.format as OutputFormat));
      planLayout(spec, { width: image.width, height: image.height, frames }, specLimits(deps));
      return true;
    } catch (err) {
      if (err instanceof OutputTooLargeError || err instanceof BadOptionError) return false;
      throw err;
    }
  };
  const out: Record<string, string> = {};
  for (const [name, options] of Object.entries(EXAMPLE_RENDITIONS)) {
    if (fits(options)) {
      out[name] = options;
      continue;
    }
    const width = Number(/(?:^|,)w_(\d+)(?:,|$)/.exec(options)?.[1]);
    if (!width || /(?:^|,)h_/.test(options)) continue;
    const at = (w: number) => options.replace(/(^|,)w_\d+/, `$1w_${w}`);
    const widest = largestFitting(width - 1, (w) => fits(at(w)));
    if (widest > 0) out[name] = at(widest);
  }
  return out;
}

export function imageUrls(deps: Deps, base: string, image: Pick<ImageRow, 'id' | 'publicId' | 'visibility' | 'width' | 'height' | 'frames' | 'format'>) {
  return {
    original: deliveryUrl(deps, base, image, ''),
    info: `${base}/info/${nameOf(image)}`,
    renditions: Object.fromEntries(Object.entries(exampleRenditions(deps, image)).map(([name, options]) => [name, deliveryUrl(deps, base, image, options)])),
  };
}

/** The options that reproduce a recorded variant: f_auto is pinned to the format it was made in. */
export function variantOptions(options: string, format: string) {
  return options
    .split(',')
    .filter(Boolean)
    .map((item) => (item === 'f_auto' ? `f_${format}` : item))
    .join(',');
}
