import type { Context } from 'hono';
import { renditionHeaders, type CachedRendition } from '../cache/types.js';
import type { DeliveryPlan } from '../core/index.js';
import type { Deps } from '../deps.js';
import { requestIdOf } from '../ops/observe.js';
import { registerResponse } from '../responses.js';
import { ACCEPT_CH, hintVary } from './hints.js';

/** The HTTP side of a delivery plan and its rendition: caching headers, 304 and the image response. */

const YEAR = 31_536_000;
/** The two Cache-Control values of nearly every hit (no expiry, local original), built once. */
const FOREVER = { public: `public, max-age=${YEAR}, immutable`, private: `private, max-age=${YEAR}, immutable` } as const;

/** The request headers the answer depends on: Accept for f_auto, the client hints w_auto / dpr_auto used. */
export function varyOf(plan: Pick<DeliveryPlan, 'vary' | 'hints'>): string | undefined {
  const names = [...(plan.vary ? ['Accept'] : []), ...hintVary(plan.hints)];
  return names.length > 0 ? names.join(', ') : undefined;
}

export function cacheHeaders(deps: Deps, plan: DeliveryPlan): Record<string, string> {
  // Ids are immutable, so a rendition never changes: cache for a year, unless the URL or the token
  // that authorised it ends sooner. `public` only for what an anonymous caller could fetch too, so
  // a CDN never hands a key- or token-authorised variant to strangers.
  // A remote original's renditions change when the origin's file does: kept no longer than ORIGIN_TTL_SECONDS.
  const scope = plan.shared ? 'public' : 'private';
  let cacheControl: string = FOREVER[scope];
  if (plan.expiresAt !== undefined || plan.credentialExpiresAt !== undefined || plan.maxAge !== undefined) {
    const ends = [plan.expiresAt, plan.credentialExpiresAt].filter((t): t is number => t !== undefined);
    const maxAge = Math.max(0, Math.min(plan.maxAge ?? YEAR, ...ends.map((t) => t - deps.clock())));
    const immutable = maxAge === YEAR && plan.maxAge === undefined;
    cacheControl = `${scope}, max-age=${maxAge}${immutable ? ', immutable' : ''}`;
  }
  const headers: Record<string, string> = {
    ETag: plan.etag,
    'Cache-Control': cacheControl,
    'Cache-Tag': plan.cacheTag,
    'X-Content-Type-Options': 'nosniff',
  };
  // Fastly files a response under Surrogate-Key (space-separated) instead of Cache-Tag.
  if (deps.config.PURGE_WEBHOOK_FORMAT === 'fastly') headers['Surrogate-Key'] = plan.cacheTag.replaceAll(',', ' ');
  const vary = varyOf(plan);
  if (vary) headers.Vary = vary;
  if (plan.hints.width || plan.hints.dpr) {
    // Browsers act on Accept-CH from a page only; here it tells a CDN or a same-origin page which hints size this answer.
    headers['Accept-CH'] = ACCEPT_CH;
    if (plan.contentDpr !== undefined) headers['Content-DPR'] = String(plan.contentDpr);
  }
  return headers;
}

export function notModified(c: Context, deps: Deps, plan: DeliveryPlan): Response | undefined {
  const inm = c.req.header('if-none-match');
  if (!inm || !etagMatches(inm, plan.etag)) return undefined;
  return new Response(null, { status: 304, headers: cacheHeaders(deps, plan) });
}

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/** Whether an If-None-Match value names `etag` (weakly compared, as GET allows) or is `*`. */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const tags = ifNoneMatch.split(',').map(opaque);
  return tags.includes(opaque(etag)) || tags.includes('*');
}

export function imageResponse(c: Context, deps: Deps, plan: DeliveryPlan, r: CachedRendition, extra: Record<string, string> = {}): Response {
  // The rendition's own headers come ready with a memory hit (src/cache/memory.ts): only who-asked headers are built here.
  const headers = Object.assign(cacheHeaders(deps, plan), r.headers ?? renditionHeaders(r), extra);
  // Made from the image as it was before a purge: its callers get it, no cache keeps it (the CDN was already purged).
  if (r.stale) headers['Cache-Control'] = 'private, no-store';
  const requestId = requestIdOf(c);
  if (requestId === undefined) return new Response(c.req.method === 'HEAD' ? null : r.data, { status: 200, headers });
  headers['X-Request-Id'] = requestId;
  // The tier as the core returned it, for the metrics and the access log (never read back from X-Cache).
  return registerResponse(new Response(c.req.method === 'HEAD' ? null : r.data, { status: 200, headers }), headers, r.tier);
}
