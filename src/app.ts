import { Hono } from 'hono';
import { authenticate, type AuthVariables, type BearerResolver } from './auth/authenticate.js';
import type { Deps } from './deps.js';
import { imgRoutes } from './delivery/img.routes.js';
import { infoRoutes } from './delivery/info.routes.js';
import { AppError } from './errors.js';

export interface AppOptions {
  /** Extra bearer-token resolvers (session JWTs, policy tokens). */
  resolvers?: BearerResolver[];
}

/**
 * The whole HTTP surface, built from its dependencies. Production (`server.ts`) and the
 * tests call this same factory; only `server.ts` binds a port.
 */
export function createApp(deps: Deps, opts: AppOptions = {}) {
  const app = new Hono<{ Variables: AuthVariables }>();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.use('*', authenticate(deps, opts.resolvers));
  app.route('/', imgRoutes(deps));
  app.route('/', infoRoutes(deps));

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => errorResponse(deps, err, c.req.method, c.req.path));
  return app;
}

/** The one place an error becomes HTTP: AppErrors keep their status, anything else is a logged 500. */
export function errorResponse(deps: Pick<Deps, 'log'>, err: unknown, method: string, path: string) {
  if (err instanceof AppError) {
    return Response.json(err.toJSON(), {
      status: err.status,
      headers: { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...err.headers },
    });
  }
  deps.log.error({ err, method, path }, 'unhandled error');
  return Response.json(
    { error: { code: 'internal', message: 'Internal server error' } },
    { status: 500, headers: { 'Cache-Control': 'no-store' } },
  );
}
