import { BadOptionError, OutputTooLargeError } from '../errors.js';
import { assertResolved } from './hints.js';
import { DEFAULT_LIMITS, type ResolvedSpec, type Spec, type SpecLimits } from './types.js';

/**
 * Output geometry, computed without pixels. `render` follows this plan exactly (it passes the
 * computed sizes to sharp instead of letting sharp round on its own), so the `.json` dry run
 * and the rendered image always agree.
 */

export interface Size {
  width: number;
  height: number;
}

/** The source as the planner sees it: its auto-oriented size, and how many frames will be rendered. */
export interface PlanSource extends Size {
  /** Frames of an animation that stays animated (1, the default, for everything else). */
  frames?: number;
}

export interface Region extends Size {
  left: number;
  top: number;
}

export type ResizeFit = 'fill' | 'cover' | 'contain';

export interface Layout {
  /** The rg_ or c_crop region, in pixels of the auto-oriented source, cut out before anything else. */
  crop?: Region;
  rotate90: 0 | 90 | 180 | 270;
  /** A non-right rotation angle (clockwise degrees), applied after sizing on a growing canvas. */
  angle: number;
  /** `fill` = exactly this size (aspect already computed), `cover` = crop to it, `contain` = pad to it. */
  resize?: Size & { fit: ResizeFit };
  /** For `cover`: the scaled size before the crop (used to place a focal point). */
  cover?: Size;
  /** Size before the arbitrary rotation. */
  sized: Size;
  final: Size;
}

/** The effective box: ar_ derives the missing side, dpr_ multiplies both (c_crop regions are source pixels). */
export function resolveBox(spec: ResolvedSpec): { w?: number; h?: number } {
  let { w, h } = spec;
  if (spec.ar !== undefined) {
    if (w !== undefined && h === undefined) h = Math.max(1, Math.round((w * spec.ar.h) / spec.ar.w));
    else if (h !== undefined && w === undefined) w = Math.max(1, Math.round((h * spec.ar.w) / spec.ar.h));
  }
  const dpr = spec.dpr ?? 1;
  if (dpr !== 1 && spec.c !== 'crop') {
    if (w !== undefined) w = Math.round(w * dpr);
    if (h !== undefined) h = Math.round(h * dpr);
  }
  return { w, h };
}

/** Bounding box of a w×h rectangle rotated by `angle` degrees, rounded like libvips does. */
export function rotatedSize(size: Size, angle: number): Size {
  const rad = (angle * Math.PI) / 180;
  const cos = Math.abs(Math.cos(rad));
  const sin = Math.abs(Math.sin(rad));
  return {
    width: Math.max(1, Math.round(size.width * cos + size.height * sin - 1e-9)),
    height: Math.max(1, Math.round(size.width * sin + size.height * cos - 1e-9)),
  };
}

/** The region to cut out first: rg_ (then sized by w_/h_), or c_crop's x_,y_,w_,h_ (delivered as cut). */
function sourceRegion(spec: ResolvedSpec, source: Size, box: { w?: number; h?: number }): Region | undefined {
  if (spec.rg) return clipRegion(source, spec.rg, 'rg');
  if (spec.c === 'crop' && box.w !== undefined && box.h !== undefined) {
    return clipRegion(source, { x: spec.x ?? 0, y: spec.y ?? 0, w: box.w, h: box.h }, 'crop');
  }
  return undefined;
}

function clipRegion(source: Size, r: { x: number; y: number; w: number; h: number }, how: 'rg' | 'crop'): Region {
  const left = r.x;
  const top = r.y;
  const where = (side: 'x' | 'y') =>
    how === 'rg'
      ? { option: 'rg', text: `rg_ starts at ${side} ${side === 'x' ? left : top}, which` }
      : { option: side, text: `${side}_${side === 'x' ? left : top}` };
  if (left >= source.width) {
    const { option, text } = where('x');
    throw new BadOptionError(option, `${text} is outside the image (width ${source.width})`, `0..${source.width - 1}`);
  }
  if (top >= source.height) {
    const { option, text } = where('y');
    throw new BadOptionError(option, `${text} is outside the image (height ${source.height})`, `0..${source.height - 1}`);
  }
  const w = r.w;
  const h = r.h;
  // A region reaching past the edge is clipped, like imgproxy does, rather than refused.
  return { left, top, width: Math.min(w, source.width - left), height: Math.min(h, source.height - top) };
}

