import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps.js';
import type { AuthVariables } from './authenticate.js';
import { rateHeaders } from './ratelimit.js';
import { authState, requestScope } from './state.js';
import { RateLimitedError } from '../errors.js';

/** The JSON management API; delivery (/img, /random, /info) is limited on cache misses instead. */
/** `/register` and `/login` are roadmap.sh's spellings of `/auth/register` and `/auth/login`: the same budget. */
export const MANAGEMENT_PREFIXES = ['/auth', '/register', '/login', '/users', '/keys', '/sign', '/images', '/presets', '/tasks'];

export function isManagementPath(path: string) {
  return MANAGEMENT_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * RATE_LIMIT_API_PER_MIN per key / user / client address on the management API. Mounted after
 * `authenticate`, which decides who is charged. Every answer carries the RateLimit-* headers so
 * a well-behaved client can slow down before it meets a 429.
 */
export function limitManagementApi(deps: Deps): MiddlewareHandler<{ Variables: AuthVariables }> {
  const limiter = authState(deps).api;
  return async function limitManagementApi(c, next) {
    const scope = requestScope.getStore();
    if (!limiter.enabled || !scope || scope.exempt || !isManagementPath(c.req.path)) return next();
    const d = limiter.take(scope.subject);
    if (!d.ok) throw new RateLimitedError(d.retryAfterSeconds, rateHeaders(d));
    await next();
    // A route with its own, stricter budget (login) has already said where its caller stands.
    if (c.res.headers.has('RateLimit-Limit')) return;
    for (const [k, v] of Object.entries(rateHeaders(d))) c.header(k, v);
  };
}
