import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { parseSpec, planGeometry, type OutputFormat } from '../../src/spec/index.js';
import { meanDiff } from '../helpers/fingerprint.js';
import { LIMITS } from './fixtures.js';

/**
 * `rg_` cuts a region of the source before every other step (the JSON transform's crop, then
 * resize, then rotate …). Metamorphic rule: `rg_R,X` on an image must give the pixels of `X` on
 * that image cropped to R beforehand, whatever X sizes, turns, flips or places (sharp turns before
 * its first extract on some paths; the region must still be the same pixels).
 */

const REGION = { left: 40, top: 25, width: 150, height: 100 };
const RG = `rg_${REGION.left}:${REGION.top}:${REGION.width}:${REGION.height}`;

/** Quadrants of different colours with a gradient, so every turn, flip, shift and crop shows. */
async function quadrants(width: number, height: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const q = (x < width / 2 ? 0 : 1) + (y < height / 2 ? 0 : 2);
      const base = [
        [220, 30, 30],
        [30, 200, 40],
        [40, 60, 230],
        [240, 230, 20],
      ][q];
      const shade = Math.round((x * 60) / width + (y * 40) / height);
      px.set(
        base.map((c) => Math.max(0, Math.min(255, c - shade))),
        (y * width + x) * 3,
      );
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

const FOLLOWERS = [
  '',
  'w_75',
  'c_fill,w_80,h_80',
  'c_fill,w_80,h_50,r_90',
  'c_fill,w_60,h_60,g_entropy,r_90,fl_mirror',
  'c_thumb,w_50,h_70,r_270',
  'c_fill,w_70,h_40,g_north_west,r_270,fl_flip',
  'c_pad,w_90,h_90,r_90,bg_000000',
  'c_scale,w_90,h_30,r_180',
  'w_60,r_33',
  'fl_flip,fl_mirror,r_90',
  'c_fill,w_64,h_48,g_auto,r_90',
];

describe('rg_ then X equals X on the region cut out beforehand', () => {
  let source: Buffer;
  let cropped: Buffer;
  beforeAll(async () => {
    source = await quadrants(301, 199);
    cropped = await sharp(source).extract(REGION).png().toBuffer();
  });

  it.each(FOLLOWERS)(`${RG},%s`, async (follow) => {
    const format: OutputFormat = 'png';
    const focal = follow.includes('g_auto') ? { x: 0.5, y: 0.4 } : undefined;
    // The focal point is a fraction of the whole source; on the cut-out it sits elsewhere.
    const focalInCut = focal && { x: (focal.x * 301 - REGION.left) / REGION.width, y: (focal.y * 199 - REGION.top) / REGION.height };
    const withRegion = await render(source, parseSpec(follow ? `${RG},${follow}` : RG), { format, limits: LIMITS, focal });
    const onCut = await render(cropped, parseSpec(follow), { format, limits: LIMITS, focal: focalInCut });
    expect({ width: withRegion.width, height: withRegion.height }).toEqual({ width: onCut.width, height: onCut.height });
    expect(planGeometry(parseSpec(follow ? `${RG},${follow}` : RG), { width: 301, height: 199 })).toEqual({ width: onCut.width, height: onCut.height });
    expect(await meanDiff(withRegion.data, onCut.data)).toBeLessThan(1.5);
  });

  it('clips a region reaching past the edge, and refuses one starting outside, naming rg', () => {
    expect(planGeometry(parseSpec('rg_250:150:400:400'), { width: 301, height: 199 })).toEqual({ width: 51, height: 49 });
    expect(() => planGeometry(parseSpec('rg_301:0:10:10'), { width: 301, height: 199 })).toThrow(/rg_ starts at x 301, which is outside the image/);
  });
});
