import { z } from '@hono/zod-openapi';
import { AppError, BadOptionError } from '../errors.js';
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

export const transformSchema = z
  .strictObject({
    resize: z
      .strictObject({
        width: number.optional(),
        height: number.optional(),
        fit: z.enum(['fit', 'limit', 'fill', 'scale', 'pad', 'thumb']).optional().openapi({ description: 'Crop mode (c_): fit, limit, fill, scale, pad, thumb' }),
      })
      .optional(),
    crop: z
      .strictObject({ x: number.optional(), y: number.optional(), width: number, height: number })
      .optional()
      .openapi({ description: 'Extract a region of the original (c_crop); cannot be combined with resize' }),
    rotate: number.optional().openapi({ description: 'Clockwise degrees (r_)' }),
    flip: z.boolean().optional(),
    mirror: z.boolean().optional(),
    gravity: word.optional().openapi({ description: 'g_: center, north, …, auto, entropy' }),
    aspectRatio: z.string().regex(/^\d{1,5}:\d{1,5}$/, 'w:h, e.g. 16:9').optional(),
    dpr: number.optional(),
    background: colour.optional(),
    radius: z.union([number, z.literal('max')]).optional(),
    watermark: z
      .strictObject({ image: word, gravity: word.optional(), opacity: number.optional(), size: number.optional() })
      .optional(),
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
    format: z.enum(['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif', 'auto']).optional(),
    quality: z.union([number, z.literal('auto')]).optional(),
    preset: word.optional().openapi({ description: 'A named preset (t_); the other fields override it' }),
  })
  .openapi('Transform');

export type TransformRequest = z.infer<typeof transformSchema>;

type Value = string | number | boolean | undefined;

/** One row per JSON field: where it sits in the body and the URL item it becomes. */
interface FieldMapping {
  path: string;
  get(t: TransformRequest): Value;
  item(v: NonNullable<Value>): string | undefined;
}

const to = (prefix: string) => (v: NonNullable<Value>) => `${prefix}${v}`;
const flag = (name: string) => (v: NonNullable<Value>) => (v === true ? name : undefined);

export const FIELD_MAPPINGS: readonly FieldMapping[] = [
  { path: 'resize.width', get: (t) => t.resize?.width, item: to('w_') },
  { path: 'resize.height', get: (t) => t.resize?.height, item: to('h_') },
  { path: 'resize.fit', get: (t) => t.resize?.fit, item: to('c_') },
  { path: 'crop', get: (t) => (t.crop ? 'crop' : undefined), item: () => 'c_crop' },
  { path: 'crop.x', get: (t) => t.crop?.x, item: to('x_') },
  { path: 'crop.y', get: (t) => t.crop?.y, item: to('y_') },
  { path: 'crop.width', get: (t) => t.crop?.width, item: to('w_') },
  { path: 'crop.height', get: (t) => t.crop?.height, item: to('h_') },
  { path: 'rotate', get: (t) => t.rotate, item: to('r_') },
  { path: 'flip', get: (t) => t.flip, item: flag('fl_flip') },
  { path: 'mirror', get: (t) => t.mirror, item: flag('fl_mirror') },
  { path: 'gravity', get: (t) => t.gravity, item: to('g_') },
  { path: 'aspectRatio', get: (t) => t.aspectRatio, item: to('ar_') },
  { path: 'dpr', get: (t) => t.dpr, item: to('dpr_') },
  { path: 'background', get: (t) => t.background, item: to('bg_') },
  { path: 'radius', get: (t) => t.radius, item: to('rad_') },
  { path: 'watermark.image', get: (t) => t.watermark?.image, item: to('wm_') },
  { path: 'watermark.gravity', get: (t) => t.watermark?.gravity, item: to('wmg_') },
  { path: 'watermark.opacity', get: (t) => t.watermark?.opacity, item: to('wmo_') },
  { path: 'watermark.size', get: (t) => t.watermark?.size, item: to('wms_') },
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
  { path: 'preset', get: (t) => t.preset, item: to('t_') },
];

/** URL option name → the JSON field it came from, to point a grammar error at the caller's field. */
function fieldFor(option: string, t: TransformRequest): string | undefined {
  const names: Record<string, string[]> = {
    w: ['resize.width', 'crop.width'], h: ['resize.height', 'crop.height'], c: ['resize.fit', 'crop'], x: ['crop.x'], y: ['crop.y'],
    r: ['rotate'], g: ['gravity'], ar: ['aspectRatio'], dpr: ['dpr'], bg: ['background'], rad: ['radius'],
    wm: ['watermark.image'], wmg: ['watermark.gravity'], wmo: ['watermark.opacity'], wms: ['watermark.size'],
    e_blur: ['filters.blur'], e_sharpen: ['filters.sharpen'], e_tint: ['filters.tint'], e_brightness: ['filters.brightness'],
    e_saturation: ['filters.saturation'], f: ['format'], q: ['quality'], t: ['preset'],
  };
  return names[option]?.find((path) => FIELD_MAPPINGS.find((m) => m.path === path)?.get(t) !== undefined);
}

/** The JSON body as URL options (`w_300,h_200,c_fill`), in field order. */
export function transformToOptions(t: TransformRequest): string {
  if (t.crop && t.resize) {
    // The grammar's c_crop uses w_/h_ for the region, so one spec cannot also resize.
    throw new BadOptionError('crop', 'crop and resize cannot be combined in one transform: crop a region, then transform the result by URL', 'either crop or resize');
  }
  const items: string[] = [];
  for (const m of FIELD_MAPPINGS) {
    const v = m.get(t);
    if (v === undefined) continue;
    const item = m.item(v);
    if (item !== undefined) items.push(item);
  }
  return items.join(',');
}

/** JSON body → options string → the same typed Spec a URL gives; grammar errors name the JSON field. */
export function parseTransform(t: TransformRequest, limits: ParseLimits): { options: string; spec: Spec } {
  const options = transformToOptions(t);
  try {
    return { options, spec: parseSpec(options, undefined, limits) };
  } catch (err) {
    if (err instanceof BadOptionError) {
      const option = String(err.details.option ?? '');
      const field = fieldFor(option, t);
      if (field) throw new AppError(err.status, err.code, err.message, { ...err.details, field });
    }
    throw err;
  }
}
