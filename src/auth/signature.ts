import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed delivery URLs: `/img/s--{kid}.{mac}--/{options}/{id}[.{ext}]`, in two forms that look
 * the same and use the same kid and secret:
 * - `any` (the operator's word): mac = base64url(HMAC-SHA256(secret[kid], "{options}/{id}[.{ext}]")),
 *   good on the image whatever its visibility. What SIGNING_KEYS holders sign (the documented
 *   HMAC, the JS client), and what imgpath mints for a private image (to those who may see it).
 * - `public` (public only): the same HMAC over PUBLIC_ONLY_PREFIX + that string. It vouches for
 *   its options while the image is public; on a private image it is worth nothing (the request
 *   is answered as if unsigned). What imgpath mints for an image that is public at minting time,
 *   so making an image private withdraws every link anyone minted for it.
 * The kid lets several secrets verify at once, so a secret rotates without breaking pages.
 */

/** What a valid signature vouches for (see above). */
export type SignatureReach = 'any' | 'public';

/**
 * Domain separation for the public-only form. It ends in a newline, which no URL path contains,
 * so no string signed in one form is ever the string of the other.
 */
export const PUBLIC_ONLY_PREFIX = 'public\n';

/** One `kid:secret` pair of SIGNING_KEYS. Declared here, not in secrets.ts, so the client build needs only this file. */
export interface SigningKey {
  kid: string;
  secret: string;
}

export function signPath(signedPart: string, key: SigningKey, reach: SignatureReach = 'any'): string {
  return `${key.kid}.${mac(reach === 'public' ? PUBLIC_ONLY_PREFIX + signedPart : signedPart, key.secret)}`;
}

function mac(data: string, secret: string) {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

export type SignatureCheck = { ok: true; kid: string; reach: SignatureReach } | { ok: false; reason: 'malformed' | 'unknown_kid' | 'mismatch'; kid?: string };

export function verifySignature(signature: string, signedPart: string, keys: SigningKey[]): SignatureCheck {
  const dot = signature.indexOf('.');
  if (dot <= 0) return { ok: false, reason: 'malformed' };
  const kid = signature.slice(0, dot);
  // Compared as text, not decoded: Node's base64 decoder skips unknown characters and spare bits,
  // which would let many spellings of one signature verify (each a fresh CDN cache key).
  const given = Buffer.from(signature.slice(dot + 1));
  const key = keys.find((k) => k.kid === kid);
  if (!key) return { ok: false, reason: 'unknown_kid', kid };
  // The full-authority form first, then the public-only one (a mismatch costs both HMACs).
  if (sameMac(given, mac(signedPart, key.secret))) return { ok: true, kid, reach: 'any' };
  if (sameMac(given, mac(PUBLIC_ONLY_PREFIX + signedPart, key.secret))) return { ok: true, kid, reach: 'public' };
  return { ok: false, reason: 'mismatch', kid };
}

/** Constant-time: the length check leaks only the (public) MAC length. */
function sameMac(given: Buffer, expected: string): boolean {
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** Round an expiry up to a bucket so URLs signed within one bucket are identical (CDN-friendly). */
export function bucketExpiry(unixSeconds: number, bucketSeconds: number) {
  if (bucketSeconds <= 1) return unixSeconds;
  return Math.ceil(unixSeconds / bucketSeconds) * bucketSeconds;
}

/**
 * Build a signed delivery path. `options` is the URL's option list ('' for the original);
 * `expiresAt` adds exp_ (rounded to `bucketSeconds`); `reach` picks the form (default `any`, the
 * operator's). This is the helper Node users import.
 */
export function signedImagePath(
  id: string,
  options: string,
  key: SigningKey,
  opts: { expiresAt?: number; bucketSeconds?: number; ext?: string; reach?: SignatureReach } = {},
): string {
  const parts = options ? options.split(',').filter(Boolean) : [];
  if (opts.expiresAt !== undefined) {
    const filtered = parts.filter((p) => !p.startsWith('exp_'));
    filtered.push(`exp_${bucketExpiry(Math.ceil(opts.expiresAt), opts.bucketSeconds ?? 0)}`);
    parts.splice(0, parts.length, ...filtered);
  }
  const file = opts.ext ? `${id}.${opts.ext}` : id;
  const signedPart = parts.length ? `${parts.join(',')}/${file}` : file;
  return `/img/s--${signPath(signedPart, key, opts.reach)}--/${signedPart}`;
}
