import { adminRequired } from '../auth/access.js';
import { type CredentialRequest, presentedScrapeKey, resolveCredential } from '../auth/credentials.js';
import { isAdmin } from '../auth/principal.js';
import type { Deps } from '../deps.js';
import { NotFoundError, UnauthorizedError } from '../errors.js';
import { createRoute, errorResponse, errorSchemaRef, router, z } from '../http.js';
import { metricsOf } from './metrics.js';
import { checkReadiness } from './ready.js';

const noStore = { 'Cache-Control': 'no-store' };

const checkSchema = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
const readySchema = z
  .object({
    status: z.enum(['ok', 'fail']),
    failed: z.array(z.string()).openapi({ description: 'names of the failed checks' }),
    checks: z.record(z.string(), checkSchema),
  })
  .openapi('Readiness');

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness: the process answers',
  security: [],
  responses: { 200: { description: 'alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
});

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness: database, originals storage, cache directory and sharp all work',
  security: [],
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: readySchema } } },
    503: { description: 'a dependency failed; `failed` names it', content: { 'application/json': { schema: readySchema } } },
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics (METRICS=public|admin|off; admin needs an admin API key)',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
    401: { description: 'METRICS=admin and no key', content: { 'application/json': { schema: errorSchemaRef } } },
    403: { description: 'the key is not an admin key', content: { 'application/json': { schema: errorSchemaRef } } },
    404: { description: 'METRICS=off, or metrics are served on METRICS_PORT', content: { 'application/json': { schema: errorSchemaRef } } },
  },
});

/** Probes and metrics; mounted before authentication because a load balancer carries no key. */
export function opsRoutes(deps: Deps) {
  const app = router();
  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200, noStore));
  app.openapi(readyz, async (c) => {
    const r = await checkReadiness(deps);
    return c.json({ status: r.ok ? ('ok' as const) : ('fail' as const), failed: r.failed, checks: r.checks }, r.ok ? 200 : 503, noStore);
  });
  // With a dedicated METRICS_PORT the main port does not serve them (server.ts binds that port).
  const onMainPort = deps.config.METRICS_PORT === 0;
  // Documented from the route definition, served as plain text (the typed handler wants JSON bodies).
  app.openAPIRegistry.registerPath(metricsRoute);
  app.get('/metrics', async (c) => {
    if (!onMainPort) throw new NotFoundError(`Metrics are served on port ${deps.config.METRICS_PORT}`, 'metrics_elsewhere');
    return metricsResponse(deps, c.req);
  });
  return app;
}

/** The app bound to METRICS_PORT: /metrics (same access rule) and nothing else. */
export function metricsOnlyRoutes(deps: Deps) {
  const app = router();
  app.get('/metrics', (c) => metricsResponse(deps, c.req));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'Only /metrics is served on this port' } }, 404));
  app.onError((err, c) => errorResponse(deps, err, c.req.method, c.req.path));
  return app;
}

async function metricsResponse(deps: Deps, req: CredentialRequest): Promise<Response> {
  await authorizeScrape(deps, req);
  const metrics = metricsOf(deps);
  return new Response(await metrics.scrape(), { status: 200, headers: { 'Content-Type': metrics.registry.contentType, ...noStore } });
}

/** Checked here, not by the `authenticate` middleware: ops routes are mounted before it. */
async function authorizeScrape(deps: Deps, req: CredentialRequest) {
  const mode = deps.config.METRICS;
  if (mode === 'off') throw new NotFoundError('Metrics are disabled (METRICS=off)', 'metrics_off');
  if (mode === 'public') return;
  const credential = presentedScrapeKey(req);
  if (!credential) throw new UnauthorizedError('Metrics need an admin API key (METRICS=admin)');
  const principal = await resolveCredential(deps, credential);
  if (!isAdmin(principal)) throw adminRequired('Metrics need an admin API key');
}
