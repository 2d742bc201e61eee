/** The typed form of a delivery URL's `{options}`; produced by `parseSpec`, consumed by `render`. */

export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jpeg', 'png', 'webp', 'avif', 'gif'];

export type CropMode = 'fit' | 'limit' | 'fill' | 'scale' | 'pad' | 'crop' | 'thumb';
export const CROP_MODES: readonly CropMode[] = ['fit', 'limit', 'fill', 'scale', 'pad', 'crop', 'thumb'];

export type Gravity = 'center' | 'north' | 'south' | 'east' | 'west' | 'north_east' | 'north_west' | 'south_east' | 'south_west' | 'auto' | 'entropy';
export const GRAVITIES: readonly Gravity[] = [
  'center',
  'north',
  'south',
  'east',
  'west',
  'north_east',
  'north_west',
  'south_east',
  'south_west',
  'auto',
  'entropy',
];

/** Where a watermark sits: the compass gravities only (saliency makes no sense for an overlay). */
export type CompassGravity = Exclude<Gravity, 'auto' | 'entropy'>;

export interface AspectRatio {
  w: number;
  h: number;
}

/** A region of the (auto-oriented) source, in its pixels: cut out before any other step. */
export interface SourceRegion {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * `w_auto[:{fallback}]`: the width comes from the request's client hints (Sec-CH-Width, Width), in
 * device pixels, rounded up to a configured step; without a hint it is `fallback` (else the
 * configured CLIENT_HINT_WIDTH_FALLBACK), meaning what `w_{fallback}` means.
 */
export interface AutoWidth {
  auto: true;
  fallback?: number;
}

/** `dpr_auto`: the device pixel ratio comes from the request's client hints (Sec-CH-DPR, DPR), else 1. */
export type AutoDpr = 'auto';

/**
 * Every field is optional: an absent field means "the default" (and is absent from the canonical form).
 * A URL's spec may still say `w_auto` / `dpr_auto`; delivery resolves those against the request
 * (`resolveHints`) into a `ResolvedSpec` before anything is planned, keyed or rendered.
 */
export interface Spec {
  // geometry
  /** Region of the source cut out first; w_/h_ and c_ then size what it leaves (unlike c_crop, whose w_/h_ are the region). */
  rg?: SourceRegion;
  w?: number | AutoWidth;
  h?: number;
  c?: CropMode;
  g?: Gravity;
  ar?: AspectRatio;
  dpr?: number | AutoDpr;
  x?: number;
  y?: number;
  /** Clockwise degrees, normalised to 0..359. */
  r?: number;
  fl_flip?: true;
  fl_mirror?: true;
  // effects
  e_grayscale?: true;
  e_sepia?: true;
  e_blur?: number;
  /** `true` = sharp's fast default sharpen; a number = sigma of the gaussian. */
  e_sharpen?: true | number;
  e_negate?: true;
  /** Lowercase `rrggbb`. */
  e_tint?: string;
  /** Percent, 100 = unchanged. */
  e_brightness?: number;
  e_saturation?: number;
  // canvas
  /** Corner radius in output pixels, or a circle/ellipse. */
  rad?: number | 'max';
  /** Lowercase `rrggbb` or `rrggbbaa` (never `ff` alpha: that is the 6-digit form). */
  bg?: string;
  // watermark
  wm?: string;
  wmg?: CompassGravity;
  wmo?: number;
  wms?: number;
  // encode
  q?: number | 'auto';
  f?: OutputFormat | 'auto';
  // not pixels
  t?: string;
  exp?: number;
}

export type SpecKey = keyof Spec;

/** A spec with concrete sizes only: what the planner, the cache key and the renderer take. */
export type ResolvedSpec = Omit<Spec, 'w' | 'dpr'> & { w?: number; dpr?: number };

export type Phase = 'geometry' | 'effects' | 'canvas' | 'watermark' | 'encode' | 'meta';
export const PHASES: readonly Phase[] = ['geometry', 'effects', 'canvas', 'watermark', 'encode', 'meta'];

/** Output caps; the planner checks them on the final canvas, before any pixel is decoded. */
export interface SpecLimits {
  /** Longest side of the delivered image. */
  maxOutputDim: number;
  /** Width x height of the delivered image (of one frame). */
  maxOutputPixels: number;
  /** Sum over frames of width x height, for an animation that stays animated. */
  maxAnimationPixels: number;
}
/** What the parser checks: single options stay within the output's longest side. */
export type ParseLimits = Pick<SpecLimits, 'maxOutputDim'>;
export const DEFAULT_LIMITS: SpecLimits = { maxOutputDim: 8192, maxOutputPixels: 50_000_000, maxAnimationPixels: 25_000_000 };
