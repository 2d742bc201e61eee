import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';

/**
 * The Flask random-image API imgpath replaces carried its one key in the path and answered
 * errors as `{"error": "<text>"}`. Its three URLs keep working unchanged; everything else about
 * them (key check, usage counting, picking, rendering) is imgpath's own.
 */

/** The old service's routes, each `/{route}/{key}`. */
export const FLASK_ROUTES = ['/random-image', '/update-images', '/update-key'] as const;

/** Where the routes above are mounted (middleware paths). */
export const FLASK_PATHS = FLASK_ROUTES.map((r) => `${r}/*`);

/** The API key in the path of one of the old service's routes, for `authenticate` (which counts its use). */
export function legacyKeyFromPath(path: string): string | undefined {
  for (const route of FLASK_ROUTES) {
    if (!path.startsWith(`${route}/`)) continue;
    const key = path.slice(route.length + 1);
    return key && !key.includes('/') ? key : undefined;
  }
  return undefined;
}

/** The old service's wording for the errors its clients test for. */
const FLASK_WORDS: Record<number, string> = { 401: 'Unauthorized', 404: 'No images found' };

/**
 * The old service's error bodies, mounted on its routes only (before `authenticate`, so a wrong key
 * is answered this way too): `{"error": "Unauthorized"}` with 401, `{"error": "No images found"}`
 * with 404, and `{"error": "<message>"}` for the rest. Status and headers (Retry-After, …) stay.
 */
export function flaskErrors(): MiddlewareHandler {
  return async function flaskErrors(c, next) {
    await next();
    const err = c.error;
    if (!(err instanceof AppError)) return;
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(JSON.stringify({ error: FLASK_WORDS[err.status] ?? err.message }), { status: err.status, headers });
  };
}
