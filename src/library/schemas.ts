import { z } from '@hono/zod-openapi';
import { errorSchemaRef } from '../http.js';
import { hasUnsafeCharacters, lastSegment, shortened } from './file-names.js';
import { isImageKey, PUBLIC_ID_MAX_DEPTH, PUBLIC_ID_MAX_LENGTH, publicIdProblem } from '../spec/public-id.js';

/** Request and answer shapes of the library routes; /openapi.json is generated from these. */

/** A readable id the caller chooses; the rule is src/spec/public-id.ts, said here in its own words. */
export const publicIdSchema = z
  .string()
  .superRefine((v, ctx) => {
    const problem = publicIdProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    description: `A readable id (\`blog/2024/cat\`) usable wherever the random id is: segments of A-Z a-z 0-9 _ - . (none starting with a dot, no dot in the last one), at most ${PUBLIC_ID_MAX_DEPTH} segments and ${PUBLIC_ID_MAX_LENGTH} characters, not starting with delivery options (\`w_300/…\`). One namespace per server: 409 when taken.`,
    example: 'blog/2024/cat',
  });

export const imageIdParam = z.object({
  id: z
    .string()
    .refine(isImageKey, 'an image id, or a public id with its slashes percent-encoded (blog%2F2024%2Fcat)')
    .openapi({
      param: { name: 'id', in: 'path' },
      description: 'The random id, or the public id with `/` sent as `%2F` (`encodeURIComponent(publicId)`)',
      example: 'Xk3vQ9aB2cD4',
    }),
});

/**
 * The one placeholder shape, on every answer that describes an image (upload, GET /images,
 * /info, /random.json): all three are made at ingest from the same ≤100 px downscale.
 */
export const placeholderSchema = z
  .object({
    thumbhash: z.string().nullable().openapi({ description: 'ThumbHash, base64 (decode with the thumbhash package)' }),
    dataUri: z.string().nullable().openapi({ description: 'The ThumbHash as a tiny data: PNG, usable as an <img src> or CSS background' }),
    dominant: z.string().nullable().openapi({ description: 'Dominant colour, #rrggbb', example: '#a0522d' }),
  })
  .openapi('Placeholder');

export function placeholderOf(image: {
  placeholder: string | null;
  placeholderUri: string | null;
  dominant: string | null;
}): z.infer<typeof placeholderSchema> {
  return { thumbhash: image.placeholder, dataUri: image.placeholderUri, dominant: image.dominant };
}

/** Same rule as ingest's normaliseTags, but said out loud instead of silently dropping a bad tag. */
export const tagSchema = z
  .string()
  .trim()
  .regex(/^[\p{L}\p{N}_ -]{1,64}$/u, 'a tag of 1..64 letters, digits, spaces, _ or -');
export const collectionSchema = z
  .string()
  .trim()
  .regex(/^[^\x00-\x1f/]{1,128}$/, 'a collection name of 1..128 characters, no / or control characters');
export const visibilitySchema = z.enum(['public', 'private']);
/** An uploaded file's name: its last path segment, at most 255 characters, refused with characters a label must not hold (./file-names.ts). */
export const filenameSchema = z
  .string()
  .refine((name) => !hasUnsafeCharacters(name), 'a file name without control characters or bidirectional overrides')
  // A path that ends in a folder (`dir/`) names no file: stored without a name, as when none is sent.
  .transform((name) => shortened(lastSegment(name)) || undefined);

/** `tags` as a JSON array, or a comma list (`a,b`) as forms and query strings carry it. */
export const tagsInput = z
  .union([z.array(z.string()), z.string()])
  .transform((v) =>
    (Array.isArray(v) ? v : [v])
      .flatMap((t) => t.split(','))
      .map((t) => t.trim())
      .filter(Boolean),
  )
  .pipe(z.array(tagSchema).max(50, 'at most 50 tags'));

export const uploadFieldsSchema = z.object({
  tags: tagsInput.optional().openapi({ description: 'Comma list, or the parameter repeated', type: 'string' }),
  collection: collectionSchema.optional(),
  visibility: visibilitySchema.optional().openapi({ description: 'Default: DEFAULT_VISIBILITY (public)' }),
  filename: filenameSchema.optional().openapi({ description: 'Original file name (raw-body uploads; multipart takes it from the part)' }),
  publicId: publicIdSchema.optional(),
});

const urls = z.object({
  original: z.string(),
  info: z.string(),
  renditions: z.record(z.string(), z.string()),
});

