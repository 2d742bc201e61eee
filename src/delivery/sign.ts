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
  /** URL options to sign ('' = the original); an exp_ among them is an expiry asked for, like expiresIn. */
  options?: string;
  ext?: string;
  /** Seconds; absent (and no exp_) = never expires, or PRIVATE_URL_TTL_SECONDS for a private image. */
  expiresIn?: number;
}

/**
 * One signed delivery path, for POST /sign and `imgpath sign` alike: the options are parsed
 * now (a bad one is a BadOptionError here, not a broken URL on a page later), the image and
 * any watermark must exist and be visible to `authority` (the signature vouches for them).
 *
 * The form follows the image's visibility now (src/auth/signature.ts): a public image gets a
 * public-only signature, which its owner withdraws by making the image private; a private one
 * (only its owner and admins see it to sign) the full form, which expires.
 */
export async function signDelivery(deps: Deps, authority: Authority, req: SignRequest): Promise<{ path: string; expiresAt: number | null }> {
  const options = req.options ?? '';
  const spec = parseOptions(deps, options, req.ext);
  if (req.expiresIn !== undefined && !(Number.isInteger(req.expiresIn) && req.expiresIn >= 1 && req.expiresIn <= MAX_SIGNED_LIFETIME)) {
    throw new BadRequestError(`expiresIn must be an integer number of seconds between 1 and ${MAX_SIGNED_LIFETIME}`, { field: 'expiresIn' });
  }
  const image = await visibleImage(deps, req.id, authority);
  await checkWatermark(deps, authority, spec);
  const now = deps.clock();
  const bucket = deps.config.SIGNATURE_EXPIRY_BUCKET;
  const expiresIn = req.expiresIn === undefined ? undefined : bucketExpiry(now + req.expiresIn, bucket);
  const asked = spec.exp === undefined ? expiresIn : askedExp(spec.exp, now, expiresIn, req.expiresIn);
  const reach = image.visibility === 'public' ? 'public' : 'any';
  // A signed URL cannot be revoked short of rotating SIGNING_KEYS, so one for a private image
  // expires unless the caller asks for a lifetime (the same rule as the library's own links).
  let expiresAt = asked ?? (reach === 'any' ? bucketExpiry(now + PRIVATE_URL_TTL_SECONDS, bucket) : undefined);
  // Like a policy token, a URL minted by a session never outlives that session (to the second:
  // rounding up to the bucket would). A public image's URL without expiry needs no bound: it
  // opens nothing once the image is private, and the image is anyone's while public.
  const sessionEnd = authority.kind === 'user' ? authority.expiresAt : undefined;
  if (expiresAt !== undefined && sessionEnd !== undefined && expiresAt > sessionEnd) expiresAt = sessionEnd;
  // An exp_ kept as asked keeps its place in the options as written.
  const rewrite = expiresAt !== undefined && expiresAt !== spec.exp;
  const path = signedImagePath(req.id, options, deps.secrets.signingKeys[0], { expiresAt: rewrite ? expiresAt : undefined, ext: req.ext, reach });
  return { path, expiresAt: expiresAt ?? null };
}

/** How far apart an exp_ and expiresIn may be and still name one moment: the client's clock and ours, a second ticking over in between. */
const EXPIRY_SLACK_SECONDS = 5;

/**
 * An exp_ in the options obeys the rules of expiresIn (the same bounds, the same session limit):
 * it is the same request spelled in the URL. Given with expiresIn, the two must name the same
 * moment (within EXPIRY_SLACK_SECONDS of now + expiresIn, or its bucket), and exp_ is kept.
 */
function askedExp(exp: number, now: number, expiresIn: number | undefined, lifetime: number | undefined): number {
  if (exp <= now) throw new BadRequestError(`exp_${exp} is in the past`, { field: 'options' });
  if (exp - now > MAX_SIGNED_LIFETIME) {
    throw new BadRequestError(`exp_ must be within ${MAX_SIGNED_LIFETIME} seconds from now, like expiresIn; exp_${exp} is ${exp - now}`, { field: 'options' });
  }
  if (expiresIn !== undefined && expiresIn !== exp && Math.abs(exp - (now + lifetime!)) > EXPIRY_SLACK_SECONDS) {
    throw new BadRequestError(`exp_${exp} in the options and expiresIn (ending at ${expiresIn}) disagree; give one of them`, { field: 'expiresIn' });
  }
  return exp;
}
