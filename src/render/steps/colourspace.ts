import { isDefault } from '../../spec/index.js';
import { formatHasAlpha, hexToRgba } from '../colour.js';
import type { RenderContext } from '../context.js';
import type { Input } from '../types.js';
import { readHeader } from './load.js';

/** Formats libvips always decodes to 8 bits per sample. */
const EIGHT_BIT_FORMATS = new Set(['jpeg', 'webp', 'gif']);

/**
 * True when a step paints bg_ and bg_ is a colour (not a grey): pad, a turn by an angle that is not
 * a right one, rounded corners, and flattening alpha for a format without it (see `fillColour`).
 */
export function paintsColourFill(ctx: RenderContext): boolean {
  const { spec, layout, source, opts } = ctx;
  if (spec.bg === undefined) return false;
  const { r, g, b } = hexToRgba(spec.bg);
  if (r === g && g === b) return false;
  return (
    layout.resize?.fit === 'contain' ||
    layout.angle !== 0 ||
    (spec.rad !== undefined && !isDefault('rad', spec.rad)) ||
    (source.hasAlpha && !formatHasAlpha(opts.format))
  );
}

/**
 * working space: sharp works in the source's own colour space, which some renders cannot keep.
 * - A grey source: sharp pads, turns, rounds and flattens it in grey, so a red bg_ became its
 *   luminance (54,54,54), or white when flattened; and it tints it and converts the result back
 *   to grey, so e_tint did nothing.
 * - A source of more than 8 bits (16-bit PNG or TIFF, float Lab): e_negate's linear(-1, 255)
 *   runs before sharp's conversion to 8-bit sRGB, and would black it out; and e_sepia's recomb
 *   after a resize of one with alpha left every pixel 0,0,0,0 (test/render/deep-alpha.test.ts).
 * Working in sRGB from the decode on fixes both, but it turns off JPEG shrink-on-load, so only
 * these renders do; their header is read for it when the stored facts do not say (no decode).
 */
export async function workingSpace(ctx: RenderContext, input: Input): Promise<void> {
  const colour = paintsColourFill(ctx) || ctx.spec.e_tint !== undefined;
  const deep = (ctx.spec.e_negate === true || ctx.spec.e_sepia === true) && !EIGHT_BIT_FORMATS.has(ctx.source.format);
  if (!colour && !deep) return;
  const facts = ctx.source.space !== undefined && ctx.source.depth !== undefined ? ctx.source : await readHeader(input);
  const grey = facts.space === 'b-w' || facts.space === 'grey16';
  if ((colour && grey) || (deep && facts.depth !== 'uchar')) ctx.img.pipelineColourspace('srgb');
}
