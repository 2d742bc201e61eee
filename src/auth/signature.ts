import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed delivery URLs: `/img/s--{kid}.{mac}--/{options}/{id}[.{ext}]` where
 * mac = base64url(HMAC-SHA256(secret[kid], "{options}/{id}[.{ext}]")).
 * The kid lets several secrets verify at once, so a secret rotates without breaking pages.
 */

/** One `kid:secret` pair of SIGNING_KEYS. Declared here, not in secrets.ts, so the client build needs only this file. */
export interface SigningKey {
  kid: string;
  secret: string;
}

export function signPath(signedPart: string, key: SigningKey): string {
  return `${key.kid}.${mac(signedPart, key.secret)}`;
}

function mac(data: string, secret: string) {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

export type SignatureCheck = { ok: true; kid: string } | { ok: false; reason: 'malformed' | 'unknown_kid' | 'mismatch'; kid?: string };

export function verifySignature(signature: string, signedPart: string, keys: SigningKey[]): SignatureCheck {
  const dot = signature.indexOf('.');
  if (dot <= 0) return { ok: false, reason: 'malformed' };
  const kid = signature.slice(0, dot);
  // Compared as text, not decoded: Node's base64 decoder skips unknown characters and spare bits,
  // which would let many spellings of one signature verify (each a fresh CDN cache key).
  const given = Buffer.from(signature.slice(dot + 1));
  const key = keys.find((k) => k.kid === kid);
  if (!key) return { ok: false, reason: 'unknown_kid', kid };
  const expected = mac(signedPart, key.secret);
  const wanted = Buffer.from(expected);
  // Constant-time: the length check leaks only the (public) MAC length.
  if (given.length === wanted.length && timingSafeEqual(given, wanted)) return { ok: true, kid };
  return { ok: false, reason: 'mismatch', kid };
}

/** Round an expiry up to a bucket so URLs signed within one bucket are identical (CDN-friendly). */
export function bucketExpiry(unixSeconds: number, bucketSeconds: number) {
  if (bucketSeconds <= 1) return unixSeconds;
  return Math.ceil(unixSeconds / bucketSeconds) * bucketSeconds;
}

/**
 * Build a signed delivery path. `options` is the URL's option list ('' for the original);
 * `expiresAt` adds exp_ (rounded to `bucketSeconds`). This is the helper Node users import.
 */
export function signedImagePath(id: string, options: string, key: SigningKey, opts: { expiresAt?: number; bucketSeconds?: number; ext?: string } = {}): string {
  const parts = options ? options.split(',').filter(Boolean) : [];
  if (opts.expiresAt !== undefined) {
    const filtered = parts.filter((p) => !p.startsWith('exp_'));
    filtered.push(`exp_${bucketExpiry(Math.ceil(opts.expiresAt), opts.bucketSeconds ?? 0)}`);
    parts.splice(0, parts.length, ...filtered);
  }
  const file = opts.ext ? `${id}.${opts.ext}` : id;
  const signedPart = parts.length ? `${parts.join(',')}/${file}` : file;
  return `/img/s--${signPath(signedPart, key)}--/${signedPart}`;
}