/**
 * The largest side in 1..max that `fits` (0 when none does), by binary search: what fits only ever
 * gets easier as the side shrinks. How sizes the server chooses are fitted into the output caps
 * (w_auto, /random templates, the example renditions of API answers).
 */
export function largestFitting(max: number, fits: (side: number) => boolean): number {
  let lo = 0;
  for (let hi = max + 1; hi - lo > 1; ) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Scale (width, height) by s, keeping both sides within 1..max. */
function scaled(frame: Size, s: number, max: number): Size {
  const cap = Math.min(s, max / frame.width, max / frame.height);
  return {
    width: Math.min(max, Math.max(1, Math.round(frame.width * cap))),
    height: Math.min(max, Math.max(1, Math.round(frame.height * cap))),
  };
}

export function planLayout(spec: Spec, source: PlanSource, limits: SpecLimits = DEFAULT_LIMITS): Layout {
  assertResolved(spec);
  const r = spec.r ?? 0;
  const rotate90 = r % 90 === 0 ? (r as Layout['rotate90']) : 0;
  const angle = r % 90 === 0 ? 0 : r;
  const { w, h } = resolveBox(spec);
  const mode = spec.c ?? 'fit';
  const frames = source.frames ?? 1;
  const swap = rotate90 === 90 || rotate90 === 270;

  // The region comes first, in source pixels; everything after sizes and turns what it leaves.
  const crop = sourceRegion(spec, source, { w, h });
  const base: Size = crop ? { width: crop.width, height: crop.height } : source;
  // w_/h_ describe the delivered image, so size in the frame after the right-angle rotation.
  const frame: Size = swap ? { width: base.height, height: base.width } : base;

  let sized: Size = frame;
  let resize: Layout['resize'];
  let cover: Size | undefined;
  if (mode !== 'crop' && (w !== undefined || h !== undefined)) {
    if (w !== undefined && h !== undefined && (mode === 'fill' || mode === 'thumb')) {
      sized = { width: w, height: h };
      const s = Math.max(w / frame.width, h / frame.height);
      cover = { width: Math.max(w, Math.round(frame.width * s)), height: Math.max(h, Math.round(frame.height * s)) };
      resize = { width: w, height: h, fit: 'cover' };
    } else if (w !== undefined && h !== undefined && mode === 'scale') {
      sized = { width: w, height: h };
      resize = { width: w, height: h, fit: 'fill' };
    } else {
      const sx = w === undefined ? Infinity : w / frame.width;
      const sy = h === undefined ? Infinity : h / frame.height;
      // A side the caller names is delivered as named or refused (checkOutputCaps below): w_40 on a
      // 1x5000 strip is 40x200000, over the caps, not a 2x8192 nobody asked for. c_limit only
      // promises "at most", so like a request naming no size it is fitted into the caps instead.
      const inner =
        mode === 'limit' ? fitIntoCaps(scaled(frame, Math.min(sx, sy, 1), Infinity), angle, frames, limits) : scaled(frame, Math.min(sx, sy), Infinity);
      if (mode === 'pad' && w !== undefined && h !== undefined) {
        sized = { width: w, height: h };
        resize = { width: w, height: h, fit: 'contain' };
      } else {
        sized = inner;
        if (inner.width !== frame.width || inner.height !== frame.height) resize = { ...inner, fit: 'fill' };
      }
    }
  } else if (mode !== 'crop') {
    // No size asked for: deliver the source, fitted into the output caps (a 100 MP original or
    // its r_45 turn is still deliverable, just smaller), never refused for a size nobody chose.
    sized = fitIntoCaps(frame, angle, frames, limits);
    if (sized.width !== frame.width || sized.height !== frame.height) resize = { ...sized, fit: 'fill' };
  }
  const final = angle === 0 ? sized : rotatedSize(sized, angle);
  checkOutputCaps(final, frames, limits);
  // c_fill/c_thumb scale to cover the box before cropping, and some paths (saliency, quarter
  // turns, animations) build that whole image: a 1500x1 box on a 20x2000 source is 225 MP.
  if (cover) checkOutputCaps(cover, frames, limits, 'to cover the box before the crop');
  // libvips turns a multi-page image as one tall strip: only a half turn keeps frames frames. Decided
  // here, so the `.json` dry run refuses exactly what the render would.
  if (frames > 1 && (swap || angle !== 0)) {
    throw new BadOptionError('r', `r_${spec.r} cannot be applied to an animation (only r_180 can)`, 'r_180, or an output format that is not animated');
  }
  return { crop, rotate90, angle, resize, cover, sized, final };
}

function overCap(size: Size, frames: number, limits: SpecLimits): { limit: string; max: number } | undefined {
  const pixels = size.width * size.height;
  if (Math.max(size.width, size.height) > limits.maxOutputDim) return { limit: 'MAX_OUTPUT_DIM', max: limits.maxOutputDim };
  if (pixels > limits.maxOutputPixels) return { limit: 'MAX_OUTPUT_PIXELS', max: limits.maxOutputPixels };
  if (frames > 1 && pixels * frames > limits.maxAnimationPixels) return { limit: 'MAX_ANIMATION_PIXELS', max: limits.maxAnimationPixels };
  return undefined;
}

/** The largest scaling of `frame` whose (turned) canvas stays within every cap. */
function fitIntoCaps(frame: Size, angle: number, frames: number, limits: SpecLimits): Size {
  const outer = angle === 0 ? frame : rotatedSize(frame, angle);
  const pixels = outer.width * outer.height;
  let s = Math.min(
    1,
    limits.maxOutputDim / outer.width,
    limits.maxOutputDim / outer.height,
    Math.sqrt(limits.maxOutputPixels / pixels),
    frames > 1 ? Math.sqrt(limits.maxAnimationPixels / (pixels * frames)) : 1,
  );
  if (s === 1) return frame;
  // Rounding can leave the turned canvas a pixel over: step down until it fits (one or two steps).
  for (;;) {
    const sized = scaled(frame, s, limits.maxOutputDim);
    if (!overCap(angle === 0 ? sized : rotatedSize(sized, angle), frames, limits) || (sized.width === 1 && sized.height === 1)) return sized;
    s *= 0.999;
  }
}

/**
 * The caps hold for the final canvas: after c_ sizing, dpr_, padding and rotation (rounded
 * corners and watermarks never grow it). Checked here, on the planned size, so an oversized
 * request fails before a byte of the original is read or decoded.
 */
function checkOutputCaps(final: Size, frames: number, limits: SpecLimits, stage = ''): void {
  const over = overCap(final, frames, limits);
  if (!over) return;
  const { width, height } = final;
  const mp = (n: number) => `${Math.round(n / 100_000) / 10} MP`;
  const size =
    frames > 1 && over.limit === 'MAX_ANIMATION_PIXELS'
      ? `${frames} frames of ${width}x${height} (${mp(width * height * frames)} in all)`
      : `${width}x${height} (${mp(width * height)})`;
  throw new OutputTooLargeError(
    `These options would produce ${size}${stage ? ` ${stage}` : ''}, over ${over.limit}=${over.max}; ask for a smaller w_/h_ (rotation and padding grow the canvas)`,
    { limit: over.limit, max: over.max, width, height, ...(frames > 1 ? { frames } : {}) },
  );
}

/** Output dimensions of `spec` applied to a source of this (auto-oriented) size, without rendering. */
export function planGeometry(spec: Spec, source: PlanSource, limits: SpecLimits = DEFAULT_LIMITS): Size {
  const { final } = planLayout(spec, source, limits);
  return { width: final.width, height: final.height };
}
