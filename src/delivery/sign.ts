import type { Deps } from '../deps.js';
import { checkWatermark, parseOptions, visibleImage } from '../core/index.js';
import { BadRequestError } from '../errors.js';
import type { Authority } from '../auth/principal.js';
import { PRIVATE_URL_TTL_SECONDS } from '../library/urls.js';
import { bucketExpiry, signedImagePath } from '../auth/signature.js';

/** The longest a signed URL or policy token may be asked to live (a year). */
export const MAX_SIGNED_LIFETIME = 365 * 24 * 3600;

export interface SignRequest {
  id: string;
  /** URL options to sign ('' = the original). */
  options?: string;
  ext?: string;
  /** Seconds; absent = never expires (unless options carry exp_), or PRIVATE_URL_TTL_SECONDS for a private image. */
  expiresIn?: number;
}

/**
 * One signed delivery path, for POST /sign and `imgpath sign` alike: the options are parsed
 * now (a bad one is a BadOptionError here, not a broken URL on a page later), the image and
 * any watermark must exist and be visible to `authority` (the signature vouches for them).
 */
export async function signDelivery(deps: Deps, authority: Authority, req: SignRequest): Promise<{ path: string; expiresAt: number | null }> {
  const options = req.options ?? '';
  const spec = parseOptions(deps, options, req.ext);
  if (req.expiresIn !== undefined && !(Number.isInteger(req.expiresIn) && req.expiresIn >= 1 && req.expiresIn <= MAX_SIGNED_LIFETIME)) {
    throw new BadRequestError(`expiresIn must be an integer number of seconds between 1 and ${MAX_SIGNED_LIFETIME}`, { field: 'expiresIn' });
  }
  const image = await visibleImage(deps, req.id, authority);
  await checkWatermark(deps, authority, spec);
  const bucket = deps.config.SIGNATURE_EXPIRY_BUCKET;
  // A signed URL cannot be revoked short of rotating SIGNING_KEYS, so one for a private image
  // expires unless the caller asks for a lifetime (the same rule as the library's own links).
  const lifetime = req.expiresIn ?? (image.visibility === 'private' && spec.exp === undefined ? PRIVATE_URL_TTL_SECONDS : undefined);
  const expiresAt = lifetime !== undefined ? deps.clock() + lifetime : undefined;
  const path = signedImagePath(req.id, options, deps.secrets.signingKeys[0], { expiresAt, bucketSeconds: bucket, ext: req.ext });
  return { path, expiresAt: expiresAt !== undefined ? bucketExpiry(expiresAt, bucket) : (spec.exp ?? null) };
}
