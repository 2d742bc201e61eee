import { signedImagePath } from '../auth/signature.js';
import type { Signer } from './url.js';

/**
 * `imgpath/client` for Node: everything in the browser entry, plus a signer that makes signed
 * delivery URLs without calling the server. It runs the server's own signing code
 * (src/auth/signature.ts, node:crypto only), so the two cannot disagree.
 */
export * from './browser.js';

export interface SignerOptions {
  /** A `kid:secret` pair from the server's SIGNING_KEYS. */
  kid: string;
  secret: string;
  /** Seconds until each URL stops working; absent = never. */
  expiresIn?: number;
  /** Round the expiry up to this many seconds (the server's SIGNATURE_EXPIRY_BUCKET) so URLs repeat and CDNs share them. */
  bucketSeconds?: number;
  /** Unix seconds "now" (default: the clock, read at each signature). */
  now?: () => number;
}

/**
 * A signer for `createImgpath({ baseUrl, signer })`: every URL it builds is signed (and expires,
 * with `expiresIn`), in the full form of the server's own secret: it opens the image whatever its
 * visibility (what the server mints for public images is public-only instead, src/auth/signature.ts).
 */
export function createSigner(o: SignerOptions): Signer {
  const key = { kid: o.kid, secret: o.secret };
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  return (id, options, ext) =>
    signedImagePath(id, options, key, {
      expiresAt: o.expiresIn !== undefined ? now() + o.expiresIn : undefined,
      bucketSeconds: o.bucketSeconds,
      ext,
    });
}

export interface SignUrlOptions {
  /** Where imgpath is served (PUBLIC_URL); '' gives a path. */
  baseUrl: string;
  /** A secret from the server's SIGNING_KEYS and its key id. */
  secret: string;
  kid: string;
  /** The image id. */
  id: string;
  /** Delivery options such as `w_300,f_webp`; '' or absent for the original. Signed exactly as written. */
  options?: string;
  /** Seconds until the URL stops working; absent = never. */
  expiresIn?: number;
  /** Round the expiry up to this many seconds (the server's SIGNATURE_EXPIRY_BUCKET). */
  bucketSeconds?: number;
  /** Output extension on the id (`webp` → `{id}.webp`), a shorthand for f_. */
  ext?: string;
  /** Unix seconds to count `expiresIn` from (default: now). */
  now?: number;
}

/**
 * One signed URL, options signed exactly as written (no canonical rewrite):
 * `signUrl({ baseUrl, kid, secret, id: 'Xc3k9QwZ1bTe', options: 'w_300,f_webp', expiresIn: 3600 })`
 * → `https://img.example.com/img/s--k1.<mac>--/w_300,f_webp,exp_1767225600/Xc3k9QwZ1bTe`.
 */
export function signUrl(o: SignUrlOptions): string {
  const at = o.now;
  const sign = createSigner({ ...o, now: at === undefined ? undefined : () => at });
  return `${o.baseUrl.replace(/\/+$/, '')}${sign(o.id, o.options ?? '', o.ext)}`;
}
