import { BadOptionError } from '../errors.js';
import { describe } from './args.js';
import { NAME_TO_KEY, SPEC_KEYS, opDef, registry } from './registry.js';
import { resolveBox } from './geometry.js';
import { usesHints } from './hints.js';
import { DEFAULT_LIMITS, type ResolvedSpec, type Spec, type SpecKey, type ParseLimits } from './types.js';

const MAX_OPTIONS_LENGTH = 2048;
const MAX_ITEMS = 64;

const EXT_FORMATS: Readonly<Record<string, Spec['f']>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
};

function assign<K extends SpecKey>(spec: Spec, key: K, value: Spec[K]): void {
  spec[key] = value;
}

/** Split `e_blur:5` / `w_300` / `fl_flip` into its URL name and raw value. */
export function splitItem(item: string): { name: string; raw: string | undefined } {
  if (item.startsWith('e_') || item.startsWith('fl_')) {
    const colon = item.indexOf(':');
    return colon === -1 ? { name: item, raw: undefined } : { name: item.slice(0, colon), raw: item.slice(colon + 1) };
  }
  const us = item.indexOf('_');
  return us === -1 ? { name: item, raw: undefined } : { name: item.slice(0, us), raw: item.slice(us + 1) };
}

function unknownOption(name: string): never {
  // `e_blur_5` is a common slip for `e_blur:5`: point at the right spelling.
  for (const key of SPEC_KEYS) {
    const def = opDef(key);
    if (def.sep === ':' && name.startsWith(`${def.names[0]}_`)) {
      throw new BadOptionError(def.names[0], `Expected ${def.syntax} for ${def.names[0]} but received ${describe(name)}`, def.syntax);
    }
  }
  const known = SPEC_KEYS.map((k) => registry[k].names.join('/')).join(', ');
  throw new BadOptionError(name, `Unknown option ${describe(name)}`, known);
}

/**
 * `"w_300,r_90,f_webp"` (+ the `{id}.{ext}` extension) → a typed, validated Spec.
 * Throws BadOptionError for anything wrong, and nothing else for any string.
 */
export function parseSpec(options: string, ext?: string, limits: ParseLimits = DEFAULT_LIMITS): Spec {
  const spec: Spec = {};
  if (typeof options !== 'string') throw new BadOptionError('options', 'Expected a string of options');
  if (options.length > MAX_OPTIONS_LENGTH) {
    throw new BadOptionError('options', `Options are limited to ${MAX_OPTIONS_LENGTH} characters`);
  }
  if (options !== '') {
    const items = options.split(',');
    if (items.length > MAX_ITEMS) throw new BadOptionError('options', `At most ${MAX_ITEMS} options are allowed`);
    for (const item of items) {
      if (item === '') throw new BadOptionError('options', 'Empty option (two commas in a row, or a trailing comma)');
      const { name, raw } = splitItem(item);
      const key = NAME_TO_KEY.get(name);
      if (key === undefined) unknownOption(name);
      if (spec[key] !== undefined) {
        const def = opDef(key);
        const aka = def.names.length > 1 ? ` (${def.names.join('_ and ')}_ are the same option)` : '';
        throw new BadOptionError(name, `Option ${name} is given more than once${aka}`, 'each option once');
      }
      assign(spec, key, opDef(key).parse(raw, limits));
    }
  }
  if (ext !== undefined) applyExtension(spec, ext);
  // A preset may supply the other half of a pair (ar_ needs w_ or h_), so a spec naming one is
  // checked after the merge instead (mergePreset).
  if (spec.t === undefined) validateSpec(spec, limits);
  return spec;
}

function applyExtension(spec: Spec, ext: string): void {
  const f = Object.hasOwn(EXT_FORMATS, ext.toLowerCase()) ? EXT_FORMATS[ext.toLowerCase()] : undefined;
  if (f === undefined) {
    throw new BadOptionError('f', `Unsupported extension ${describe(ext)}`, 'jpg, jpeg, png, webp, avif, gif');
  }
  if (spec.f !== undefined && spec.f !== f) {
    throw new BadOptionError('f', `f_${spec.f} contradicts the .${ext} extension`, `f_${f} or no f_ option`);
  }
  spec.f = f;
}

