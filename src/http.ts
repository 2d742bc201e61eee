import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AuthVariables } from './auth/authenticate.js';
import type { Deps } from './deps.js';
import { AppError, BadRequestError } from './errors.js';
import { redactUrl } from './log.js';

export type Env = { Variables: AuthVariables };

export interface RouterOptions {
  /**
   * Middleware that every route declared on this router (with `openapi`) runs before its
   * validation and handler, e.g. the management API's rate limit: mounted on the routes it
   * guards, so a route family opts in where it is defined.
   */
  guards?: MiddlewareHandler<Env>[];
}

/**
 * A router whose routes are declared with zod schemas (`createRoute`), so `/openapi.json` is
 * generated from the same definitions that validate the requests. Validation failures become
 * the one JSON error shape (400), naming the fields.
 */
export function router(opts: RouterOptions = {}) {
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => {
          const path = i.path.join('.');
          // A query parameter given twice (?page=1&page=2) arrives as a list: "expected number, received NaN" would not say so.
          const given = result.target === 'query' && i.path.length === 1 && typeof i.path[0] === 'string' ? (c.req.queries(i.path[0])?.length ?? 0) : 0;
          return { path, message: given > 1 ? `given ${given} times in the query string; give it once` : i.message };
        });
        throw new BadRequestError(
          `Invalid request: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
          { issues },
          'validation_failed',
        );
      }
    },
  });
  const guards = opts.guards ?? [];
  if (guards.length > 0) {
    // `openapi` is an instance property (an arrow function), so it is wrapped, not overridden.
    const declare = app.openapi;
    app.openapi = ((route, handler, hook) => {
      const own = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
      return declare({ ...route, middleware: [...guards, ...own] }, handler, hook);
    }) as typeof app.openapi;
  }
  return app;
}

export { createRoute, z } from '@hono/zod-openapi';

/** The JSON error shape, for route definitions' error responses. */
export const errorSchemaRef = { $ref: '#/components/schemas/Error' } as const;

/** Codes for the 4xx statuses Hono itself may throw, named as our own errors name them. */
const HTTP_CODES: Record<number, string> = { 413: 'too_large', 415: 'unsupported_media_type' };

/** The one place an error becomes HTTP: AppErrors keep their status, anything else is a logged 500. */
export function errorResponse(deps: Pick<Deps, 'log'>, err: unknown, method: string, path: string) {
  if (err instanceof AppError) {
    return Response.json(err.toJSON(), {
      status: err.status,
      headers: { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...err.headers },
    });
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx (a malformed JSON body, a form where JSON belongs) in our shape, the code saying what the status says.
    return Response.json(
      { error: { code: HTTP_CODES[err.status] ?? 'bad_request', message: err.message || 'Bad request' } },
      { status: err.status, headers: { 'Cache-Control': 'no-store' } },
    );
  }
  deps.log.error({ err, method, path: redactUrl(path) }, 'unhandled error');
  return Response.json({ error: { code: 'internal', message: 'Internal server error' } }, { status: 500, headers: { 'Cache-Control': 'no-store' } });
}
