import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps.js';
import { RateLimitedError } from '../errors.js';
import type { Env } from '../http.js';
import { rateHeaders } from './ratelimit.js';

/**
 * RATE_LIMIT_API_PER_MIN per key / user / client address, on the routes it is mounted on: the
 * management API's routers (`router({ guards: [limitApi(deps)] })`); delivery (/img, /random,
 * /info) is limited on cache misses instead. Runs after `authenticate`, which decides who is
 * charged. Every answer carries the RateLimit-* headers so a well-behaved client can slow down
 * before it meets a 429.
 */
export function limitApi(deps: Pick<Deps, 'auth'>): MiddlewareHandler<Env> {
  const limiter = deps.auth.api;
  return async function limitApi(c, next) {
    const scope = c.get('scope');
    if (!limiter.enabled || !scope || scope.exempt) return next();
    const d = limiter.take(scope.subject);
    if (!d.ok) throw new RateLimitedError(d.retryAfterSeconds, rateHeaders(d));
    await next();
    // A route with its own, stricter budget (login) has already said where its caller stands.
    if (c.res.headers.has('RateLimit-Limit')) return;
    for (const [k, v] of Object.entries(rateHeaders(d))) c.header(k, v);
  };
}
