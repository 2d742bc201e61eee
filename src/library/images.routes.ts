import type { Deps } from '../deps.js';
import { createRoute, router, z } from '../http.js';
import { limitApi } from '../auth/limits.js';
import { actingUserId } from '../auth/principal.js';
import { planDelivery } from '../core/index.js';
import { callerRef } from '../auth/caller-ref.js';
import { requireCaller } from '../auth/access.js';
import { managedImage } from './access.js';
import { deleteImage, imageDetail, imageView, listImages, setFocalPoint, updateImage, variantsOf } from './images.js';
import { ingest } from './ingest.js';
import { renameImage } from './public-ids.js';
import {
  errors,
  focalPointSchema,
  imageDetailQuerySchema,
  imageDetailSchema,
  imageIdParam,
  imageListSchema,
  imageSchema,
  listQuerySchema,
  patchImageSchema,
  taskSchema,
  transformResultSchema,
  uploadAnswerSchema,
  uploadFieldsSchema,
} from './schemas.js';
import { enqueueTransform, taskView } from './tasks.js';
import { namingFields, parseTransform, transformSchema } from './transform.js';
import { readUpload } from './upload.js';
import { baseUrl } from './urls.js';
import { makeVariant } from './variants.js';

const tags = ['images'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

const upload = createRoute({
  method: 'post',
  path: '/images',
  tags,
  summary: 'Upload an image (multipart `file` or `image` part, or the image bytes as the body)',
  description: 'Type is sniffed from the bytes. The same bytes uploaded again by the same owner answer 200 with the existing image.',
  request: {
    query: uploadFieldsSchema,
    // Plain OpenAPI schemas, not zod: the body is read by readUpload under the size limit, never buffered by a validator.
    body: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: {
              file: { type: 'string', format: 'binary', description: 'The image (this part or `image` is required)' },
              image: { type: 'string', format: 'binary', description: 'The image, under the name roadmap.sh clients use' },
              tags: { type: 'string', description: 'Comma list, or the part repeated' },
              collection: { type: 'string' },
              visibility: { type: 'string', enum: ['public', 'private'] },
              publicId: { type: 'string', description: 'A readable id (`blog/2024/cat`), usable wherever the random id is; 409 when taken' },
            },
          },
        },
        'image/*': { schema: { type: 'string', format: 'binary' } },
      },
    },
  },
  responses: {
    201: json(uploadAnswerSchema, 'Stored'),
    200: json(uploadAnswerSchema, 'Already in the library (same bytes, same owner)'),
    ...errors(400, 401, 403, 409, 413, 415, 422, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/images',
  tags,
  summary: 'List images, newest first (yours; admins see all), with their metadata and transformed versions (`?page=1&limit=10` as roadmap.sh clients send it)',
  description: 'Paged with `page` and `limit` or, faster for deep pages, with `cursor`. The `Link` header carries next/prev.',
  request: { query: listQuerySchema },
  responses: { 200: json(imageListSchema, 'One page'), ...errors(400, 401, 403) },
});

const get = createRoute({
  method: 'get',
  path: '/images/{id}',
  tags,
  summary: 'Metadata (name, size, format, upload time), placeholder, the transformed versions made so far and URLs; `?format=` gives `url` in another format',
  request: { params: imageIdParam, query: imageDetailQuerySchema },
  responses: { 200: json(imageDetailSchema, 'The image'), ...errors(400, 401, 404) },
});

const patch = createRoute({
  method: 'patch',
  path: '/images/{id}',
  tags,
  summary: 'Change tags, collection, visibility or the public id (a rename keeps the old name as a 301)',
  request: { params: imageIdParam, body: { required: true, content: { 'application/json': { schema: patchImageSchema } } } },
  responses: { 200: json(imageSchema, 'Updated'), ...errors(400, 401, 403, 404, 409) },
});

const focal = createRoute({
  method: 'put',
  path: '/images/{id}/focal-point',
  tags,
  summary: "Set the focal point used by g_auto (fractions 0..1); purges the image's renditions",
  request: { params: imageIdParam, body: { required: true, content: { 'application/json': { schema: focalPointSchema } } } },
  responses: { 200: json(imageSchema, 'Updated'), ...errors(400, 401, 403, 404) },
});

const remove = createRoute({
  method: 'delete',
  path: '/images/{id}',
  tags,
  summary: 'Delete the image, its original (unless shared) and every cached rendition',
  request: { params: imageIdParam },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404) },
});

