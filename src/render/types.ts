import type { OutputFormat, SpecLimits } from '../spec/index.js';
import type { Reduced } from './reduced.js';

/** An image to decode: its bytes, or the path of a local file holding them (libvips reads it itself). */
export type Input = Buffer | string;

/** Every limit a render honours: the input ones (checked on the header) and the output caps (in the planner). */
export interface RenderLimits extends SpecLimits {
  /** Pixels of the source, all frames together; the one input limit, for every sharp call. */
  maxInputPixels: number;
  maxFrames: number;
}

export interface RenderOptions {
  /** Already negotiated (see `chooseFormat`). */
  format: OutputFormat;
  limits: RenderLimits;
  /** The `wm_` image, when the spec has one. */
  watermark?: Input;
  /** A stored focal point, as 0..1 fractions of the auto-oriented original; used by g_auto / c_thumb. */
  focal?: { x: number; y: number };
  /** What the library recorded of these very bytes when they were stored (`probe`): the render then reads no header. */
  stored?: StoredFacts;
  /**
   * A smaller decode of the same source to start from when the first step shrinks the whole of it
   * by `shrink` (see reduced.ts), or undefined to decode the input.
   */
  reduced?: (shrink: number) => Promise<Reduced | undefined>;
}

/** `probe`'s facts as the images table keeps them (format, auto-oriented size of one frame, frames, alpha). */
export interface StoredFacts {
  format: string;
  width: number;
  height: number;
  frames: number;
  hasAlpha: boolean;
}

export interface RenderResult {
  data: Buffer;
  width: number;
  /** For animations: the height of one frame. */
  height: number;
  format: OutputFormat;
  /**
   * The pixels are the source's own (only re-encoded, same size, 8-bit sRGB or grey source):
   * the one case where the source bytes may stand in for a bigger result.
   */
  unchanged: boolean;
}

export interface ImageFacts {
  /** As sharp names it (jpeg, png, webp, gif, tiff, svg, heif…), except AVIF, reported as `avif`. */
  format: string;
  /** After EXIF orientation. */
  width: number;
  height: number;
  frames: number;
  hasAlpha: boolean;
  /** EXIF, ICC, XMP or IPTC present, or an orientation other than 1. */
  hasMetadata: boolean;
}
