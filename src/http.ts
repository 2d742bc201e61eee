import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AuthVariables } from './auth/authenticate.js';
import { BadRequestError } from './errors.js';

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
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
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
