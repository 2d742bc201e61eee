import type { RenderContext } from '../context.js';

const SEPIA: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

/** effects: colour and detail filters, on the sized image (cheap after the resize). */
export function effects(ctx: RenderContext): void {
  const { img, spec } = ctx;
  if (spec.e_grayscale) img.grayscale();
  if (spec.e_sepia) img.recomb(SEPIA);
  if (spec.e_blur !== undefined) img.blur(spec.e_blur);
  if (spec.e_sharpen !== undefined) img.sharpen(spec.e_sharpen === true ? undefined : { sigma: spec.e_sharpen });
  const brightness = (spec.e_brightness ?? 100) / 100;
  const saturation = (spec.e_saturation ?? 100) / 100;
  if (brightness !== 1 || saturation !== 1) img.modulate({ brightness, saturation });
  if (spec.e_tint !== undefined) img.tint(`#${spec.e_tint}`);
  // The alpha channel is a shape, not a colour: keep it.
  if (spec.e_negate) img.negate({ alpha: false });
}

/**
 * sharp tints and negates after compositing; when there is something to composite (corners,
 * watermark) the filters must run in a pass of their own so the overlay is not inverted.
 */
export function effectsRunAfterComposite(ctx: RenderContext): boolean {
  return Boolean(ctx.spec.e_negate || ctx.spec.e_tint !== undefined);
}
