import { signedImagePath } from './auth/signature.js';

/**
 * The signing helper for Node backends: build an imgpath signed delivery URL without calling
 * the server. It uses the same code as the server, so the two cannot disagree.
 *
 * ```ts
 * import { signUrl } from './imgpath/src/client.js'; // no runtime deps beyond node:crypto
 * const src = signUrl({
 *   baseUrl: 'https://img.example.com',
 *   kid: 'k1', secret: process.env.IMGPATH_SIGNING_SECRET!, // one kid:secret pair of SIGNING_KEYS
 *   id: 'Xc3k9QwZ1bTe', options: 'w_300,f_webp', expiresIn: 3600,
 * });
 * // https://img.example.com/img/s--k1.<mac>--/w_300,f_webp,exp_1767225600/Xc3k9QwZ1bTe
 * ```
 */
export interface SignUrlOptions {
  /** Where imgpath is served (PUBLIC_URL); '' gives a path. */
  baseUrl: string;
  /** A secret from the server's SIGNING_KEYS and its key id. */
  secret: string;
  kid: string;
  /** The image id. */
  id: string;
  /** Delivery options such as `w_300,f_webp`; '' or absent for the original. */
  options?: string;
  /** Seconds until the URL stops working; absent = never. */
  expiresIn?: number;
  /** Round the expiry up to this many seconds (the server's SIGNATURE_EXPIRY_BUCKET) so URLs repeat and CDNs share them. */
  bucketSeconds?: number;
  /** Output extension on the id (`webp` → `{id}.webp`), a shorthand for f_. */
  ext?: string;
  /** Unix seconds to count `expiresIn` from (default: now). */
  now?: number;
}

export function signUrl(o: SignUrlOptions): string {
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const path = signedImagePath(o.id, o.options ?? '', { kid: o.kid, secret: o.secret }, {
    expiresAt: o.expiresIn !== undefined ? now + o.expiresIn : undefined,
    bucketSeconds: o.bucketSeconds,
    ext: o.ext,
  });
  return `${o.baseUrl.replace(/\/+$/, '')}${path}`;
}
