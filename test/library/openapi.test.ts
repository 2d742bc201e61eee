import { gunzipSync } from 'node:zlib';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeDocument, operationIdFor } from '../../src/docs/openapi.js';
import { testApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.cleanup();
});

const LIBRARY_ROUTES: Array<[string, string]> = [
  ['post', '/images'],
  ['get', '/images'],
  ['get', '/images/{id}'],
  ['patch', '/images/{id}'],
  ['delete', '/images/{id}'],
  ['put', '/images/{id}/focal-point'],
  ['post', '/images/{id}/transform'],
  ['get', '/tasks/{id}'],
  ['get', '/presets'],
  ['post', '/presets'],
  ['delete', '/presets/{name}'],
];

it('/openapi.json is generated from the library routes, with their schemas and errors', async () => {
  const res = await t.request('/openapi.json');
  expect(res.status).toBe(200);
  const doc = (await res.json()) as any;
  for (const [method, path] of LIBRARY_ROUTES) {
    const op = doc.paths[path]?.[method];
    expect(op, `${method.toUpperCase()} ${path}`).toBeDefined();
    expect(op.responses['401'] ?? op.responses['400'], `${method} ${path} documents its errors`).toBeDefined();
  }
  expect(doc.paths['/images'].post.requestBody.content).toHaveProperty(['multipart/form-data']);
  expect(doc.paths['/images'].get.parameters.map((p: any) => p.name)).toEqual(
    expect.arrayContaining(['page', 'limit', 'cursor', 'tag', 'collection', 'visibility', 'orientation', 'owner']),
  );
  expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Image', 'ImageList', 'Transform', 'TransformResult', 'Task', 'Preset']));
});

type Operation = { operationId?: string; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
type Doc = { openapi: string; servers?: Array<{ url: string }>; paths: Record<string, Record<string, Operation>> };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method, path, op })),
  );
const fetchDoc = async (app = t) => (await (await app.request('/openapi.json')).json()) as Doc;

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for an independent validator (@apidevtools/swagger-parser)', async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    // The validator does look: the same document with a response lacking its description fails.
    const broken = structuredClone(doc);
    delete (broken.paths['/images'].get.responses['200'] as { description?: string }).description;
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/description/);
  });

  it('names a server: relative by default, PUBLIC_URL when set', async () => {
    expect((await fetchDoc()).servers).toEqual([{ url: '/', description: 'this server' }]);
    const behindProxy = await testApp({ PUBLIC_URL: 'https://img.example.com/' });
    try {
      expect((await fetchDoc(behindProxy)).servers).toEqual([{ url: 'https://img.example.com', description: 'PUBLIC_URL' }]);
    } finally {
      await behindProxy.cleanup();
    }
  });

  it('gives every operation a unique operationId, by rule unless the route names its own', async () => {
    const ops = operations(await fetchDoc());
    expect(ops.length).toBeGreaterThan(25);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.filter((id) => !id)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ops.find((o) => o.method === 'get' && o.path === '/images/{id}')!.op.operationId).toBe('getImagesById');
    expect(ops.find((o) => o.method === 'put' && o.path === '/images/{id}/focal-point')!.op.operationId).toBe('putImagesByIdFocalPoint');
  });

  it('documents a JSON body on every 4xx, the shared Error schema unless the route says otherwise', async () => {
    const fourxx = operations(await fetchDoc()).flatMap(({ method, path, op }) =>
      Object.entries(op.responses)
        .filter(([status]) => /^4/.test(status))
        .map(([status, r]) => ({ where: `${method} ${path} ${status}`, schema: r.content?.['application/json']?.schema })),
    );
    expect(fourxx.length).toBeGreaterThan(50);
    expect(fourxx.filter((r) => !r.schema).map((r) => r.where)).toEqual([]);
    expect(fourxx.filter((r) => JSON.stringify(r.schema) === '{"$ref":"#/components/schemas/Error"}').length).toBeGreaterThan(fourxx.length * 0.8);
  });
});

describe('the completing rules', () => {
  const bare = () => ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/a-b': { get: { responses: { '200': { description: 'ok' }, '404': { description: 'none' } } } },
      '/things/{thingId}/random.json': {
        post: { operationId: 'mine', responses: { '401': { description: 'who', content: { 'text/plain': { schema: { type: 'string' } } } } } },
      },
    },
  });

  it('operationIdFor: the method, the segments in PascalCase, parameters as By…', () => {
    expect(operationIdFor('GET', '/')).toBe('get');
    expect(operationIdFor('delete', '/keys/{id}')).toBe('deleteKeysById');
    expect(operationIdFor('get', '/random-image/{key}')).toBe('getRandomImageByKey');
    expect(operationIdFor('get', '/random.json')).toBe('getRandomJson');
    expect(operationIdFor('post', '/images/{image_id}/transform')).toBe('postImagesByImageIdTransform');
  });

  it('adds what is missing and keeps what a route says', () => {
    const doc = completeDocument(bare() as never, {}) as unknown as Doc;
    expect(doc.paths['/a-b'].get.operationId).toBe('getAB');
    expect(doc.paths['/a-b'].get.responses['404'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });
    expect(doc.paths['/a-b'].get.responses['200'].content).toBeUndefined();
    expect(doc.paths['/things/{thingId}/random.json'].post.operationId).toBe('mine');
    expect(doc.paths['/things/{thingId}/random.json'].post.responses['401'].content).toHaveProperty(['text/plain']);
  });

  it('refuses two operations with one id', () => {
    const doc = bare();
    (doc.paths as Record<string, unknown>)['/a/b'] = { get: { responses: {} } };
    expect(() => completeDocument(doc as never, {})).toThrow('operationId getAB of GET /a/b is also that of GET /a-b');
  });
});

describe('/docs', () => {
  it('is our own page under a Content-Security-Policy naming no other origin', async () => {
    const res = await t.request('/docs');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|unsafe-inline|unsafe-eval|\*/);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.sort()).toEqual(['/docs/favicon-32x32.png', '/docs/init.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']);
  });

  it('serves Swagger UI from the pinned swagger-ui-dist package, revalidated by ETag, gzipped on demand', async () => {
    // Pinned: an exact version in package.json, the one installed (and so the one in the lockfile).
    const { version } = (await import('swagger-ui-dist/package.json', { with: { type: 'json' } })).default as { version: string };
    const ours = (await import('../../package.json', { with: { type: 'json' } })).default as { dependencies: Record<string, string> };
    expect(ours.dependencies['swagger-ui-dist']).toBe(version);
    const bundle = await t.request('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const body = await bundle.text();
    expect(body.length).toBeGreaterThan(1_000_000);
    expect(body).toContain('SwaggerUIBundle');
    const etag = bundle.headers.get('etag')!;
    expect((await t.request('/docs/swagger-ui-bundle.js', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const gz = await t.request('/docs/swagger-ui-bundle.js', { headers: { 'Accept-Encoding': 'gzip, br' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString()).toBe(body);
    expect((await t.request('/docs/swagger-ui.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await t.request('/docs/swagger-ui.js.map')).status).toBe(404); // only the files the page uses
  });

  it('its start-up script points at our document and turns the remote validator off', async () => {
    const init = await (await t.request('/docs/init.js')).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
  });
});
