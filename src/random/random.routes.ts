import type { Deps } from '../deps.js';
import { createRoute, errorSchemaRef, router, z } from '../http.js';
import { libraryPool } from './library-pool.js';
import { answerPick, legacyRandom, legacyUpdateImages, legacyUpdateKey, listRandom } from './random.handlers.js';
import { imageItem, keyQuery, listQuery, pickQuery } from './schemas.js';

const imageContent = { 'image/*': { schema: z.string().openapi({ format: 'binary' }) } };
const errors = {
  400: { description: 'bad filter or option', content: { 'application/json': { schema: errorSchemaRef } } },
  401: { description: 'options other than presets need a key or token', content: { 'application/json': { schema: errorSchemaRef } } },
  404: { description: 'no image matches', content: { 'application/json': { schema: errorSchemaRef } } },
};
/** The Flask API's own error shape, on its three routes only. */
const flaskError = z.object({ error: z.string() }).openapi('FlaskError');
const flaskMessage = z.object({ message: z.string() }).openapi('FlaskMessage');
const flaskErrorResponses = {
  400: { description: 'bad filter: `{"error": "<message>"}`', content: { 'application/json': { schema: flaskError } } },
  401: { description: 'wrong, revoked or deliver-less key: `{"error": "Unauthorized"}`', content: { 'application/json': { schema: flaskError } } },
  404: { description: 'no image: `{"error": "No images found"}`', content: { 'application/json': { schema: flaskError } } },
};
const pickResponses = {
  200: { description: 'the image itself (redirect=0), Cache-Control: no-store', content: imageContent },
  302: { description: "redirect to the image's delivery URL, Cache-Control: no-store" },
  ...errors,
};

const docs = [
  createRoute({
    method: 'get',
    path: '/random',
    tags: ['random'],
    summary: 'A random image the caller may see',
    request: { query: pickQuery },
    responses: pickResponses,
  }),
  createRoute({
    method: 'get',
    path: '/random/{options}',
    tags: ['random'],
    summary: 'A random image with delivery options (anonymous callers: presets t_… only)',
    request: { query: pickQuery, params: z.object({ options: z.string().openapi({ example: 'w_1920,h_1080,c_fill,f_auto' }) }) },
    responses: pickResponses,
  }),
  createRoute({
    method: 'get',
    path: '/random/daily',
    tags: ['random'],
    summary: 'The image of the UTC day',
    request: { query: pickQuery },
    responses: pickResponses,
  }),
  createRoute({
    method: 'get',
    path: '/random/daily/{options}',
    tags: ['random'],
    summary: 'The image of the UTC day, with delivery options',
    request: { query: pickQuery, params: z.object({ options: z.string() }) },
    responses: pickResponses,
  }),
  createRoute({
    method: 'get',
    path: '/random-image/{key}',
    tags: ['random'],
    summary: 'Compatibility with the older random-image API: a random WebP for a valid API key (deliver scope), counted in its usage like any other use',
    security: [],
    request: { query: keyQuery, params: z.object({ key: z.string() }) },
    responses: {
      200: { description: 'a WebP image, Cache-Control: no-store', content: { 'image/webp': { schema: z.string().openapi({ format: 'binary' }) } } },
      ...flaskErrorResponses,
    },
  }),
  createRoute({
    method: 'get',
    path: '/update-images/{key}',
    tags: ['random'],
    summary: 'Compatibility with the older random-image API: import what waits in the drop folder now (the list of images follows the library by itself)',
    security: [],
    request: { params: z.object({ key: z.string() }) },
    responses: {
      200: { description: '`{"message": "Images list updated"}`', content: { 'application/json': { schema: flaskMessage } } },
      ...flaskErrorResponses,
    },
  }),
  createRoute({
    method: 'get',
    path: '/update-key/{key}',
    tags: ['random'],
    summary: 'Compatibility with the older random-image API: confirms the key works (keys are read on every request; rotate with `imgpath keys rotate`)',
    security: [],
    request: { params: z.object({ key: z.string() }) },
    responses: {
      200: { description: '`{"message": "API key updated successfully"}`', content: { 'application/json': { schema: flaskMessage } } },
      401: flaskErrorResponses[401],
    },
  }),
];

export const listRoute = createRoute({
  method: 'get',
  path: '/random.json',
  tags: ['random'],
  summary: 'Several distinct random images (metadata and URLs) for a gallery',
  request: { query: listQuery },
  responses: {
    200: {
      description: 'up to `count` distinct images (fewer when fewer match)',
      content: { 'application/json': { schema: z.object({ images: z.array(imageItem) }) } },
    },
    ...errors,
  },
});

export function randomRoutes(deps: Deps) {
  const app = router();
  // Loaded with the app (not on the first request, which would pay for it) and following
  // library events from the first upload on. A failed load is tried again by the first pick.
  libraryPool(deps)
    .ready()
    .catch((err) => deps.log.error({ err }, 'random pool: the first load failed; the first pick tries again'));

  for (const route of docs) app.openAPIRegistry.registerPath(route);

  app.openapi(listRoute, listRandom(deps));

  // Registered before /random/:options so "daily" is never read as an option list.
  app.get('/random/daily', (c) => answerPick(c, deps, '', { kind: 'daily' }));
  app.get('/random/daily/:options', (c) => answerPick(c, deps, c.req.param('options'), { kind: 'daily' }));
  app.get('/random', (c) => answerPick(c, deps, '', undefined));
  app.get('/random/:options', (c) => answerPick(c, deps, c.req.param('options'), undefined));

  // The Flask API's routes. The key in the path was resolved (and its use counted) by
  // `authenticate`, mounted with legacyKeyFromPath; errors take its shape through flaskErrors.
  app.get('/random-image/:key', legacyRandom(deps));
  app.get('/update-images/:key', legacyUpdateImages(deps));
  app.get('/update-key/:key', legacyUpdateKey());

  return app;
}
