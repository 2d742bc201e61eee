import { BadOptionError } from '../errors.js';
import { DEFAULT_LIMITS, type Spec, type SpecLimits } from './types.js';

/**
 * Output geometry, computed without pixels. `render` follows this plan exactly (it passes the
 * computed sizes to sharp instead of letting sharp round on its own), so the `.json` dry run
 * and the rendered image always agree.
 */

export interface Size {
  width: number;
  height: number;
}

export interface Region extends Size {
  left: number;
  top: number;
}

export type ResizeFit = 'fill' | 'cover' | 'contain';

export interface Layout {
  /** The c_crop region, in pixels of the auto-oriented source. */
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
export function resolveBox(spec: Spec): { w?: number; h?: number } {
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

function cropRegion(spec: Spec, source: Size, w: number, h: number): Region {
  const left = spec.x ?? 0;
  const top = spec.y ?? 0;
  if (left >= source.width) {
    throw new BadOptionError('x', `x_${left} is outside the image (width ${source.width})`, `0..${source.width - 1}`);
  }
  if (top >= source.height) {
    throw new BadOptionError('y', `y_${top} is outside the image (height ${source.height})`, `0..${source.height - 1}`);
  }
  // A region reaching past the edge is clipped, like imgproxy does, rather than refused.
  return { left, top, width: Math.min(w, source.width - left), height: Math.min(h, source.height - top) };
}

/** Scale (width, height) by s, keeping both sides within 1..max. */
function scaled(frame: Size, s: number, max: number): Size {
  const cap = Math.min(s, max / frame.width, max / frame.height);
  return {
    width: Math.min(max, Math.max(1, Math.round(frame.width * cap))),
    height: Math.min(max, Math.max(1, Math.round(frame.height * cap))),
  };
}

export function planLayout(spec: Spec, source: Size, limits: SpecLimits = DEFAULT_LIMITS): Layout {
  const r = spec.r ?? 0;
  const rotate90 = r % 90 === 0 ? (r as Layout['rotate90']) : 0;
  const angle = r % 90 === 0 ? 0 : r;
  const { w, h } = resolveBox(spec);
  const mode = spec.c ?? 'fit';
  const max = limits.maxOutputDim;
  const swap = rotate90 === 90 || rotate90 === 270;

  let crop: Region | undefined;
  let base: Size = source;
  if (mode === 'crop' && w !== undefined && h !== undefined) {
    crop = cropRegion(spec, source, w, h);
    base = { width: crop.width, height: crop.height };
  }
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
      const s = mode === 'limit' ? Math.min(sx, sy, 1) : Math.min(sx, sy);
      const inner = scaled(frame, s, max);
      if (mode === 'pad' && w !== undefined && h !== undefined) {
        sized = { width: w, height: h };
        resize = { width: w, height: h, fit: 'contain' };
      } else {
        sized = inner;
        if (inner.width !== frame.width || inner.height !== frame.height) resize = { ...inner, fit: 'fill' };
      }
    }
  }
  const final = angle === 0 ? sized : rotatedSize(sized, angle);
  return { crop, rotate90, angle, resize, cover, sized, final };
}

/** Output dimensions of `spec` applied to a source of this (auto-oriented) size, without rendering. */
export function planGeometry(spec: Spec, source: Size, limits: SpecLimits = DEFAULT_LIMITS): Size {
  const { final } = planLayout(spec, source, limits);
  return { width: final.width, height: final.height };
}
