import type { Context } from 'hono';
import { checkOptionsAllowed } from '../auth/access.js';
import { hasScope, type Principal } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { parseOptions, planDelivery, renderVia } from '../core/index.js';
import { imageResponse } from '../delivery/respond.js';
import { readClientHints } from '../delivery/hints.js';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../errors.js';
import { createRoute, errorSchemaRef, router, z, type Env } from '../http.js';
import type { Spec } from '../spec/index.js';
import { libraryPool } from './library-pool.js';
import { pickMany, pickOne, type PickMode } from './pick.js';
import type { RandomFilters } from './pool.js';
import { importPending } from '../library/inbox.js';
import { placeholderOf, placeholderSchema } from '../library/schemas.js';
import { baseUrl } from '../library/urls.js';
import { deliveryPath } from './urls.js';

const noStore = { 'Cache-Control': 'no-store' };

const filterFields = {
  collection: z.string().min(1).max(200).optional().openapi({ description: 'only images in this collection' }),
  tag: z.string().min(1).max(64).optional().openapi({ description: 'only images with this tag' }),
  orientation: z.enum(['landscape', 'portrait', 'square']).optional(),
  min_width: z.coerce.number().int().min(1).max(1_000_000).optional().openapi({ description: 'only images at least this wide (px)' }),
  seed: z.string().min(1).max(200).optional().openapi({ description: 'same seed, same image, while the library is unchanged' }),
};

const pickQuery = z.object({
  ...filterFields,
  redirect: z.enum(['0', '1', 'false', 'true']).optional().openapi({ description: '0: answer the image bytes instead of a 302' }),
});

const listQuery = z.object({
  ...filterFields,
  count: z.coerce.number().int().min(1).max(50).default(1).openapi({ description: 'how many distinct images (1..50)' }),
  options: z
    .string()
    .max(2048)
    .optional()
    .openapi({ description: 'delivery options for the returned URLs, e.g. w_400,h_300,c_fill (same access rule as /img)' }),
});

const keyQuery = z.object(filterFields);

type PickQuery = z.infer<typeof pickQuery>;

