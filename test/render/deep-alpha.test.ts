import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { isDefault, parseSpec, registry, SPEC_KEYS } from '../../src/spec/index.js';
import { LIMITS } from './fixtures.js';

/**
 * Sources of 16 bits with alpha (RGBA16 PNG, grey+alpha 16-bit PNG), resized, under every effect
 * of the registry: the same picture as the 8-bit copy of the source gives. sharp's recomb after a
 * resize of a 16-bit image with alpha left every pixel 0,0,0,0 (`w_20,e_sepia` was blank; found by
 * an outsider), so every effect is checked, not only that one.
 */

const W = 40;
const H = 30;

/** Orange, its left half transparent. */
function pixels(): Buffer {
  const px = Buffer.alloc(W * H * 4);
  for (let i = 0; i < W * H; i++) px.set([200, 120, 60, i % W < W / 2 ? 0 : 255], i * 4);
  return px;
}

const SOURCES: Record<string, { deep: () => Promise<Buffer>; shallow: () => Promise<Buffer> }> = {
  'RGBA16 PNG': {
    deep: () =>
      sharp(pixels(), { raw: { width: W, height: H, channels: 4 } })
        .toColourspace('rgb16')
        .png()
        .toBuffer(),
    shallow: () =>
      sharp(pixels(), { raw: { width: W, height: H, channels: 4 } })
        .png()
        .toBuffer(),
  },
  'grey+alpha 16-bit PNG': {
    deep: () =>
      sharp(pixels(), { raw: { width: W, height: H, channels: 4 } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    shallow: () =>
      sharp(pixels(), { raw: { width: W, height: H, channels: 4 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
  },
};

const EXAMPLES = SPEC_KEYS.filter((key) => registry[key].phase === 'effects').flatMap((key) =>
  registry[key].valid.filter((item) => !item.includes(',') && !isDefault(key, parseSpec(item)[key] as never)),
);

async function rgba(input: Buffer, options: string) {
  const out = await render(input, parseSpec(options), { format: 'png', limits: LIMITS });
  const { data, info } = await sharp(out.data).ensureAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe.each(Object.keys(SOURCES))('%s, resized, under every effect: the picture of its 8-bit copy', (name) => {
  it.each(EXAMPLES)('w_20,%s', async (effect) => {
    const options = `w_20,${effect},f_png`;
    const [a, b] = [await rgba(await SOURCES[name].deep(), options), await rgba(await SOURCES[name].shallow(), options)];
    expect([a.width, a.height]).toEqual([b.width, b.height]);
    let diff = 0;
    let alpha = 0;
    // Premultiplied: the hidden colour of transparent pixels is no part of the picture.
    for (let p = 0; p < a.data.length; p += 4) {
      alpha += a.data[p + 3];
      for (let c = 0; c < 4; c++) {
        const weight = (d: Buffer) => (c === 3 ? d[p + 3] : (d[p + c] * d[p + 3]) / 255);
        diff += Math.abs(weight(a.data) - weight(b.data));
      }
    }
    // Half the picture is opaque: a blank answer has no alpha at all.
    expect(alpha / (a.data.length / 4)).toBeGreaterThan(100);
    expect(diff / a.data.length).toBeLessThan(4);
  });
});
