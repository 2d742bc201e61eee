import sharp from 'sharp';
import { rgbaToThumbHash, thumbHashToDataURL } from 'thumbhash';
import { CorruptImageError, UnsupportedMediaError } from '../errors.js';
import { guard } from './errors.js';
import { checkLimits, readHeader } from './steps/load.js';
import type { ImageFacts, RenderLimits } from './types.js';

/**
 * What an upload needs to know: type (from the bytes, never the name), size after EXIF
 * orientation, frames, alpha, metadata. Throws 415 for non-images, 413 past the limits and
 * 422 for an image that does not decode.
 */
/**
 * Raster formats only. Vector and document inputs (SVG, PDF) are programs, not pixels: a few hundred
 * bytes of SVG filters pass every header limit yet take tens of seconds to render, on every miss.
 */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff', 'heif']);

export async function probe(input: Buffer, limits: Pick<RenderLimits, 'maxInputPixels' | 'maxFrames'>): Promise<ImageFacts> {
  const header = await readHeader(input);
  if (!ACCEPTED_FORMATS.has(header.format)) {
    throw new UnsupportedMediaError(`${header.format.toUpperCase()} is not accepted; upload a raster image`, {
      format: header.format,
      accepted: [...ACCEPTED_FORMATS],
    });
  }
  checkLimits(header, limits);
  // A header can be fine while the data is truncated or garbage: decode it, cheaply
  // (shrink-on-load makes a JPEG decode at 1/8 scale), and fail on decoder warnings.
  await guard('decode', () => sharp(input, { failOn: 'warning', limitInputPixels: false }).resize(64, 64, { fit: 'inside' }).raw().toBuffer());
  // An animation's later frames are decoded by every animated render: one that fails there is
  // refused now (the uploader's file), not found broken on every request later (as the server's
  // fault, by `decodes`). At the renders' own standard: a warning-level glitch in a frame renders.
  if (
    header.pages > 1 &&
    ANIMATED_FORMATS.has(header.format) &&
    !(await decodes(input, { format: header.format, frames: header.pages }, limits.maxInputPixels))
  ) {
    throw new CorruptImageError('A frame of this animation cannot be decoded');
  }
  return {
    format: header.format,
    width: header.width,
    height: header.height,
    frames: header.pages,
    hasAlpha: header.hasAlpha,
    hasMetadata: header.hasMetadata,
  };
}

/** Animations whose every frame a render may decode (they stay animated as GIF or WebP). */
const ANIMATED_FORMATS = new Set(['gif', 'webp']);

/**
 * Whether a stored original still decodes as renders decode it (`failOn: 'error'`: a warning-level
 * glitch renders), every frame of an animation, cheaply as at upload (shrink-on-load). For telling
 * a damaged original from options libvips refuses, after a render failed (src/core/render.ts).
 */
export async function decodes(input: Buffer, stored: { format: string; frames: number }, maxInputPixels: number): Promise<boolean> {
  const animated = stored.frames > 1 && ANIMATED_FORMATS.has(stored.format);
  try {
    await sharp(input, { failOn: 'error', limitInputPixels: maxInputPixels, animated }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
    return true;
  } catch {
    return false;
  }
}

export interface Placeholder {
  /** Base64 ThumbHash. */
  thumbhash: string;
  /** A tiny PNG rendered from the ThumbHash, for `<img src>` before the real image arrives. */
  dataUri: string;
  /** `#rrggbb`. */
  dominant: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** ThumbHash (from a ≤100 px RGBA downscale, as the format requires) and the dominant colour. */
export async function placeholder(input: Buffer): Promise<Placeholder> {
  return guard('decode', async () => {
    const { data, info } = await sharp(input, { autoOrient: true, failOn: 'error', limitInputPixels: false })
      .resize(100, 100, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const hash = rgbaToThumbHash(info.width, info.height, data);
    // Dominant colour from the same small image (the full-size histogram would cost a full
    // decode); transparent pixels count as the white page they would show, not as black.
    const { dominant } = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
      .flatten({ background: '#ffffff' })
      .stats();
    return {
      thumbhash: Buffer.from(hash).toString('base64'),
      dataUri: thumbHashToDataURL(hash),
      dominant: `#${hex2(dominant.r)}${hex2(dominant.g)}${hex2(dominant.b)}`,
    };
  });
}
