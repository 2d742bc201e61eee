import sharp from 'sharp';
import { WatermarkRefusedError } from '../../errors.js';
import { guard } from '../errors.js';
import { perFrame, type RenderContext } from '../context.js';
import { compassOffset } from './geometry.js';

/**
 * watermark: the wm_ image, scaled to wms_% of the output width (or its natural size, shrunk to
 * fit), faded to wmo_%, placed by wmg_. Only the small overlay is prepared separately.
 */
export async function watermark(ctx: RenderContext): Promise<void> {
  const { spec, opts, layout } = ctx;
  if (spec.wm === undefined) return;
  if (!opts.watermark) throw new WatermarkRefusedError(spec.wm);
  const wm = opts.watermark;
  const out = layout.final;
  const overlay = await guard('decode', async () => {
    // Decoded as load decodes the image (a stored original, validated at upload: a warning-level glitch still renders).
    const pipeline = sharp(wm, { autoOrient: true, limitInputPixels: opts.limits.maxInputPixels, failOn: 'error' });
    if (spec.wms !== undefined) {
      const width = Math.max(1, Math.round((out.width * spec.wms) / 100));
      pipeline.resize({ width, height: out.height, fit: 'inside' });
    } else {
      pipeline.resize({ width: out.width, height: out.height, fit: 'inside', withoutEnlargement: true });
    }
    const { data, info } = await pipeline.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const opacity = (spec.wmo ?? 100) / 100;
    if (opacity < 1) {
      for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i] * opacity);
    }
    return { data, width: info.width, height: info.height };
  });
  const { left, top } = compassOffset(spec.wmg ?? 'south_east', out, overlay);
  ctx.overlays.push(
    ...perFrame(ctx, {
      input: overlay.data,
      raw: { width: overlay.width, height: overlay.height, channels: 4 },
      top,
      left,
    }),
  );
}
