import { z } from '@hono/zod-openapi';
import { AppError, BadOptionError, BadRequestError } from '../errors.js';
import { parseSpec, type Spec, type ParseLimits } from '../spec/index.js';

/**
 * The JSON transform body of `POST /images/{id}/transform`, mapped onto the URL grammar.
 * zod checks only the shape and types; every value is written into an options string and
 * validated by `parseSpec`, so the JSON API and the URLs share one set of rules and ranges.
 */

// Values are pasted into an options string: anything that could smuggle in another option
// (`,`) or a path segment (`/`) is refused here, before the grammar sees it.
const word = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - only');
const colour = z
  .string()
  .regex(/^#?[0-9A-Fa-f]{3,8}$/, 'a hex colour: rgb, rrggbb or rrggbbaa, with or without #')
  .transform((s) => s.replace(/^#/, ''));
const number = z.number().finite();

const OUTPUT_FORMATS = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif', 'auto'] as const;

/** The transform fields, bare (imgpath's own form) or inside roadmap.sh's `{"transformations": {...}}`. */
const fields = {
  resize: z
    .strictObject({
      width: number.optional(),
      height: number.optional(),
      fit: z.enum(['fit', 'limit', 'fill', 'scale', 'pad', 'thumb']).optional().openapi({
        description:
          "Crop mode (c_). Default with both width and height: fill (cover the box, crop the overflow, as sharp's resize(w, h) does), so the result is exactly that size; with one side: fit",
      }),
    })
    .optional()
    .openapi({ description: 'The size after crop and before rotate: resize 400x300 then rotate 90 delivers 300x400' }),
  crop: z
    .strictObject({ x: number.optional(), y: number.optional(), width: number, height: number })
    .optional()
    .openapi({ description: 'A region of the original in its pixels (rg_), cut out first; resize and the rest apply to it' }),
  rotate: number.optional().openapi({ description: 'Clockwise degrees (r_), after resize' }),
  flip: z.boolean().optional().openapi({ description: 'Upside down, after rotate' }),
  mirror: z.boolean().optional().openapi({ description: 'Left-right, after rotate' }),
  gravity: word.optional().openapi({ description: 'g_: center, north, …, auto, entropy' }),
  aspectRatio: z
    .string()
    .regex(/^\d{1,5}:\d{1,5}$/, 'w:h, e.g. 16:9')
    .optional(),
  dpr: number.optional(),
  background: colour.optional(),
  radius: z.union([number, z.literal('max')]).optional(),
  watermark: z
    .union([word, z.strictObject({ image: word, gravity: word.optional(), opacity: number.optional(), size: number.optional() })])
    .optional()
    .openapi({ description: 'Another library image composited over the result: its id, or {image, gravity, opacity, size}' }),
  filters: z
    .strictObject({
      grayscale: z.boolean().optional(),
      sepia: z.boolean().optional(),
      negate: z.boolean().optional(),
      blur: number.optional(),
      sharpen: z.union([z.boolean(), number]).optional(),
      tint: colour.optional(),
      brightness: number.optional(),
      saturation: number.optional(),
    })
    .optional(),
  // `"PNG"` and `"JPEG"` as roadmap.sh clients write them.
  format: z
    .string()
    .toLowerCase()
    .pipe(z.enum(OUTPUT_FORMATS))
    .optional()
    .openapi({ type: 'string', enum: [...OUTPUT_FORMATS], description: 'Output format (f_), any case' }),
  quality: z
    .union([number, z.literal('auto')])
    .optional()
    .openapi({ description: 'q_: 1..100 or auto' }),
  compress: z
    .strictObject({ quality: z.union([number, z.literal('auto')]) })
    .optional()
    .openapi({ description: 'roadmap.sh spelling of quality' }),
  preset: word.optional().openapi({ description: 'A named preset (t_); the other fields override it' }),
};

const bareTransform = z.strictObject(fields);

export const transformSchema = z
  .strictObject({
    ...fields,
    transformations: bareTransform
      .optional()
      .openapi({ description: 'The same fields, wrapped as roadmap.sh clients send them (then nothing else at the top level)' }),
  })
  .openapi('Transform');

export type TransformBody = z.infer<typeof transformSchema>;
export type TransformRequest = z.infer<typeof bareTransform>;

/** The fields, whichever way they came, and the prefix to name them by in errors. */
export function unwrapTransform(body: TransformBody): { t: TransformRequest; prefix: string } {
  const { transformations, ...bare } = body;
  if (transformations === undefined) return { t: bare, prefix: '' };
  const extra = Object.keys(bare).filter((k) => bare[k as keyof typeof bare] !== undefined);
  if (extra.length > 0) {
    throw new BadRequestError(
      `Send the fields either inside "transformations" or bare, not both (found ${extra.map((k) => `"${k}"`).join(', ')} beside it)`,
      { field: extra[0] },
      'validation_failed',
    );
  }
  return { t: transformations, prefix: 'transformations.' };
}

type Value = string | number | boolean | undefined;

/** One row per JSON field: where it sits in the body and the URL item it becomes. */
interface FieldMapping {
  path: string;
  get(t: TransformRequest): Value;
  item(v: NonNullable<Value>, t: TransformRequest): string | undefined;
}

const to = (prefix: string) => (v: NonNullable<Value>) => `${prefix}${v}`;
const flag = (name: string) => (v: NonNullable<Value>) => (v === true ? name : undefined);
const watermark = (t: TransformRequest) => (typeof t.watermark === 'string' ? { image: t.watermark } : t.watermark);

/**
 * JSON transforms are steps, in this order: crop (source pixels) → resize → rotate → flip/mirror →
 * filters → watermark → format/quality. URL options describe the delivered image instead (w_/h_
 * are its size even after r_90), so a quarter turn swaps the resize box into the delivered frame.
 */
function quarterTurn(t: TransformRequest): boolean {
  const r = t.rotate;
  return r !== undefined && Number.isInteger(r) && ((r % 180) + 180) % 180 === 90;
}
const side = (own: 'w' | 'h') => (v: NonNullable<Value>, t: TransformRequest) => `${quarterTurn(t) ? (own === 'w' ? 'h' : 'w') : own}_${v}`;

export const FIELD_MAPPINGS: readonly FieldMapping[] = [
  {
    path: 'crop',
    get: (t) => (t.crop ? [t.crop.x ?? 0, t.crop.y ?? 0, t.crop.width, t.crop.height].join(':') : undefined),
    item: to('rg_'),
  },
  { path: 'resize.width', get: (t) => t.resize?.width, item: side('w') },
  { path: 'resize.height', get: (t) => t.resize?.height, item: side('h') },
  {
    path: 'resize.fit',
    // Both sides and no fit: exactly that size (cover and crop the overflow), as roadmap.sh means it.
    get: (t) => t.resize?.fit ?? (t.resize?.width !== undefined && t.resize?.height !== undefined ? 'fill' : undefined),
    item: to('c_'),
  },
  { path: 'rotate', get: (t) => t.rotate, item: to('r_') },
  { path: 'flip', get: (t) => t.flip, item: flag('fl_flip') },
  { path: 'mirror', get: (t) => t.mirror, item: flag('fl_mirror') },
  { path: 'gravity', get: (t) => t.gravity, item: to('g_') },
  {
    path: 'aspectRatio',
    get: (t) => t.aspectRatio,
    item: (v, t) => (quarterTurn(t) ? `ar_${String(v).split(':').reverse().join(':')}` : `ar_${v}`),
  },
  { path: 'dpr', get: (t) => t.dpr, item: to('dpr_') },
  { path: 'background', get: (t) => t.background, item: to('bg_') },
  { path: 'radius', get: (t) => t.radius, item: to('rad_') },
  { path: 'watermark.image', get: (t) => watermark(t)?.image, item: to('wm_') },
  { path: 'watermark.gravity', get: (t) => watermark(t)?.gravity, item: to('wmg_') },
  { path: 'watermark.opacity', get: (t) => watermark(t)?.opacity, item: to('wmo_') },
  { path: 'watermark.size', get: (t) => watermark(t)?.size, item: to('wms_') },
  { path: 'filters.grayscale', get: (t) => t.filters?.grayscale, item: flag('e_grayscale') },
  { path: 'filters.sepia', get: (t) => t.filters?.sepia, item: flag('e_sepia') },
  { path: 'filters.negate', get: (t) => t.filters?.negate, item: flag('e_negate') },
  { path: 'filters.blur', get: (t) => t.filters?.blur, item: to('e_blur:') },
  { path: 'filters.sharpen', get: (t) => t.filters?.sharpen, item: (v) => (v === true ? 'e_sharpen' : v === false ? undefined : `e_sharpen:${v}`) },
  { path: 'filters.tint', get: (t) => t.filters?.tint, item: to('e_tint:') },
  { path: 'filters.brightness', get: (t) => t.filters?.brightness, item: to('e_brightness:') },
  { path: 'filters.saturation', get: (t) => t.filters?.saturation, item: to('e_saturation:') },
  { path: 'format', get: (t) => t.format, item: to('f_') },
  { path: 'quality', get: (t) => t.quality, item: to('q_') },
  { path: 'compress.quality', get: (t) => t.compress?.quality, item: to('q_') },
  { path: 'preset', get: (t) => t.preset, item: to('t_') },
];

/** URL option name → the JSON field it came from, to point a grammar error at the caller's field. */
function fieldFor(option: string, t: TransformRequest): string | undefined {
  const names: Record<string, string[]> = {
    rg: ['crop'],
    w: ['resize.width', 'resize.height'],
    h: ['resize.height', 'resize.width'],
    c: ['resize.fit'],
    r: ['rotate'],
    g: ['gravity'],
    ar: ['aspectRatio'],
    dpr: ['dpr'],
    bg: ['background'],
    rad: ['radius'],
    wm: ['watermark.image'],
    wmg: ['watermark.gravity'],
    wmo: ['watermark.opacity'],
    wms: ['watermark.size'],
    e_blur: ['filters.blur'],
    e_sharpen: ['filters.sharpen'],
    e_tint: ['filters.tint'],
    e_brightness: ['filters.brightness'],
    e_saturation: ['filters.saturation'],
    f: ['format'],
    q: ['quality', 'compress.quality'],
    t: ['preset'],
  };
  const candidates = (names[option] ?? []).filter((path) => FIELD_MAPPINGS.find((m) => m.path === path)?.get(t) !== undefined);
  // A quarter turn writes resize.width as h_: the same field, seen from the delivered frame.
  if (quarterTurn(t) && (option === 'w' || option === 'h')) candidates.reverse();
  return candidates[0];
}

/** The JSON fields as URL options (`rg_0:0:200:200,w_300,h_200,c_fill`), in step order. */
export function transformToOptions(t: TransformRequest): string {
  const items: string[] = [];
  for (const m of FIELD_MAPPINGS) {
    const v = m.get(t);
    if (v === undefined) continue;
    const item = m.item(v, t);
    if (item !== undefined) items.push(item);
  }
  return items.join(',');
}

/** JSON body (bare or wrapped) → options string → the same typed Spec a URL gives; grammar errors name the JSON field. */
export function parseTransform(body: TransformBody, limits: ParseLimits): { options: string; spec: Spec } {
  const { t } = unwrapTransform(body);
  const options = transformToOptions(t);
  try {
    return { options, spec: parseSpec(options, undefined, limits) };
  } catch (err) {
    throw naming(err, body);
  }
}

/**
 * Run what comes after parsing (planning against the image's size: a crop outside it, a result
 * over the caps), with its option errors pointed at the caller's JSON field too.
 */
export async function namingFields<T>(body: TransformBody, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw naming(err, body);
  }
}

function naming(err: unknown, body: TransformBody): unknown {
  if (!(err instanceof BadOptionError)) return err;
  const { t, prefix } = unwrapTransform(body);
  const field = fieldFor(String(err.details.option ?? ''), t);
  return field ? new AppError(err.status, err.code, err.message, { ...err.details, field: prefix + field }) : err;
}