/** Rules that involve more than one option. Throws BadOptionError naming the option at fault. */
export function validateSpec(spec: Spec, limits: ParseLimits = DEFAULT_LIMITS): void {
  if (spec.ar !== undefined && (spec.w === undefined) === (spec.h === undefined)) {
    throw new BadOptionError('ar', 'ar_ needs exactly one of w_ or h_ (the other side is derived from the ratio)', 'ar_{w}:{h} with w_ or h_');
  }
  if (spec.rg !== undefined && spec.c === 'crop') {
    throw new BadOptionError(
      'rg',
      'rg_ and c_crop both cut out a region: use rg_ (it can be followed by w_/h_ and any other c_ mode)',
      'rg_{x}:{y}:{w}:{h} without c_crop',
    );
  }
  if (spec.c === 'crop') {
    if (typeof spec.w === 'object') {
      throw new BadOptionError('w', 'w_auto does not apply to c_crop (its w_ is a region in source pixels)', 'c_crop,x_{px},y_{px},w_{px},h_{px}');
    }
    if (spec.w === undefined || spec.h === undefined) {
      throw new BadOptionError('c', 'c_crop needs w_ and h_ (the region size), plus optional x_ and y_', 'c_crop,x_{px},y_{px},w_{px},h_{px}');
    }
    if (spec.dpr !== undefined && spec.dpr !== 1) {
      throw new BadOptionError('dpr', 'dpr_ does not apply to c_crop (its region is in source pixels)', 'no dpr_ with c_crop');
    }
  } else {
    for (const key of ['x', 'y'] as const) {
      if (spec[key] !== undefined) throw new BadOptionError(key, `${key}_ is only meaningful with c_crop`, 'c_crop with w_ and h_');
    }
  }
  if (spec.wm === undefined) {
    for (const key of ['wmg', 'wmo', 'wms'] as const) {
      if (spec[key] !== undefined) throw new BadOptionError(key, `${key}_ needs a watermark (wm_{imageId})`, 'wm_{imageId}');
    }
  }
  // w_auto / dpr_auto get their numbers per request: the planner checks the caps on those.
  if (usesHints(spec)) return;
  const sized = spec as ResolvedSpec;
  const ratioBox = resolveBox({ ...sized, dpr: undefined });
  for (const side of ['w', 'h'] as const) {
    if ((ratioBox[side] ?? 0) > limits.maxOutputDim) {
      throw new BadOptionError(
        'ar',
        `ar_ makes the ${side === 'w' ? 'width' : 'height'} ${ratioBox[side]}, over the maximum ${limits.maxOutputDim}`,
        `a ratio keeping both sides within ${limits.maxOutputDim}`,
      );
    }
  }
  const box = resolveBox(sized);
  for (const side of ['w', 'h'] as const) {
    if ((box[side] ?? 0) > limits.maxOutputDim) {
      throw new BadOptionError(
        'dpr',
        `dpr_${sized.dpr} makes ${side}_ ${box[side]}, over the maximum ${limits.maxOutputDim}`,
        `dpr_ keeping w_ and h_ within ${limits.maxOutputDim}`,
      );
    }
  }
}

/**
 * Check a spec that did not come from `parseSpec` (built by hand, in a test or a bench):
 * every value is written back to URL text and parsed again, so ranges and types hold before
 * anything reaches sharp. Throws BadOptionError; returns `spec`, for `render(input, checkSpec(spec), …)`.
 */
export function checkSpec(spec: Spec, limits: ParseLimits = DEFAULT_LIMITS): Spec {
  const items: string[] = [];
  for (const key of SPEC_KEYS) {
    const value = spec[key];
    if (value === undefined) continue;
    const def = opDef(key);
    const text = def.format(value as never);
    items.push(text === undefined ? def.names[0] : `${def.names[0]}${def.sep}${String(text)}`);
  }
  parseSpec(items.join(','), undefined, limits);
  return spec;
}
