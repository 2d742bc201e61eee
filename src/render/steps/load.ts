import sharp, { type Sharp } from 'sharp';
import { TooLargeError, UnsupportedMediaError } from '../../errors.js';
import { guard } from '../errors.js';
import { outputFrames, type OutputFormat } from '../../spec/index.js';
import { unreadableFormat } from '../sniff.js';
import type { Source } from '../context.js';
import type { Input, RenderLimits, StoredFacts } from '../types.js';

export interface Header {
  format: string;
  width: number;
  height: number;
  pages: number;
  hasAlpha: boolean;
  orientation: number;
  hasMetadata: boolean;
  /** 8-bit sRGB or grey: what we deliver, so the bytes need no conversion. */
  plainRgb: boolean;
  /** As sharp names them: `srgb`, `b-w`, `cmyk`, `rgb16`, `grey16`…; `uchar`, `ushort`… */
  space: string;
  depth: string;
  loop?: number;
  delay?: number[];
}

/**
 * Read the header only (no pixel decode) and name AVIF as `avif`, not `heif`. sharp's own
 * pixel limit is off here: reading a header costs nothing whatever it declares, and
 * MAX_INPUT_PIXELS (`checkLimits`) is the one limit, with an error that says what was measured.
 */
export async function readHeader(input: Input): Promise<Header> {
  const meta = await guard('decode', () => sharp(input, { limitInputPixels: false }).metadata()).catch((err: unknown) => {
    // A file is a stored original, which passed this at upload: only new bytes need naming.
    const known = err instanceof UnsupportedMediaError && Buffer.isBuffer(input) ? unreadableFormat(input) : undefined;
    if (known)
      throw new UnsupportedMediaError(`${known} images cannot be read by this server's image library; convert it to JPEG, PNG, WebP or AVIF`, {
        format: known,
      });
    throw err;
  });
  if (!meta.width || !meta.height || !meta.format) throw new Error('Input has no dimensions');
  const pages = meta.pages ?? 1;
  const frameHeight = pages > 1 && meta.pageHeight ? meta.pageHeight : meta.height;
  const orientation = meta.orientation ?? 1;
  // Orientations 5..8 swap the axes.
  const swap = orientation >= 5 && orientation <= 8;
  // libvips reads AV1 HEIF (AVIF) but has no HEVC decoder: say so now rather than fail mid-decode.
  if (meta.format === 'heif' && meta.compression !== 'av1') {
    throw new UnsupportedMediaError(
      `HEIC (${meta.compression ?? 'HEVC'}) images cannot be read by this server's image library; convert it to JPEG, PNG, WebP or AVIF`,
      { format: 'heic' },
    );
  }
  const format = meta.format === 'heif' ? 'avif' : meta.format;
  return {
    format,
    width: swap ? frameHeight : meta.width,
    height: swap ? meta.width : frameHeight,
    pages,
    hasAlpha: meta.hasAlpha ?? false,
    orientation,
    hasMetadata: Boolean(meta.exif || meta.icc || meta.xmp || meta.iptc) || orientation !== 1,
    plainRgb: meta.depth === 'uchar' && (meta.space === 'srgb' || meta.space === 'b-w'),
    space: meta.space ?? 'srgb',
    depth: meta.depth ?? 'uchar',
    loop: meta.loop,
    delay: meta.delay,
  };
}

/**
 * Limits are checked on the header, before decoding: a 100 KB file can declare gigapixels
 * (decompression bomb) or thousands of frames.
 */
export function checkLimits(header: Pick<Header, 'width' | 'height' | 'pages'>, limits: Pick<RenderLimits, 'maxInputPixels' | 'maxFrames'>): void {
  const { width, height, pages } = header;
  const measured = { width, height, frames: pages };
  if (pages > limits.maxFrames) {
    throw new TooLargeError(`The image has ${pages} frames; MAX_FRAMES is ${limits.maxFrames}`, { limit: 'MAX_FRAMES', max: limits.maxFrames, ...measured });
  }
  const pixels = width * height * pages;
  if (pixels > limits.maxInputPixels) {
    const size = pages > 1 ? `${pages} frames of ${width}x${height} (${pixels} pixels)` : `${width}x${height} (${pixels} pixels)`;
    throw new TooLargeError(`The image is ${size}; MAX_INPUT_PIXELS is ${limits.maxInputPixels}`, {
      limit: 'MAX_INPUT_PIXELS',
      max: limits.maxInputPixels,
      pixels,
      ...measured,
    });
  }
}

/**
 * The header of a still output from what the library stored at upload, when it did: a second open
 * of the original for facts the database already holds is a libvips call and a thread-pool hop
 * on every miss. Animations still read theirs (loop and frame delays are not stored), and so does
 * the rare pure re-encode that needs the colour space (`plainRgb`, read after the render).
 */
function storedHeader(stored: StoredFacts | undefined, format: OutputFormat): LoadFacts | undefined {
  if (!stored || outputFrames(stored.format, stored.frames, format) > 1) return undefined;
  const { width, height, frames: pages, hasAlpha } = stored;
  return { format: stored.format, width, height, pages, hasAlpha };
}

/** What load needs of a header. */
type LoadFacts = Pick<Header, 'format' | 'width' | 'height' | 'pages' | 'hasAlpha' | 'loop' | 'delay'> & Partial<Pick<Header, 'plainRgb' | 'space' | 'depth'>>;

/** load: header, limits, then the sharp pipeline (auto-oriented; every frame when the output stays animated). */
export async function load(input: Input, format: OutputFormat, limits: RenderLimits, stored?: StoredFacts): Promise<{ img: Sharp; source: Source }> {
  const header = storedHeader(stored, format) ?? (await readHeader(input));
  checkLimits(header, limits);
  const animated = outputFrames(header.format, header.pages, format) > 1;
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
    plainRgb: header.plainRgb,
    space: header.space,
    depth: header.depth,
    loop: header.loop,
    delay: header.delay,
  };
  return { img, source };
}
