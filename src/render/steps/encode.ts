import type { OutputFormat } from '../../spec/index.js';
import { applyPhase, type PhaseSteps } from '../apply.js';
import { formatHasAlpha, hexToRgba, WHITE } from '../colour.js';
import type { RenderContext } from '../context.js';

/** q_auto: what each encoder needs for "looks like the original" at a web-friendly size. */
/**
 * libvips' default AVIF effort (4) spends ~1.2 s on a 600 px image and ~20 s on 12 MP; effort 3
 * is 4-5x faster for files within a few percent (measured on the samples), and keeps one
 * anonymous `f_avif` of an original from holding a render slot for tens of seconds.
 */
export const AVIF_EFFORT = 3;

export const AUTO_QUALITY: Record<OutputFormat, number> = { jpeg: 80, webp: 80, avif: 55, png: 100, gif: 100 };

/** Alpha is flattened early (sharp does it before the resize), onto bg_ or white, for formats without it. */
export function flattenIfOpaque(ctx: RenderContext): void {
  if (formatHasAlpha(ctx.opts.format)) return;
  const bg = ctx.spec.bg === undefined ? WHITE : { ...hexToRgba(ctx.spec.bg), alpha: 1 };
  ctx.img.flatten({ background: bg });
}

/** The encode options set the encoder's settings; `encode` then picks the encoder for the negotiated format. */
export const ENCODE: PhaseSteps<'encode'> = {
  f: { by: 'chooseFormat (spec/format.ts) before the render: the encoder is opts.format' },
  q: {
    apply(ctx, q) {
      ctx.quality = q === 'auto' ? undefined : q;
    },
  },
};

/**
 * encode: composite the collected overlays, pick the encoder and its quality. sharp's defaults
 * already convert to sRGB and strip metadata (EXIF, GPS, ICC, XMP), which is what we want.
 */
export function encode(ctx: RenderContext): void {
  applyPhase(ctx, 'encode', ENCODE);
  const { img, opts, source } = ctx;
  if (ctx.overlays.length > 0) img.composite(ctx.overlays);
  if (!formatHasAlpha(opts.format)) img.removeAlpha();
  const q = ctx.quality;
  const animation = source.animated ? { loop: source.loop ?? 0, ...(source.delay ? { delay: source.delay } : {}) } : {};
  switch (opts.format) {
    case 'jpeg':
      img.jpeg({ quality: q ?? AUTO_QUALITY.jpeg, mozjpeg: false, progressive: false });
      break;
    case 'png':
      // A quality asks for a palette (lossy, much smaller); without one PNG stays lossless.
      img.png(q === undefined ? { compressionLevel: 6 } : { palette: true, quality: q, compressionLevel: 9 });
      break;
    case 'webp':
      img.webp({ quality: q ?? AUTO_QUALITY.webp, ...animation });
      break;
    case 'avif':
      img.avif({ quality: q ?? AUTO_QUALITY.avif, effort: AVIF_EFFORT });
      break;
    case 'gif':
      // A palette of the render's own colours: sharp reuses a GIF source's palette by default,
      // which maps any colour change (e_grayscale, e_tint, bg_, a watermark) back onto the old colours.
      img.gif({ ...animation, reuse: false });
      break;
  }
}
