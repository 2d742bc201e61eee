import { afterAll, beforeAll, expect, it } from 'vitest';
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
  expect(doc.paths['/images'].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['page', 'limit', 'cursor', 'tag', 'collection', 'visibility', 'orientation', 'owner']));
  expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Image', 'ImageList', 'Transform', 'TransformResult', 'Task', 'Preset']));
});

it('/docs renders the document', async () => {
  const res = await t.request('/docs');
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('/openapi.json');
});
