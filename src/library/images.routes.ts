import type { Deps } from '../deps.js';
import { createRoute, router, z } from '../http.js';
import { limitApi } from '../auth/limits.js';
import { getImage, listLibrary, patchImage, putFocalPoint, removeImage, transformImage, uploadImage } from './images.handlers.js';
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
import { transformSchema } from './transform.js';

const tags = ['images'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export const upload = createRoute({
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

export const list = createRoute({
  method: 'get',
  path: '/images',
  tags,
  summary: 'List images, newest first (yours; admins see all), with their metadata and transformed versions (`?page=1&limit=10` as roadmap.sh clients send it)',
  description: 'Paged with `page` and `limit` or, faster for deep pages, with `cursor`. The `Link` header carries next/prev.',
  request: { query: listQuerySchema },
  responses: { 200: json(imageListSchema, 'One page'), ...errors(400, 401, 403) },
});

export const get = createRoute({
  method: 'get',
  path: '/images/{id}',
  tags,
  summary: 'Metadata (name, size, format, upload time), placeholder, the transformed versions made so far and URLs; `?format=` gives `url` in another format',
  request: { params: imageIdParam, query: imageDetailQuerySchema },
  responses: { 200: json(imageDetailSchema, 'The image'), ...errors(400, 401, 404) },
});

export const patch = createRoute({
  method: 'patch',
  path: '/images/{id}',
  tags,
  summary: 'Change tags, collection, visibility or the public id (a rename keeps the old name as a 301)',
  description:
    'Making a public image private, or renaming its public id, also calls the CDN purge hook (PURGE_WEBHOOK_URL) with its tag and public URLs; tags and collection change no answer and purge nothing.',
  request: { params: imageIdParam, body: { required: true, content: { 'application/json': { schema: patchImageSchema } } } },
  responses: { 200: json(imageSchema, 'Updated'), ...errors(400, 401, 403, 404, 409) },
});

export const focal = createRoute({
  method: 'put',
  path: '/images/{id}/focal-point',
  tags,
  summary: "Set the focal point used by g_auto (fractions 0..1); purges the image's renditions",
  description: 'Here and, for a public image, in the CDN in front (PURGE_WEBHOOK_URL).',
  request: { params: imageIdParam, body: { required: true, content: { 'application/json': { schema: focalPointSchema } } } },
  responses: { 200: json(imageSchema, 'Updated'), ...errors(400, 401, 403, 404) },
});

export const remove = createRoute({
  method: 'delete',
  path: '/images/{id}',
  tags,
  summary: 'Delete the image, its original (unless shared) and every cached rendition',
  description:
    'Renditions are purged on every node, and the CDN purge hook (PURGE_WEBHOOK_URL) is called with `img-{id}` and its public URLs, off the request: a failing CDN never fails the delete.',
  request: { params: imageIdParam },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404) },
});

export const transform = createRoute({
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
  app.openapi(upload, uploadImage(deps));
  app.openapi(list, listLibrary(deps));
  app.openapi(get, getImage(deps));
  app.openapi(patch, patchImage(deps));
  app.openapi(focal, putFocalPoint(deps));
  app.openapi(remove, removeImage(deps));
  app.openapi(transform, transformImage(deps));
  return app;
}
