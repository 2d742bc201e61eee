import { applyPhase, type PhaseSteps } from '../apply.js';
import { formatHasAlpha, toCss } from '../colour.js';
import { perFrame, type RenderContext } from '../context.js';

/**
 * The area outside a rounded rectangle (or ellipse for rad_max), as an SVG the size of the
 * output. Painting it (opaque formats) or cutting it out with `dest-out` (formats with alpha)
 * works on every frame of an animation too, unlike a `dest-in` mask.
 */
export function cornersSvg(width: number, height: number, rad: number | 'max', colour: string): Buffer {
  const rx = rad === 'max' ? width / 2 : Math.min(rad, width / 2, height / 2);
  const ry = rad === 'max' ? height / 2 : rx;
  const outer = `M0,0H${width}V${height}H0Z`;
  const inner =
    `M${rx},0H${width - rx}A${rx},${ry} 0 0 1 ${width},${ry}V${height - ry}A${rx},${ry} 0 0 1 ${width - rx},${height}` +
    `H${rx}A${rx},${ry} 0 0 1 0,${height - ry}V${ry}A${rx},${ry} 0 0 1 ${rx},0Z`;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` + `<path fill-rule="evenodd" fill="${colour}" d="${outer}${inner}"/></svg>`,
  );
}

/** canvas: rounded corners / circle (pad and rotation fills happen in geometry, where sharp does them). */
export const CANVAS: PhaseSteps<'canvas'> = {
  bg: { by: 'fillColour (render/colour.ts): the fill of pad, rotation, corners and alpha flattening' },
  rad: {
    apply(ctx, rad) {
      const { width, height } = ctx.layout.final;
      const cutOut = formatHasAlpha(ctx.opts.format) && ctx.fill.alpha < 1;
      const colour = cutOut ? 'black' : toCss({ ...ctx.fill, alpha: 1 });
      const input = cornersSvg(width, height, rad, colour);
      ctx.overlays.push(...perFrame(ctx, { input, top: 0, left: 0, blend: cutOut ? 'dest-out' : 'over' }));
    },
  },
};

export function canvas(ctx: RenderContext): void {
  applyPhase(ctx, 'canvas', CANVAS);
}
