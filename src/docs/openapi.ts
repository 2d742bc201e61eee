import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../config.js';
import { type Env, errorSchemaRef } from '../http.js';

/**
 * The OpenAPI document, built once from the routes' own definitions and then completed by rule
 * rather than route by route: a `servers` entry, an `operationId` for every operation (the
 * route's own if it names one) and the error shape on every 4xx that does not say otherwise.
 * So a route added tomorrow is documented the same way without anyone remembering to.
 */

type Document = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * `GET /images/{id}/focal-point` -> `getImagesByIdFocalPoint`: the method, then each path segment
 * in PascalCase, a parameter as `By{Name}`. Readable in generated clients, and unique because
 * method + path is (checked anyway: `/a-b` and `/a/b` would collide).
 */
export function operationIdFor(method: string, path: string): string {
  const pascal = (s: string) =>
    s
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join('');
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((seg) => {
      const param = /^\{(.+)\}$/.exec(seg);
      return param ? `By${pascal(param[1])}` : pascal(seg);
    });
  return method.toLowerCase() + segments.join('');
}

export function completeDocument(doc: Document, config: Pick<Config, 'PUBLIC_URL'>): Document {
  // Relative unless PUBLIC_URL says where clients reach us: "/" resolves against wherever the document was fetched.
  doc.servers = [config.PUBLIC_URL ? { url: config.PUBLIC_URL.replace(/\/+$/, ''), description: 'PUBLIC_URL' } : { url: '/', description: 'this server' }];
  const seen = new Map<string, string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) continue;
      op.operationId ??= operationIdFor(method, path);
      const where = `${method.toUpperCase()} ${path}`;
      const before = seen.get(op.operationId);
      if (before) throw new Error(`OpenAPI: operationId ${op.operationId} of ${where} is also that of ${before}`);
      seen.set(op.operationId, where);
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!/^4\d\d$/.test(status) || !response || '$ref' in response) continue;
        response.content ??= { 'application/json': { schema: errorSchemaRef } };
      }
    }
  }
  return doc;
}

/** The finished document of `app`, computed on first request (every route is registered by then) and kept. */
export function openapiDocument(app: OpenAPIHono<Env>, config: Config): () => Document {
  app.openAPIRegistry.registerComponent('schemas', 'Error', {
    type: 'object',
    properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
    required: ['error'],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', { type: 'apiKey', in: 'header', name: 'X-API-Key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key' });
  let doc: Document | undefined;
  return () =>
    (doc ??= completeDocument(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'imgpath',
          version: '0.1.0',
          description: 'On-the-fly image delivery server: management API. Delivery URLs (/img/…) are described in the README.',
        },
        security: [{ apiKey: [] }, { bearer: [] }],
      }),
      config,
    ));
}
