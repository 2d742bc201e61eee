import type { Deps } from '../deps.js';
import { createRoute, errorSchemaRef, router, z } from '../http.js';
import { limitApi } from '../auth/limits.js';
import { requireCaller } from '../auth/access.js';
import { completeUpload, openUpload } from './direct-uploads.js';
import { imageView } from './images.js';
import { errors, iso, uploadAnswerSchema, uploadFieldsSchema } from './schemas.js';
import { baseUrl } from './urls.js';

const tags = ['images'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => ({ description, content: { 'application/json': { schema: errorSchemaRef } } });
const unavailable = { 501: error('Direct uploads need STORAGE=s3 (code `direct_uploads_unavailable`)') };

const openBody = uploadFieldsSchema
  .extend({
    contentType: z
      .string()
      .regex(/^image\/[A-Za-z0-9][A-Za-z0-9.+-]{0,62}$/, 'an image/* media type')
      .openapi({
        description: 'Signed into the URL: the PUT must carry exactly this Content-Type. The stored type is still sniffed from the bytes.',
        example: 'image/jpeg',
      }),
    bytes: z
      .number()
      .int()
      .positive()
      .openapi({ description: "The file's exact size (`File.size`), signed into the URL as its Content-Length; at most MAX_UPLOAD_MB", example: 482113 }),
  })
  .openapi('DirectUploadRequest');

const ticketSchema = z
  .object({
    id: z.string(),
    url: z.string().openapi({ description: 'Presigned S3 URL: PUT the file here, before `expiresAt`' }),
    method: z.literal('PUT'),
    headers: z
      .object({ 'Content-Type': z.string() })
      .openapi({ description: "Headers the PUT must carry (Content-Length is the browser's, and must equal `bytes`)" }),
    bytes: z.number(),
    expiresAt: z.string().openapi({ description: 'The URL stops working' }),
    completeBy: z.string().openapi({ description: 'Complete before this; afterwards the upload answers 410, then 404, and its object is removed' }),
    complete: z.string().openapi({ description: 'POST here once the PUT answered 200', example: '/images/uploads/3q2-7wEXq1Jm9Lb2/complete' }),
  })
  .openapi('DirectUpload');

const uploadIdParam = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an upload id')
    .openapi({ param: { name: 'id', in: 'path' }, example: '3q2-7wEXq1Jm9Lb2' }),
});

const open = createRoute({
  method: 'post',
  path: '/images/uploads',
  tags,
  summary: 'Start a direct upload (STORAGE=s3): a presigned PUT URL for the browser to send the file to the bucket itself',
  description:
    'The URL is bound to the declared size and type (signed headers) and expires after UPLOAD_URL_TTL_SECONDS. A presigned PUT cannot cap a size by itself, so complete checks it again before reading. Same credentials and `upload` scope as POST /images; fields (tags, collection, visibility, filename, publicId) apply at complete.',
  request: { body: { required: true, content: { 'application/json': { schema: openBody } } } },
  responses: {
    201: json(ticketSchema, 'PUT the file to `url` with `headers`, then POST `complete`'),
    ...errors(400, 401, 403, 413, 429),
    ...unavailable,
  },
});

const complete = createRoute({
  method: 'post',
  path: '/images/uploads/{id}/complete',
  tags,
  summary: 'Finish a direct upload: the object is checked (size before a byte is read), sniffed and ingested like POST /images, then removed from staging',
  description:
    "Answers like POST /images: 201, or 200 for bytes already in the library. A refused object (413, 415, 422) is removed. Only the caller who opened the upload may complete it; another's id is 404. A second complete answers the same (an accepted upload as a 200 duplicate). 409 when nothing was PUT yet (PUT, then complete again).",
  request: { params: uploadIdParam },
  responses: {
    201: json(uploadAnswerSchema, 'Stored'),
    200: json(uploadAnswerSchema, 'Already in the library (same bytes, same owner), or completed before'),
    ...errors(401, 403, 404, 409, 413, 415, 422, 503),
    410: error('The upload expired before it was completed'),
    ...unavailable,
  },
});

/** Direct uploads to the bucket (src/library/direct-uploads.ts); mounted beside imagesRoutes. */
export function uploadsRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });

  app.openapi(open, async function openDirectUpload(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const ticket = await openUpload(deps, principal, c.req.valid('json'));
    c.header('Cache-Control', 'no-store');
    return c.json({ ...ticket, expiresAt: iso(ticket.expiresAt), completeBy: iso(ticket.completeBy), complete: `/images/uploads/${ticket.id}/complete` }, 201);
  });

  app.openapi(complete, async function completeDirectUpload(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const { image, duplicate } = await completeUpload(deps, principal, c.req.valid('param').id);
    const body = { ...imageView(deps, baseUrl(c, deps), image), duplicate };
    c.header('Location', `/images/${image.id}`);
    return duplicate ? c.json(body, 200) : c.json(body, 201);
  });

  return app;
}
