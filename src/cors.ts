import type { Context, MiddlewareHandler } from 'hono';
import type { CorsPolicy } from './config.js';

/**
 * CORS for one route family, from a policy parsed once in config.ts. Mounted per family before
 * `authenticate` (a preflight carries no credentials, and must be neither refused nor counted);
 * like `authenticate`, the first one to run decides and later ones pass, so the catch-all that
 * follows the image paths governs the JSON API without a list of its prefixes.
 *
 * Our own rather than hono's `cors()`: that one sends a fixed single origin only to that origin
 * (so its answer varies, and needs `Vary: Origin`), would send credentials next to `*`, answers
 * every OPTIONS as a preflight, and writes headers before the handler (a redirect made with
 * `Response.redirect` has immutable headers).
 */

export interface CorsFamily {
  /** Methods a preflight may ask for. */
  methods: readonly string[];
  /** Request headers a page may send (non-safelisted ones need naming: `*` never covers Authorization). */
  allowHeaders: readonly string[];
  /** Response headers a page's script may read besides the CORS-safelisted ones. */
  exposeHeaders: readonly string[];
}

/** How long a browser may reuse a preflight answer (Chromium caps at 2 h). A config change reaches pages within this. */
const PREFLIGHT_MAX_AGE = 600;

const REQUEST_HEADERS = ['Authorization', 'X-API-Key', 'Content-Type', 'If-None-Match', 'X-Request-Id'];

/** Delivery answers: read-only, bytes a canvas can draw. */
export const IMAGE_CORS: CorsFamily = {
  methods: ['GET', 'HEAD'],
  allowHeaders: REQUEST_HEADERS,
  exposeHeaders: ['ETag', 'X-Cache', 'X-Image-Id', 'X-Request-Id', 'Retry-After', 'Server-Timing'],
};

/** The management API: JSON in and out. */
export const API_CORS: CorsFamily = {
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowHeaders: REQUEST_HEADERS,
  exposeHeaders: ['Link', 'Location', 'ETag', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-Request-Id'],
};

export type CorsVariables = { corsDecided: true };

export function cors(policy: CorsPolicy, family: CorsFamily): MiddlewareHandler<{ Variables: CorsVariables }> {
  const origins = policy.kind === 'list' ? new Set(policy.origins) : new Set<string>();
  // `*`, or a list of one, is the same value for every request: no Vary, one CDN entry for all.
  // Only a list of several makes the answer depend on the Origin header.
  const fixed = policy.kind === 'any' ? '*' : policy.kind === 'list' && origins.size === 1 ? policy.origins[0] : undefined;
  const varies = policy.kind === 'list' && origins.size > 1;
  // Browsers refuse credentials with `*`; a named origin is trusted with them (a proxy's cookie or
  // HTTP auth in front of imgpath; imgpath itself reads credentials from headers only).
  const credentials = policy.kind === 'list';
  const methods = family.methods.join(', ');
  const allowHeaders = family.allowHeaders.join(', ');
  const exposeHeaders = family.exposeHeaders.join(', ');

  const allowOrigin = (origin: string | undefined) => fixed ?? (origin !== undefined && origins.has(origin) ? origin : undefined);

  function corsHeaders(origin: string | undefined): Record<string, string> {
    const allowed = allowOrigin(origin);
    const headers: Record<string, string> = {};
    if (allowed) {
      headers['Access-Control-Allow-Origin'] = allowed;
      if (credentials) headers['Access-Control-Allow-Credentials'] = 'true';
    }
    return headers;
  }

  if (policy.kind === 'off') {
    return async function noCors(c, next) {
      if (c.get('corsDecided')) return next();
      c.set('corsDecided', true);
      await next();
    };
  }

  return async function corsHeadersFor(c, next) {
    if (c.get('corsDecided')) return next();
    c.set('corsDecided', true);
    const origin = c.req.header('origin');

    // A preflight: OPTIONS naming the method to come. Any other OPTIONS goes on to the routes.
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      const headers = corsHeaders(origin);
      if (headers['Access-Control-Allow-Origin']) {
        headers['Access-Control-Allow-Methods'] = methods;
        headers['Access-Control-Allow-Headers'] = allowHeaders;
        headers['Access-Control-Max-Age'] = String(PREFLIGHT_MAX_AGE);
      }
      if (varies) headers.Vary = 'Origin';
      // 204 either way: an origin not allowed simply gets no Access-Control-Allow-Origin, which the browser enforces.
      return c.body(null, 204, headers);
    }

    await next();
    const headers = corsHeaders(origin);
    if (headers['Access-Control-Allow-Origin']) headers['Access-Control-Expose-Headers'] = exposeHeaders;
    editHeaders(c, (h) => {
      for (const [name, value] of Object.entries(headers)) h.set(name, value);
      // Appended to the handler's own Vary (Accept, on f_auto renditions) and on 304s alike, so a
      // shared cache never hands one origin's Access-Control-Allow-Origin to another.
      if (varies && !/(^|,)\s*origin\s*(,|$)/i.test(h.get('vary') ?? '')) h.append('Vary', 'Origin');
    });
  };
}

/** Responses made with `Response.redirect` have immutable headers: those are copied first. */
function editHeaders(c: Context, edit: (headers: Headers) => void) {
  try {
    edit(c.res.headers);
  } catch {
    const copy = new Response(c.res.body, c.res);
    edit(copy.headers);
    c.res = undefined;
    c.res = copy;
  }
}
