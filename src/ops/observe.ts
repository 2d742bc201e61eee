import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Deps } from '../deps.js';
import { redactUrl } from '../log.js';
import { responseFacts } from '../responses.js';
import { metricsOf } from './metrics.js';

/** An incoming id is kept only when it is short and plain, so it cannot forge log lines. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probes and scrapes arrive every few seconds; at info level they would drown real traffic. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Request ids by request, so a route that builds its own headers can include X-Request-Id (requestIdOf). */
const requestIds = new WeakMap<Request, string>();

/** The id observeRequests gave this request (undefined outside it, e.g. a test calling a route alone). */
export function requestIdOf(c: Context): string | undefined {
  return requestIds.get(c.req.raw);
}

/**
 * One middleware for everything a request leaves behind: the `X-Request-Id` header, one log
 * line and the request metrics. It runs first, so it also sees the error responses.
 */
export function observeRequests(deps: Deps): MiddlewareHandler {
  const metrics = metricsOf(deps);
  // The access line is built only from fields made safe here (the URL goes through redactUrl,
  // no headers), so it skips pino's wildcard redaction, which costs ~20 µs a line.
  const accessLog = deps.log.child({}, { redact: { paths: [], censor: '[redacted]' } });
  return async function observeRequests(c, next) {
    const start = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    requestIds.set(c.req.raw, requestId);
    if (accessLog.isLevelEnabled('debug'))
      accessLog.debug({ reqId: requestId, method: c.req.method, url: redactUrl(pathAndQuery(c.req.url)) }, 'request start');

    await next();

    const facts = responseFacts(c.res);
    if (!facts) setHeader(c, 'X-Request-Id', requestId);
    const seconds = (performance.now() - start) / 1000;
    const route = matchedRoute(c);
    const status = c.res.status;
    // Image responses register their tier (registerResponse); anything else came from no cache.
    const tier = facts ? facts.tier : 'none';
    const bytes = c.req.method === 'HEAD' || status === 204 || status === 304 ? 0 : facts ? facts.bytes : Number(c.res.headers.get('content-length')) || 0;
    metrics.observeRequest({ method: c.req.method, route, status, seconds, bytes, tier });

    const line = {
      reqId: requestId,
      method: c.req.method,
      route,
      url: redactUrl(pathAndQuery(c.req.url)),
      status,
      ms: Math.round(seconds * 10_000) / 10,
      ...(tier !== 'none' && { cache: tier }),
      bytes,
    };
    if (status >= 500) accessLog.error(line, 'request');
    else if (QUIET_ROUTES.has(route)) accessLog.debug(line, 'request');
    else accessLog.info(line, 'request');
  };
}

/** `/path?query` of an absolute URL, without a full URL parse on the hot path. */
function pathAndQuery(url: string) {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return start < 0 ? '/' : url.slice(start);
}

/**
 * The route pattern that answered (`/img/*`, `/images/:id`). When a middleware answered
 * (authentication failed, say) it is the route the request was headed for; `unmatched` when
 * no route matched, so scanners probing random paths add no label values.
 */
export function matchedRoute(c: Context): string {
  const routes = matchedRoutes(c);
  const here = routes[c.req.routeIndex];
  if (here && here.method !== 'ALL') return here.path;
  return routes.find((r) => r.method !== 'ALL')?.path ?? 'unmatched';
}

/** Responses made with `Response.redirect` have immutable headers: copy before setting. */
function setHeader(c: Context, name: string, value: string) {
  try {
    c.res.headers.set(name, value);
  } catch {
    const copy = new Response(c.res.body, c.res);
    copy.headers.set(name, value);
    c.res = undefined;
    c.res = copy;
  }
}
