import { z } from '@hono/zod-openapi';
import { AppError, BadOptionError, BadRequestError } from '../errors.js';
import {
  DECLARED_KEYS,
  NAME_TO_KEY,
  parseSpec,
  signingForm,
  registry,
  splitItem,
  valueAt,
  type JsonField,
  type JsonValue,
  type ParseLimits,
  type Spec,
  type SpecKey,
} from '../spec/index.js';

/**
 * The JSON transform body of `POST /images/{id}/transform`, mapped onto the URL grammar. Both
 * the schema and the mapping are built from the registry entries' `json` fields (spec/json.ts).
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

/** The zod schema of one JSON value shape (see spec/json.ts). */
function valueSchema(value: JsonValue): z.ZodType {
  if (typeof value === 'object') {
    const values = value.enum as [string, ...string[]];
    // `"PNG"` and `"JPEG"` as roadmap.sh clients write them.
    return value.anyCase ? z.string().toLowerCase().pipe(z.enum(values)) : z.enum(values);
  }
  switch (value) {
    case 'number':
      return number;
    case 'flag':
      return z.boolean();
    case 'flag-or-number':
      return z.union([z.boolean(), number]);
    case 'number-or-auto':
      return z.union([number, z.literal('auto')]);
    case 'number-or-max':
      return z.union([number, z.literal('max')]);
    case 'word':
      return word;
    case 'colour':
      return colour;
    case 'ratio':
      return z.string().regex(/^\d{1,5}:\d{1,5}$/, 'w:h, e.g. 16:9');
    case 'region':
      return z.strictObject({ x: number.optional(), y: number.optional(), width: number, height: number });
  }
}

/** A field's schema as it sits in the body: optional unless its group requires it, with its description. */
function fieldSchema(field: JsonField): z.ZodType {
  const base = valueSchema(field.value);
  if (field.required) return base;
  const anyCase = typeof field.value === 'object' && field.value.anyCase ? { type: 'string' as const, enum: [...field.value.enum] } : {};
  const doc = field.doc === undefined ? {} : { description: field.doc };
  return Object.keys(anyCase).length + Object.keys(doc).length > 0 ? base.optional().openapi({ ...anyCase, ...doc }) : base.optional();
}

/** One JSON field and the option it fills, in registry order: the order of the URL items it writes. */
interface FieldMapping {
  key: SpecKey;
  path: string;
  field: JsonField;
}

function jsonFields(key: SpecKey): readonly JsonField[] {
  const json = registry[key].json;
  return 'none' in json ? [] : Array.isArray(json) ? json : [json as JsonField];
}

export const FIELD_MAPPINGS: readonly FieldMapping[] = DECLARED_KEYS.flatMap((key) => jsonFields(key).map((field) => ({ key, path: field.path, field })));

/** Descriptions of the group objects (a field's own description sits on the field). */
const GROUP_DOCS: Readonly<Record<string, string>> = {
  resize: 'The size after crop and before rotate: resize 400x300 then rotate 90 delivers 300x400',
  watermark: 'Another library image composited over the result: its id, or {image, gravity, opacity, size}',
  compress: 'roadmap.sh spelling of quality',
};

/** The transform fields, bare (imgpath's own form) or inside roadmap.sh's `{"transformations": {...}}`, built from the registry. */
function transformFields(): Record<string, z.ZodType> {
  const groups = new Map<string, FieldMapping[]>();
  for (const m of FIELD_MAPPINGS) {
    const top = m.path.split('.')[0];
    groups.set(top, [...(groups.get(top) ?? []), m]);
  }
  const fields: Record<string, z.ZodType> = {};
  for (const [top, members] of groups) {
    if (members.length === 1 && members[0].path === top) {
      fields[top] = fieldSchema(members[0].field);
      continue;
    }
    const object = z.strictObject(Object.fromEntries(members.map((m) => [m.path.slice(top.length + 1), fieldSchema(m.field)])));
    const shorthand = members.find((m) => m.field.shorthand);
    const group = (shorthand ? z.union([valueSchema(shorthand.field.value), object]) : object).optional();
    fields[top] = GROUP_DOCS[top] === undefined ? group : group.openapi({ description: GROUP_DOCS[top] });
  }
  return fields;
}

const fields = transformFields();
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
  return { t: transformations as TransformRequest, prefix: 'transformations.' };
}

/** `{name}{sep}{value}` for a JSON value of the field's shape; undefined for a false flag. */
function defaultItem(key: SpecKey, field: JsonField, v: unknown): string | undefined {
  const { names, sep } = registry[key];
  if (v === false) return undefined;
  if (v === true) return names[0];
  if (field.value === 'region') {
    const r = v as { x?: number; y?: number; width: number; height: number };
    return `${names[0]}${sep}${r.x ?? 0}:${r.y ?? 0}:${r.width}:${r.height}`;
  }
  return `${names[0]}${sep}${String(v)}`;
}

/** Each present JSON field with the URL item it becomes, in step order. */
function transformItems(t: TransformRequest): Array<{ path: string; item: string }> {
  const out: Array<{ path: string; item: string }> = [];
  for (const { key, path, field } of FIELD_MAPPINGS) {
    const v = valueAt(t, field);
    if (v === undefined) continue;
    const item = field.item ? field.item(v, t) : defaultItem(key, field, v);
    if (item !== undefined) out.push({ path, item });
  }
  return out;
}

/** The JSON fields as URL options (`rg_0:0:200:200,w_300,h_200,c_fill`), in step order. */
export function transformToOptions(t: TransformRequest): string {
  return transformItems(t)
    .map((i) => i.item)
    .join(',');
}

/** URL option name → the JSON field it came from, to point a grammar error at the caller's field. */
function fieldFor(option: string, t: TransformRequest): string | undefined {
  const written = transformItems(t).find((i) => splitItem(i.item).name === option);
  if (written) return written.path;
  const key = NAME_TO_KEY.get(option);
  return key === undefined ? undefined : jsonFields(key).find((f) => valueAt(t, f) !== undefined)?.path;
}

/** JSON body (bare or wrapped) → options string → the same typed Spec a URL gives; grammar errors name the JSON field. */
export function parseTransform(body: TransformBody, limits: ParseLimits): { options: string; spec: Spec } {
  const { t, prefix } = unwrapTransform(body);
  const options = transformToOptions(t);
  let spec: Spec;
  try {
    spec = parseSpec(options, undefined, limits);
  } catch (err) {
    throw naming(err, body);
  }
  // Nothing to do is a mistake in the request (a misspelt wrapper, an empty object, only defaults
  // such as rotate 0 or dpr 1), not a version of the image: judged on the canonical form.
  if (signingForm(spec) === '') {
    throw new BadRequestError(
      'The transform names no transformation: give at least one field that changes the image (resize, crop, rotate, filters, format, …)',
      prefix ? { field: 'transformations' } : {},
      'empty_transform',
    );
  }
  return { options, spec };
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
