import { applyPhase, runsAfterComposite, type PhaseSteps } from '../apply.js';
import type { RenderContext } from '../context.js';

const SEPIA: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

/**
 * One step per effect option. sharp records these and runs them in its own fixed order (blur,
 * recomb, modulate, sharpen, …, then negate and tint after any composite), so the order of the
 * calls changes no byte.
 */
export const EFFECTS: PhaseSteps<'effects'> = {
  // sharp greys last, after its tint, which left e_grayscale,e_tint plain grey. The tint keeps the
  // luminance and sets the colour, so on its own it is the grey image tinted (no pixel apart).
  e_grayscale: { apply: (ctx) => (ctx.spec.e_tint === undefined ? ctx.img.grayscale() : ctx.img) },
  e_sepia: { apply: (ctx) => ctx.img.recomb(SEPIA) },
  // a * x + b on the colour channels (sharp leaves alpha, a shape and not a colour, as it is). Not
  // negate(): libvips inverts a float image as -x, 0 once made 8-bit, and sepia's recomb and the
  // bare sharpen's convolution leave floats (e_sepia,e_negate was black). linear(-1, 255) is right
  // on the 8-bit scale, which `workingSpace` makes sure of for sources of more than 8 bits.
  // sharp runs it after compositing, before e_tint.
  e_negate: { apply: (ctx) => ctx.img.linear(-1, 255), afterComposite: true },
  e_blur: { apply: (ctx, sigma) => ctx.img.blur(sigma) },
  e_sharpen: { apply: (ctx, v) => ctx.img.sharpen(v === true ? undefined : { sigma: v }) },
  e_tint: { apply: (ctx, hex) => ctx.img.tint(`#${hex}`), afterComposite: true },
  // sharp keeps brightness and saturation apart (each modulate() call sets only what it names).
  e_brightness: { apply: (ctx, pct) => ctx.img.modulate({ brightness: pct / 100 }) },
  e_saturation: { apply: (ctx, pct) => ctx.img.modulate({ saturation: pct / 100 }) },
};

/** effects: colour and detail filters, on the sized image (cheap after the resize). */
export function effects(ctx: RenderContext): void {
  applyPhase(ctx, 'effects', EFFECTS);
}

/**
 * sharp tints and negates after compositing; when there is something to composite (corners,
 * watermark) the filters must run in a pass of their own so the overlay is not inverted.
 */
export function effectsRunAfterComposite(ctx: RenderContext): boolean {
  return runsAfterComposite(ctx, 'effects', EFFECTS);
}
