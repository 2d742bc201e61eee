import { keepsPixels, planLayout, type Spec } from '../spec/index.js';
import { fillColour } from './colour.js';
import { materialize, type RenderContext } from './context.js';
import { guard } from './errors.js';
import { canvas } from './steps/canvas.js';
import { workingSpace } from './steps/colourspace.js';
import { effects, effectsRunAfterComposite } from './steps/effects.js';
import { encode, flattenIfOpaque } from './steps/encode.js';
import { fromReduced } from './reduced.js';
import { deferredRotation, geometry, wholeSourceShrink } from './steps/geometry.js';
import { load, readHeader } from './steps/load.js';
import { watermark } from './steps/watermark.js';
import type { Input, RenderOptions, RenderResult } from './types.js';

/**
 * The render pipeline, in its fixed phase order:
 *   load → working space → geometry → effects → canvas → watermark → encode
 * Each step adds operations to one sharp pipeline, which runs once at the end; only
 * combinations sharp cannot order our way take a second pass over raw pixels.
 *
 * `spec` is taken as checked: options are parsed once per request (URL, preset and JSON transform
 * all go through parseSpec, then mergePreset and resolveHints), and render does not parse them
 * again. A spec built by hand goes through `checkSpec` first.
 */
export async function render(input: Input, spec: Spec, opts: RenderOptions): Promise<RenderResult> {
  return guard('render', async () => {
    const { img, source } = await load(input, opts.format, opts.limits, opts.stored);
    const ctx: RenderContext = {
      img,
      spec,
      opts,
      source,
      // The same planner as the delivery plan, now on the header's own size: caps hold before any decode.
      layout: planLayout(spec, { width: source.width, height: source.height, frames: source.pages }, opts.limits),
      fill: fillColour(spec, opts.format),
      overlays: [],
    };
    const shrink = opts.reduced && wholeSourceShrink(ctx);
    const reduced = shrink === undefined ? undefined : await opts.reduced!(shrink);
    if (reduced) ctx.img = fromReduced(reduced, opts.limits.maxInputPixels);
    await workingSpace(ctx, input);
    flattenIfOpaque(ctx);
    geometry(ctx);
    if (ctx.deferredAngle !== undefined) {
      await materialize(ctx);
      deferredRotation(ctx);
    }
    effects(ctx);
    canvas(ctx);
    await watermark(ctx);
    if (ctx.overlays.length > 0 && effectsRunAfterComposite(ctx)) {
      const overlays = ctx.overlays;
      ctx.overlays = [];
      await materialize(ctx);
      ctx.overlays = overlays;
    }
    encode(ctx);
    const { data, info } = await ctx.img.toBuffer({ resolveWithObject: true });
    const height = source.animated ? (info.pageHeight ?? Math.round(info.height / source.pages)) : info.height;
    const unchanged = keepsPixels(spec, ctx.layout, opts.format) && (source.plainRgb ?? (await readHeader(input)).plainRgb);
    return { data, width: info.width, height, format: opts.format, unchanged };
  });
}
