import { z } from '@hono/zod-openapi';
import { placeholderSchema } from '../library/schemas.js';

/** Request and answer shapes of the random routes; /openapi.json is generated from these. */

const filterFields = {
  collection: z.string().min(1).max(200).optional().openapi({ description: 'only images in this collection' }),
  tag: z.string().min(1).max(64).optional().openapi({ description: 'only images with this tag' }),
  orientation: z.enum(['landscape', 'portrait', 'square']).optional(),
  min_width: z.coerce.number().int().min(1).max(1_000_000).optional().openapi({ description: 'only images at least this wide (px)' }),
  seed: z.string().min(1).max(200).optional().openapi({ description: 'same seed, same image, while the library is unchanged' }),
};

export const pickQuery = z.object({
  ...filterFields,
  redirect: z.enum(['0', '1', 'false', 'true']).optional().openapi({ description: '0: answer the image bytes instead of a 302' }),
});

export const listQuery = z.object({
  ...filterFields,
  count: z.coerce.number().int().min(1).max(50).default(1).openapi({ description: 'how many distinct images (1..50)' }),
  options: z
    .string()
    .max(2048)
    .optional()
    .openapi({ description: 'delivery options for the returned URLs, e.g. w_400,h_300,c_fill (same access rule as /img)' }),
});

export const keyQuery = z.object(filterFields);

export type PickQuery = z.infer<typeof pickQuery>;

export const imageItem = z
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
