import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { DECLARED_KEYS, opDef } from '../../src/spec/registry.js';
import { parseSpec } from '../../src/spec/index.js';
import { LIMITS } from './fixtures.js';

/**
 * An outsider found `e_grayscale` on a GIF served as GIF coming out in the source's colours: the
 * encoder reused the source's palette, so any option that changes colours was mapped back onto
 * the old ones. The class: for every option of the registry (its documented example), a GIF
 * source rendered to GIF shows the colours the same render shows losslessly (PNG), within what
 * quantising to 256 colours costs.
 */

/** A still GIF with a gradient over all three channels (its palette is far from grey or sepia). */
async function gradientGif(): Promise<Buffer> {
  const width = 120;
  const height = 80;
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) px.set([(x * 255) / width, (y * 255) / height, 255 - (x * 255) / width], (y * width + x) * 3);
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .gif()
    .toBuffer();
}

const pixels = (img: Buffer) => sharp(img).flatten({ background: '#fff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });

const examples = DECLARED_KEYS.map((key) => opDef(key))
  .filter((def) => def.phase !== 'encode' && def.valid[0] !== undefined && !def.valid[0].startsWith('wm_') && !def.valid[0].startsWith('t_'))
  .map((def) => def.valid[0]!);

describe('a GIF rendered to GIF keeps the colours of the render (no stale palette)', async () => {
  const gif = await gradientGif();
  it.each(['', ...examples])('%s', async (options) => {
    const spec = parseSpec(options);
    const [asGif, asPng] = await Promise.all(
      (['gif', 'png'] as const).map((format) => render(gif, spec, { format, limits: LIMITS, focal: { x: 0.5, y: 0.5 } }).catch(() => undefined)),
    );
    if (!asGif || !asPng) return; // an option this source cannot take fails alike in both formats
    const [a, b] = await Promise.all([pixels(asGif.data), pixels(asPng.data)]);
    expect([a.info.width, a.info.height]).toEqual([b.info.width, b.info.height]);
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - b.data[i]);
    expect(diff / a.data.length).toBeLessThan(12);
  });
});
