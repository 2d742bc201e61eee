import { validateSpec } from './parse.js';
import { SPEC_KEYS, formatItem } from './registry.js';
import { resolveBox } from './geometry.js';
import { assertResolved, usesHints } from './hints.js';
import { DEFAULT_LIMITS, type ResolvedSpec, type Spec, type SpecKey, type ParseLimits } from './types.js';

/**
 * Reduce a spec to the simplest spec meaning the same pixels, so that every URL for one
 * image maps to one cache entry: ar_/dpr_ folded into w_/h_, options without effect dropped.
 */
export function normalize(spec: Spec): Spec {
  const out: Spec = { ...spec };
  // w_auto / dpr_auto (only in a signing form: keys are made from resolved specs) cannot be folded yet.
  if (!usesHints(spec)) {
    const { w, h } = resolveBox(spec as ResolvedSpec);
    out.w = w;
    out.h = h;
    delete out.ar;
    delete out.dpr;
  }
  const w = out.w;
  const h = out.h;
  let mode = out.c ?? 'fit';
  // c_crop,x_,y_,w_,h_ is the region rg_x:y:w:h delivered as cut: one spelling, one cache entry.
  if (mode === 'crop' && typeof w === 'number' && h !== undefined) {
    out.rg = { x: out.x ?? 0, y: out.y ?? 0, w, h };
    delete out.w;
    delete out.h;
    mode = 'fit';
  }
  delete out.x;
  delete out.y;
  const both = out.w !== undefined && out.h !== undefined;
  // With one side (or none) these modes all reduce to fit.
  if (!both && (mode === 'fill' || mode === 'thumb' || mode === 'scale' || mode === 'pad')) mode = 'fit';
  if (mode === 'limit' && out.w === undefined && out.h === undefined) mode = 'fit';
  out.c = mode === 'fit' ? undefined : mode;
  // Gravity only places a crop or a pad.
  const usesGravity = both && (mode === 'fill' || mode === 'thumb' || mode === 'pad');
  if (!usesGravity) delete out.g;
  else if (mode === 'thumb' && out.g === 'auto') delete out.g;
  else if (mode === 'pad' && (out.g === 'auto' || out.g === 'entropy')) delete out.g;
  // Flip + mirror is a half turn; for right angles the two spellings render the same pixels.
  if (out.fl_flip && out.fl_mirror && (out.r ?? 0) % 90 === 0) {
    delete out.fl_flip;
    delete out.fl_mirror;
    out.r = ((out.r ?? 0) + 180) % 360;
  }
  return out;
}

/** Position of each option in SPEC_KEYS: the order canonical strings list them in. */
const ORDER = new Map<string, number>(SPEC_KEYS.map((k, i) => [k, i]));

/**
 * The items of the options `spec` sets among `keys`, in SPEC_KEYS order. Walks the spec's own few
 * options and sorts them, rather than probing every known option: this runs on every cache hit.
 */
function items(spec: Spec, keys: ReadonlySet<SpecKey>): string[] {
  const present: SpecKey[] = [];
  for (const key in spec) if (keys.has(key as SpecKey)) present.push(key as SpecKey);
  present.sort((a, b) => ORDER.get(a)! - ORDER.get(b)!);
  const out: string[] = [];
  for (const key of present) {
    const item = itemOf(spec, key);
    if (item !== undefined) out.push(item);
  }
  return out;
}

function itemOf<K extends SpecKey>(spec: Spec, key: K): string | undefined {
  const value = spec[key];
  return value === undefined || value === null ? undefined : formatItem(key, value as NonNullable<Spec[K]>);
}

const PIXEL_KEYS: ReadonlySet<SpecKey> = new Set(SPEC_KEYS.filter((k) => k !== 't' && k !== 'exp'));
const ALL_KEYS: ReadonlySet<SpecKey> = new Set(SPEC_KEYS);

/**
 * The one string for the pixels `spec` asks for (defaults dropped, sorted); '' = the original.
 * Excludes t_ and exp_. Only for resolved specs: it is the cache key, which must name the size rendered.
 */
export function canonicalize(spec: Spec): string {
  assertResolved(spec);
  return items(normalize(spec), PIXEL_KEYS).join(',');
}

/** The canonical string plus t_ and exp_: what a dry run shows next to the signature. */
export function signingForm(spec: Spec): string {
  return items(normalize(spec), ALL_KEYS).join(',');
}

/** imgproxy semantics: the preset's options first, the URL's override them; the result has no t_. */
export function mergePreset(preset: Spec, url: Spec, limits: ParseLimits = DEFAULT_LIMITS): Spec {
  const merged: Spec = { ...preset };
  for (const key of SPEC_KEYS) copy(merged, url, key);
  delete merged.t;
  validateSpec(merged, limits);
  return merged;
}

function copy<K extends SpecKey>(into: Spec, from: Spec, key: K): void {
  if (from[key] !== undefined) into[key] = from[key];
}
