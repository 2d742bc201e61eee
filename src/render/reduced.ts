import sharp from 'sharp';
import { readHeader } from './steps/load.js';
import type { Input } from './types.js';

/** An original decoded at 1/k of its auto-oriented size, as 8-bit sRGB (or grey) pixels, opaque. */
export interface Reduced {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  k: number;
}

/**
 * The reduction (1/k) a render may start from when its first step shrinks the whole original by
 * `shrink`, or undefined. The reduction has at least the pixels the render would decode anyway,
 * so the result is the same picture (measured: test/render/reduced.test.ts):
 *
 * - JPEG: sharp decodes at 1/8, 1/4 or 1/2 itself (libjpeg shrink-on-load) when the shrink is at
 *   least 9, 5 or 3 (pipeline.cc: it halves the factor when the shrink rounds to it). The same k
 *   here; the reduction is made with a better filter than the DCT scaling it replaces.
 * - Everything else decodes at full size: a reduction keeps at least twice the pixels on each axis
 *   of what the render's resize makes of it.
 */
export function reductionFor(format: string, shrink: number): number | undefined {
  const ks = [8, 4, 2];
  return format === 'jpeg' ? ks.find((k) => shrink >= k + 1) : ks.find((k) => shrink >= 2 * k);
}

/**
 * The size of the 1/k reduction of an original of `size`, or undefined when rounding would change
 * its proportions by more than 1 % (a side under ~50 px: a 3x10000 strip at 1/2 would be 2 px wide,
 * a third narrower, and a crop or a 1 px output of it another picture).
 */
export function reducedSize(size: { width: number; height: number }, k: number): { width: number; height: number } | undefined {
  const width = Math.round(size.width / k);
  const height = Math.round(size.height / k);
  const off = (side: number, whole: number) => Math.abs((side * k) / whole - 1);
  return width < 1 || height < 1 || off(width, size.width) > 0.01 || off(height, size.height) > 0.01 ? undefined : { width, height };
}

/**
 * Decode `input` (`size` once auto-oriented) at 1/k, or undefined when a reduction cannot stand
 * in for it: animations; sources that are not 8-bit sRGB or grey (CMYK, 16-bit, Lab), whose
 * conversion sharp does after its resize, so converting first would change the result; and
 * sources with alpha, whose flattening, hidden colours and edges sharp handles on the decoded
 * original (a grey+alpha PNG flattened onto bg_ in one path and not the other, a WebP's
 * transparent pixels and edge alpha changed: found by an outsider).
 * An embedded ICC profile is applied here, as the render would (raw pixels carry no profile).
 */
export async function reduce(input: Input, size: { width: number; height: number }, k: number, maxInputPixels: number): Promise<Reduced | undefined> {
  const header = await readHeader(input);
  const target = reducedSize(size, k);
  if (header.pages > 1 || !header.plainRgb || header.hasAlpha || !target) return undefined;
  const { data, info } = await sharp(input, { autoOrient: true, limitInputPixels: maxInputPixels, failOn: 'error' })
    .resize(target.width, target.height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels, k };
}

/** A sharp pipeline over a reduction, in place of the original's. */
export function fromReduced(r: Reduced, maxInputPixels: number) {
  return sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels }, limitInputPixels: maxInputPixels });
}
