import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { Layout, Spec } from '../spec/index.js';
import type { Rgba } from './colour.js';
import type { RenderOptions } from './types.js';

/** What `load` learnt from the header, before any pixel was decoded. */
export interface Source {
  format: string;
  /** Auto-oriented size of one frame. */
  width: number;
  height: number;
  pages: number;
  /** True when every frame is decoded and written (animated in, animated format out). */
  animated: boolean;
  hasAlpha: boolean;
  /** 8-bit sRGB or grey (not CMYK, 16-bit, Lab…); undefined when the header was not read (stored facts). */
  plainRgb?: boolean;
  /** Colour space and sample format as sharp names them; undefined when the header was not read (stored facts). */
  space?: string;
  depth?: string;
  loop?: number;
  delay?: number[];
}

/**
 * The state the steps pass along. `img` is a sharp pipeline still being described: sharp
 * records operations and runs them once at encode, so most renders are a single pass.
 */
export interface RenderContext {
  img: Sharp;
  spec: Spec;
  opts: RenderOptions;
  source: Source;
  layout: Layout;
  /** Fill for pad, rotation and corners (see `fillColour`). */
  fill: Rgba;
  /** sharp's `composite()` replaces earlier calls, so overlays are collected and applied once. */
  overlays: OverlayOptions[];
  /** q_ for the encoder (set by its encode step); undefined: each format's own quality (q_auto). */
  quality?: number;
  /** Operations sharp would run in a different order than our phases, deferred to a second pass. */
  deferredAngle?: number;
}

/** Run the pipeline so far into raw pixels and start a new one on them (only for operations that need it). */
export async function materialize(ctx: RenderContext): Promise<void> {
  if (ctx.overlays.length > 0) {
    ctx.img.composite(ctx.overlays);
    ctx.overlays = [];
  }
  const { data, info } = await ctx.img.raw().toBuffer({ resolveWithObject: true });
  const pageHeight = ctx.source.animated ? info.height / ctx.source.pages : undefined;
  ctx.img = sharp(data, {
    raw: { width: info.width, height: info.height, channels: info.channels, ...(pageHeight ? { pageHeight } : {}) },
    animated: ctx.source.animated,
  });
}

/** Repeat an overlay on every frame of an animation (sharp composites onto the whole frame strip). */
export function perFrame(ctx: RenderContext, overlay: OverlayOptions & { top: number; left: number }): OverlayOptions[] {
  if (!ctx.source.animated) return [overlay];
  const frameHeight = ctx.layout.final.height;
  return Array.from({ length: ctx.source.pages }, (_, i) => ({ ...overlay, top: overlay.top + i * frameHeight }));
}