function parseQuery<T extends z.ZodType>(schema: T, c: Context<Env>): z.infer<T> {
  const parsed = schema.safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new BadRequestError(`Invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues }, 'validation_failed');
}

function filtersOf(q: { collection?: string; tag?: string; orientation?: RandomFilters['orientation']; min_width?: number }): RandomFilters {
  return { collection: q.collection, tag: q.tag?.trim().toLowerCase(), orientation: q.orientation, minWidth: q.min_width };
}

const imageItem = z
  .object({
    id: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    format: z.string(),
    orientation: z.enum(['landscape', 'portrait', 'square']),
    collection: z.string().nullable(),
    placeholder: placeholderSchema,
    url: z.string().openapi({ description: 'ready-to-use delivery URL (signed when the caller needs it)' }),
  })
  .openapi('RandomImage');

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

const listRoute = createRoute({
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

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const principal = c.get('principal');
    const options = q.options ?? '';
    const spec = checkedSpec(deps, principal, options);
    const rows = await pickMany(deps, principal, filtersOf(q), q.count, q.seed);
    if (rows.length === 0) throw new NotFoundError('No image matches these filters', 'no_candidate');
    const base = baseUrl(c, deps);
    const out = [];
    for (const image of rows) {
      await planDelivery(deps, { authority: principal, image, spec });
      out.push({
        id: image.id,
        width: image.width,
        height: image.height,
        format: image.format,
        orientation: image.orientation,
        collection: image.collection,
        placeholder: placeholderOf(image),
        url: base + deliveryPath(deps, image, options, spec),
      });
    }
    return c.json({ images: out }, 200, noStore);
  });

  // Registered before /random/:options so "daily" is never read as an option list.
  app.get('/random/daily', (c) => answerPick(c, deps, '', { kind: 'daily' }));
  app.get('/random/daily/:options', (c) => answerPick(c, deps, c.req.param('options'), { kind: 'daily' }));
  app.get('/random', (c) => answerPick(c, deps, '', undefined));
  app.get('/random/:options', (c) => answerPick(c, deps, c.req.param('options'), undefined));

  // The Flask API's routes. The key in the path was resolved (and its use counted) by
  // `authenticate`, mounted with legacyKeyFromPath; errors take its shape through flaskErrors.
  app.get('/random-image/:key', async function legacyRandom(c) {
    const principal = flaskCaller(c.get('principal'));
    const q = parseQuery(keyQuery, c);
    const image = await pickOne(deps, principal, filtersOf(q), q.seed ? { kind: 'seed', seed: q.seed } : { kind: 'random' });
    if (!image) throw new NotFoundError('No image to pick from', 'no_candidate');
    return serveBytes(c, deps, principal, image, { f: 'webp' });
  });

  app.get('/update-images/:key', async function legacyUpdateImages(c) {
    const principal = flaskCaller(c.get('principal'));
    // The list follows the library by itself; what the old call still means is "take what the
    // conversion script just left in the folder, now", instead of after the watcher's quiet period.
    if (deps.config.inboxDir) await importPending(deps, deps.config.inboxDir);
    if (!(await pickOne(deps, principal, {}, { kind: 'random' }))) throw new NotFoundError('No images found', 'no_candidate');
    return c.json({ message: 'Images list updated' }, 200, noStore);
  });

  app.get('/update-key/:key', function legacyUpdateKey(c) {
    // Keys are checked against the database on every request, so a rotation (`imgpath keys rotate`)
    // is live at once: nothing to reload. The answer tells the caller the key it sent works.
    flaskCaller(c.get('principal'));
    return c.json({ message: 'API key updated successfully' }, 200, noStore);
  });

  return app;
}

/** The API key of `/random-image/{key}` and its siblings: like every other key use, resolved and counted by `authenticate`. */
export { legacyKeyFromPath } from './flask.js';

/** The caller of a Flask-API route: its key, with the deliver scope (the old service had one key for everything). */
function flaskCaller(principal: Principal) {
  if (principal.kind !== 'key' || !hasScope(principal, 'deliver'))
    throw new UnauthorizedError('Invalid or revoked API key, or it lacks the "deliver" scope', 'invalid_key');
  return principal;
}

/** Parse options and run the /img access rule before anything is picked or signed. */
function checkedSpec(deps: Deps, principal: Principal, options: string): Spec {
  const spec = parseOptions(deps, options);
  checkOptionsAllowed(principal, spec, deps.config);
  return spec;
}

async function answerPick(c: Context<Env>, deps: Deps, options: string, mode: PickMode | undefined) {
  const q: PickQuery = parseQuery(pickQuery, c);
  const principal = c.get('principal');
  const spec = checkedSpec(deps, principal, options);
  const chosen: PickMode = mode ?? (q.seed ? { kind: 'seed', seed: q.seed } : { kind: 'random' });
  const image = await pickOne(deps, principal, filtersOf(q), chosen);
  if (!image) throw new NotFoundError('No image matches these filters', 'no_candidate');
  if (q.redirect === '0' || q.redirect === 'false') return serveBytes(c, deps, principal, image, spec);
  // The same plan /img makes (preset exists, not expired, options allowed) before anything is signed.
  await planDelivery(deps, { authority: principal, image, spec });
  const location = (deps.config.PUBLIC_URL?.replace(/\/$/, '') ?? '') + deliveryPath(deps, image, options, spec);
  return new Response(null, { status: 302, headers: { Location: location, ...noStore, 'X-Image-Id': image.id } });
}

async function serveBytes(c: Context<Env>, deps: Deps, principal: Principal, image: ImageRow, spec: Spec) {
  const plan = await planDelivery(deps, {
    authority: principal,
    image,
    spec,
    accept: c.req.header('accept'),
    hints: readClientHints((name) => c.req.header(name)),
  });
  const rendition = await renderVia(deps, plan);
  // A random answer changes on every request: the immutable caching of /img must not stick to it.
  return imageResponse(c, deps, plan, rendition, { ...noStore, 'X-Image-Id': image.id });
}
