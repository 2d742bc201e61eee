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

/** The id of a request: the client's own X-Request-Id when it is safe to echo, else a fresh one. */
export function requestIdFor(incoming: string | undefined): string {
  return incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** What a request left behind, for its access line and its metrics. */
export interface AccessRecord {
  requestId: string;
  method: string;
  /** The matched route pattern (see matchedRoute). */
  route: string;
  /** The path and query as they may be logged (redactUrl). */
  url: string;
  status: number;
  seconds: number;
  /** `memory` | `disk` | `shared` | `miss` for image responses, `none` otherwise. */
  tier: string;
  bytes: number;
}

export interface AccessRecorder {
  /** Whether the `request start` line is written at all (debug): its caller then skips building it. */
  readonly starts: boolean;
  start(requestId: string, method: string, url: string): void;
  finish(r: AccessRecord): void;
}

/**
 * The access line and the request metrics, written alike by observeRequests and by the hit memo's
 * answers (src/delivery/front.ts), which never reach Hono: one shape for both.
 */
export function accessRecorder(deps: Deps): AccessRecorder {
  const metrics = metricsOf(deps);
  // The access line is built only from fields made safe here (the URL goes through redactUrl,
  // no headers), so it skips pino's wildcard redaction, which costs ~20 µs a line.
  const accessLog = deps.log.child({}, { redact: { paths: [], censor: '[redacted]' } });
  return {
    get starts() {
      return accessLog.isLevelEnabled('debug');
    },
    start(requestId, method, url) {
      accessLog.debug({ reqId: requestId, method, url }, 'request start');
    },
    finish(r) {
      metrics.observeRequest({ method: r.method, route: r.route, status: r.status, seconds: r.seconds, bytes: r.bytes, tier: r.tier });
      const line = {
        reqId: r.requestId,
        method: r.method,
        route: r.route,
        url: r.url,
        status: r.status,
        ms: Math.round(r.seconds * 10_000) / 10,
        ...(r.tier !== 'none' && { cache: r.tier }),
        bytes: r.bytes,
      };
      if (r.status >= 500) accessLog.error(line, 'request');
      else if (QUIET_ROUTES.has(r.route)) accessLog.debug(line, 'request');
      else accessLog.info(line, 'request');
    },
  };
}

/**
 * One middleware for everything a request leaves behind: the `X-Request-Id` header, one log
 * line and the request metrics. It runs first, so it also sees the error responses.
 */
export function observeRequests(deps: Deps): MiddlewareHandler {
  const record = accessRecorder(deps);
  return async function observeRequests(c, next) {
    const start = performance.now();
    const requestId = requestIdFor(c.req.header('x-request-id'));
    requestIds.set(c.req.raw, requestId);
    if (record.starts) record.start(requestId, c.req.method, redactUrl(pathAndQuery(c.req.url)));

    await next();

    const facts = responseFacts(c.res);
    if (!facts) setHeader(c, 'X-Request-Id', requestId);
    const seconds = (performance.now() - start) / 1000;
    const status = c.res.status;
    // Image responses register their tier (registerResponse); anything else came from no cache.
    const tier = facts ? facts.tier : 'none';
    const bytes = c.req.method === 'HEAD' || status === 204 || status === 304 ? 0 : facts ? facts.bytes : Number(c.res.headers.get('content-length')) || 0;
    record.finish({ requestId, method: c.req.method, route: matchedRoute(c), url: redactUrl(pathAndQuery(c.req.url)), status, seconds, tier, bytes });
  };
}

/** `/path?query` of an absolute URL, without a full URL parse on the hot path. */
export function pathAndQuery(url: string) {
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