export const imageSchema = z
  .object({
    id: z.string().openapi({ description: 'The random id (never changes)' }),
    publicId: z.string().nullable().openapi({ description: 'The readable id, when one was chosen; URLs in this answer use it' }),
    name: z.string().openapi({ description: 'The uploaded file name (the id when there was none)' }),
    size: z.number().openapi({ description: 'Bytes of the original (same as bytes)' }),
    url: z.string().openapi({ description: 'Delivery URL of the original (signed when needed)' }),
    ownerId: z.number().nullable(),
    width: z.number(),
    height: z.number(),
    format: z.string(),
    bytes: z.number(),
    frames: z.number(),
    hasAlpha: z.boolean(),
    orientation: z.enum(['landscape', 'portrait', 'square']),
    visibility: visibilitySchema,
    collection: z.string().nullable(),
    tags: z.array(z.string()),
    filename: z.string().nullable(),
    placeholder: placeholderSchema,
    focalPoint: z.object({ x: z.number(), y: z.number() }).nullable(),
    createdAt: z.string().openapi({ description: 'Upload time (ISO 8601)' }),
    urls,
  })
  .openapi('Image');

export const uploadAnswerSchema = imageSchema.extend({ duplicate: z.boolean() }).openapi('UploadedImage');

export const variantSchema = z
  .object({
    options: z.string(),
    format: z.string(),
    width: z.number(),
    height: z.number(),
    bytes: z.number(),
    createdAt: z.string(),
    url: z.string(),
  })
  .openapi('Variant');

export const imageDetailSchema = imageSchema
  .extend({
    variants: z.array(variantSchema).openapi({ description: 'Transformed versions recorded by POST /images/{id}/transform, newest first' }),
    cachedRenditions: z.number(),
  })
  .openapi('ImageDetail');

export const imageListItemSchema = imageSchema
  .extend({ variants: z.array(variantSchema).openapi({ description: 'Transformed versions recorded so far, newest first' }) })
  .openapi('ImageListItem');

const FORMAT_NAMES = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif'] as const;
export const imageDetailQuerySchema = z.object({
  format: z
    .string()
    .toLowerCase()
    .pipe(z.enum(FORMAT_NAMES))
    .optional()
    .openapi({ type: 'string', enum: [...FORMAT_NAMES], description: 'Make `url` the original in this format (any case)' }),
});

export const listQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^\d{1,12}\.[A-Za-z0-9_-]{1,64}$/, 'a cursor from a previous answer')
    .optional()
    .openapi({ description: 'Keyset paging: the nextCursor of the previous page (faster than page for deep pages)' }),
  tag: tagSchema.optional(),
  collection: collectionSchema.optional(),
  visibility: visibilitySchema.optional(),
  orientation: z.enum(['landscape', 'portrait', 'square']).optional(),
  owner: z.coerce.number().int().min(1).optional().openapi({ description: 'Owner user id (admins only)' }),
});

export const imageListSchema = z
  .object({
    items: z.array(imageListItemSchema),
    page: z.number().nullable(),
    limit: z.number(),
    total: z.number(),
    next: z.string().optional(),
    prev: z.string().optional(),
    nextCursor: z.string().optional(),
  })
  .openapi('ImageList');

export const patchImageSchema = z
  .strictObject({
    tags: tagsInput.optional(),
    collection: collectionSchema.nullable().optional(),
    visibility: visibilitySchema.optional(),
    publicId: publicIdSchema.nullable().optional().openapi({
      description: 'Set, change or (null) remove the readable id. A rename keeps the old one as a 301 redirect to the new URL for as long as the image exists',
    }),
  })
  .openapi('ImagePatch');

export const focalPointSchema = z.strictObject({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) }).openapi('FocalPoint');

export const transformResultSchema = z
  .object({
    imageId: z.string(),
    options: z.string(),
    format: z.string(),
    width: z.number(),
    height: z.number(),
    bytes: z.number(),
    url: z.string(),
  })
  .openapi('TransformResult');

export const taskSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    state: z.enum(['queued', 'running', 'done', 'failed']),
    result: transformResultSchema.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).passthrough().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Task');

export const presetSchema = z.object({ name: z.string(), options: z.string(), createdAt: z.string(), updatedAt: z.string() }).openapi('Preset');

export function errors(...statuses: number[]) {
  const text: Record<number, string> = {
    400: 'Invalid input',
    401: 'No or invalid credentials',
    403: 'Not allowed',
    404: 'Not found',
    409: 'Conflict',
    413: 'Too large',
    415: 'Not an image',
    422: 'Corrupt image',
    429: 'Rate limited',
    503: 'Busy or storage unavailable; retry after Retry-After',
  };
  return Object.fromEntries(statuses.map((s) => [s, { description: text[s] ?? 'Error', content: { 'application/json': { schema: errorSchemaRef } } }]));
}

export const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
