import type { CacheTier } from './cache/types.js';

/**
 * Facts of responses whose headers a route built as a plain object (an image from the cache),
 * shared by the request observer (src/ops/observe.ts: log line, metrics) and the key usage count
 * (src/auth/authenticate.ts), neither of which then imports the other's folder.
 */
interface ResponseFacts {
  tier: CacheTier;
  bytes: number;
}
const registered = new WeakMap<Response, ResponseFacts>();

/**
 * A route that answers from a plain header object (a cache hit) registers its response here, with
 * X-Request-Id already among its headers: then neither the access log, the metrics nor the key
 * usage count read `res.headers`, which would turn the plain object into a Headers instance and
 * cost a header copy per hit (issue 14). `tier` is the cache tier as the image core returned it.
 */
export function registerResponse(res: Response, headers: Readonly<Record<string, string>>, tier: CacheTier): Response {
  registered.set(res, { tier, bytes: Number(headers['Content-Length']) || 0 });
  return res;
}

/** What registerResponse recorded for `res`, if anything. */
export function responseFacts(res: Response): Readonly<ResponseFacts> | undefined {
  return registered.get(res);
}

/** The Content-Length of a response, from its registration when it has one (see registerResponse). */
export function responseBytes(res: Response): number {
  return registered.get(res)?.bytes ?? (Number(res.headers.get('content-length')) || 0);
}
