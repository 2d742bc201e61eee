/**
 * Calls to `POST /sign` for what only the server can make: a policy token (the server holds
 * the JWT secret) or a signed URL without the signing secret on this side. Plain `fetch`, so
 * it runs in Node 20+ and browsers alike; an error answer throws `ImgpathRequestError` with
 * the server's `{"error":{"code","message"}}`.
 */

export interface ServerCall {
  /** Where imgpath is served. */
  baseUrl: string;
  /** An API key (`imgp_…`, scope `deliver`) or a session JWT: sent as `Authorization: Bearer`. */
  credential: string;
  /** Another fetch implementation (one going through a proxy, say); default: the global fetch. */
  fetch?: typeof fetch;
}

/** What a policy token may cover: the whole `srcset` of one or more images. */
export interface Policy {
  width?: { min?: number; max?: number };
  formats?: ReadonlyArray<'jpg' | 'jpeg' | 'png' | 'webp' | 'avif' | 'gif'>;
  presets?: readonly string[];
}

export interface PolicyTokenRequest extends ServerCall {
  /** One image, or several with `ids`; neither = every image of the calling user. */
  id?: string;
  ids?: readonly string[];
  policy: Policy;
  /** Seconds (server default 3600). */
  expiresIn?: number;
}

export interface SignedUrlRequest extends ServerCall {
  id: string;
  options?: string;
  ext?: 'jpg' | 'jpeg' | 'png' | 'webp' | 'avif' | 'gif';
  expiresIn?: number;
}

export class ImgpathRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImgpathRequestError';
  }
}

async function postSign<T>(call: ServerCall, body: Record<string, unknown>): Promise<T> {
  const doFetch = call.fetch ?? fetch;
  const res = await doFetch(`${call.baseUrl.replace(/\/+$/, '')}/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${call.credential}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  if (!res.ok) {
    throw new ImgpathRequestError(res.status, json?.error?.code ?? 'http_error', json?.error?.message ?? `POST /sign answered ${res.status}`);
  }
  return json as T;
}

/** A policy token for `createImgpath({ baseUrl, token })`: one call on the backend per page, not one per URL. */
export function requestPolicyToken(req: PolicyTokenRequest): Promise<{ token: string; expiresAt: number }> {
  const { id, ids, policy, expiresIn } = req;
  return postSign(req, { id, ids, policy, expiresIn });
}

/**
 * One signed URL made by the server (for callers without the signing secret). For an image that
 * is public now it is public-only: it stops working when the image is made private. For a private
 * image it expires (1 h unless `expiresIn`, never past the session that asks). An `exp_` in
 * `options` obeys the same bounds as `expiresIn`.
 */
export function requestSignedUrl(req: SignedUrlRequest): Promise<{ url: string; path: string; expiresAt: number | null }> {
  const { id, options, ext, expiresIn } = req;
  return postSign(req, { id, options, ext, expiresIn });
}
