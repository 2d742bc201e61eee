import sharp, { type Sharp } from 'sharp';
import { TooLargeError } from '../../errors.js';
import { guard } from '../errors.js';
import type { OutputFormat } from '../../spec/index.js';
import type { Source } from '../context.js';
import type { RenderLimits } from '../types.js';

export interface Header {
  format: string;
  width: number;
  height: number;
  pages: number;
  hasAlpha: boolean;
  orientation: number;
  hasMetadata: boolean;
  loop?: number;
  delay?: number[];
}

/** Read the header only (no pixel decode) and name AVIF as `avif`, not `heif`. */
export async function readHeader(input: Buffer): Promise<Header> {
  const meta = await guard('decode', () => sharp(input).metadata());
  if (!meta.width || !meta.height || !meta.format) throw new Error('Input has no dimensions');
  const pages = meta.pages ?? 1;
  const frameHeight = pages > 1 && meta.pageHeight ? meta.pageHeight : meta.height;
  const orientation = meta.orientation ?? 1;
  // Orientations 5..8 swap the axes.
  const swap = orientation >= 5 && orientation <= 8;
  const format = meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format;
  return {
    format,
    width: swap ? frameHeight : meta.width,
    height: swap ? meta.width : frameHeight,
    pages,
    hasAlpha: meta.hasAlpha ?? false,
    orientation,
    hasMetadata: Boolean(meta.exif || meta.icc || meta.xmp || meta.iptc) || orientation !== 1,
    loop: meta.loop,
    delay: meta.delay,
  };
}

/**
 * Limits are checked on the header, before decoding: a 100 KB file can declare gigapixels
 * (decompression bomb) or thousands of frames.
 */
export function checkLimits(header: Header, limits: Pick<RenderLimits, 'maxInputPixels' | 'maxFrames'>): void {
  if (header.pages > limits.maxFrames) {
    throw new TooLargeError(`The image has ${header.pages} frames; the limit is ${limits.maxFrames}`, { limit: 'MAX_FRAMES', max: limits.maxFrames });
  }
  const perFrame = header.width * header.height;
  if (perFrame > limits.maxInputPixels || perFrame * header.pages > limits.maxInputPixels) {
    throw new TooLargeError(`The image has ${perFrame * header.pages} pixels; the limit is ${limits.maxInputPixels}`, { limit: 'MAX_INPUT_PIXELS', max: limits.maxInputPixels });
  }
}

const ANIMATED_IN = new Set(['gif', 'webp']);
const ANIMATED_OUT = new Set<OutputFormat>(['gif', 'webp']);

/** load: header, limits, then the sharp pipeline (auto-oriented; every frame when the output stays animated). */
export async function load(input: Buffer, format: OutputFormat, limits: RenderLimits): Promise<{ img: Sharp; source: Source }> {
  const header = await readHeader(input);
  checkLimits(header, limits);
  const animated = header.pages > 1 && ANIMATED_IN.has(header.format) && ANIMATED_OUT.has(format);
  const img = sharp(input, {
    autoOrient: true,
    animated,
    // A backstop for what checkLimits already enforced from the header.
    limitInputPixels: limits.maxInputPixels,
    // Sources were validated at upload; a warning-level glitch (a truncated tail) still renders.
    failOn: 'error',
  });
  const source: Source = {
    format: header.format,
    width: header.width,
    height: header.height,
    pages: animated ? header.pages : 1,
    animated,
    hasAlpha: header.hasAlpha,
    loop: header.loop,
    delay: header.delay,
  };
  return { img, source };
}