const transform = createRoute({
  method: 'post',
  path: '/images/{id}/transform',
  tags,
  summary: 'Render and record a transformed version from JSON, bare or wrapped as roadmap.sh sends it (`{"transformations": {...}}`)',
  description:
    'Steps apply in this order: crop (a region in source pixels) → resize (both sides: exactly that size, covering and cropping the overflow) → rotate → flip/mirror → filters → watermark → format/compress. Every field maps onto the delivery-URL options (crop is `rg_`), checked by the same grammar. With `?async=1` answers 202 and a task; poll `GET /tasks/{id}`.',
  request: {
    params: imageIdParam,
    query: z.object({ async: z.enum(['0', '1', 'true', 'false']).optional() }),
    body: { required: true, content: { 'application/json': { schema: transformSchema } } },
  },
  responses: {
    200: json(transformResultSchema, 'Rendered and recorded'),
    202: json(taskSchema, 'Queued'),
    ...errors(400, 401, 403, 404, 413, 422),
  },
});

export function imagesRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });

  app.openapi(upload, async function uploadImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const { bytes, filename, fields } = await readUpload(deps, c, c.req.valid('query'));
    const { image, duplicate } = await ingest(deps, bytes, {
      ownerId: actingUserId(principal),
      filename,
      tags: fields.tags,
      collection: fields.collection,
      visibility: fields.visibility,
      publicId: fields.publicId,
    });
    const body = { ...imageView(deps, baseUrl(c, deps), image), duplicate };
    c.header('Location', `/images/${image.id}`);
    return duplicate ? c.json(body, 200) : c.json(body, 201);
  });

  app.openapi(list, async function listLibrary(c) {
    const principal = requireCaller(c.get('principal'));
    const q = c.req.valid('query');
    const { items, total, nextCursor } = await listImages(deps, principal, q);
    const base = baseUrl(c, deps);
    const pageUrl = (change: Record<string, string | undefined>) => {
      const url = new URL(`${base}/images`);
      for (const [k, v] of Object.entries({ ...c.req.query(), ...change })) if (v !== undefined) url.searchParams.set(k, v);
      return url.toString();
    };
    let next: string | undefined;
    let prev: string | undefined;
    if (q.cursor !== undefined) {
      if (nextCursor) next = pageUrl({ cursor: nextCursor, page: undefined });
    } else {
      if (q.page * q.limit < total) next = pageUrl({ page: String(q.page + 1) });
      // Past the end, "prev" goes to the last page that has items, not to another empty one.
      const lastPage = Math.max(1, Math.ceil(total / q.limit));
      if (q.page > 1) prev = pageUrl({ page: String(Math.min(q.page - 1, lastPage)) });
    }
    const links = [next && `<${next}>; rel="next"`, prev && `<${prev}>; rel="prev"`].filter(Boolean);
    if (links.length) c.header('Link', links.join(', '));
    c.header('Cache-Control', 'private, no-store');
    const made = await variantsOf(deps, base, items);
    return c.json(
      {
        items: items.map((image) => ({ ...imageView(deps, base, image), variants: made.get(image.id) ?? [] })),
        page: q.cursor === undefined ? q.page : null,
        limit: q.limit,
        total,
        ...(next && { next }),
        ...(prev && { prev }),
        ...(nextCursor && { nextCursor }),
      },
      200,
    );
  });

  app.openapi(get, async function getImage(c) {
    const image = await managedImage(deps, c.get('principal'), c.req.valid('param').id);
    c.header('Cache-Control', 'private, no-store');
    return c.json(await imageDetail(deps, baseUrl(c, deps), image, c.req.valid('query')), 200);
  });

  app.openapi(patch, async function patchImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    const { publicId, ...rest } = c.req.valid('json');
    const renamed = publicId === undefined ? image : await renameImage(deps, image, publicId);
    const updated = await updateImage(deps, renamed, rest);
    return c.json(imageView(deps, baseUrl(c, deps), updated), 200);
  });

  app.openapi(focal, async function putFocalPoint(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    const updated = await setFocalPoint(deps, image, c.req.valid('json'));
    return c.json(imageView(deps, baseUrl(c, deps), updated), 200);
  });

  app.openapi(remove, async function removeImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    await deleteImage(deps, image);
    return c.body(null, 204);
  });

  app.openapi(transform, async function transformImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload', 'deliver');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    const body = c.req.valid('json');
    const { options, spec } = parseTransform(body, deps.config.limits);
    const accept = c.req.header('accept');
    const base = baseUrl(c, deps);
    const mode = c.req.valid('query').async;
    if (mode === '1' || mode === 'true') {
      // Refuse bad input now, not as a failed task later: parse and check what needs no pixels.
      await namingFields(body, () => planDelivery(deps, { authority: { kind: 'internal', for: principal }, image, spec, accept }));
      const task = await enqueueTransform(deps, actingUserId(principal), { imageId: image.id, options, accept, base, caller: callerRef(principal) });
      c.header('Location', `/tasks/${task.id}`);
      return c.json(taskView(task), 202);
    }
    return c.json(await namingFields(body, () => makeVariant(deps, { principal, image, spec, accept, base })), 200);
  });

  return app;
}
