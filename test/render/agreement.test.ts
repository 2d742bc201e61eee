import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { parseSpec, planGeometry, type OutputFormat } from '../../src/spec/index.js';
import { LIMITS, animatedGif } from './fixtures.js';

/**
 * `planGeometry` (the `.json` dry run) must agree with `render` for every combination of
 * mode, box, rotation and source shape, including sources with an EXIF orientation.
 */

async function noise(width: number, height: number, channels: 3 | 4): Promise<Buffer> {
  const px = Buffer.alloc(width * height * channels);
  let seed = 7;
  for (let i = 0; i < px.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    px[i] = channels === 4 && i % 4 === 3 ? 255 : seed >> 23;
  }
  return sharp(px, { raw: { width, height, channels } }).png().toBuffer();
}

const MODES = ['', 'c_fill,', 'c_thumb,', 'c_scale,', 'c_pad,', 'c_limit,'];
const BOXES = ['w_120', 'h_90', 'w_120,h_120', 'w_37,h_211', 'w_500,h_40', 'ar_16:9,w_100', 'dpr_1.5,w_77,h_55'];
const TURNS = ['', ',r_90', ',r_180', ',r_270', ',r_33', ',r_-100'];
const EXTRAS = ['', ',fl_mirror,g_north_east', ',g_entropy,rad_max', ',g_auto,e_negate,rad_9'];

const specs: string[] = [];
for (const mode of MODES) {
  for (const box of BOXES) {
    for (const [i, turn] of TURNS.entries()) specs.push(`${mode}${box}${turn}${EXTRAS[(i + box.length) % EXTRAS.length]}`);
  }
}
specs.push('c_crop,x_10,y_20,w_100,h_50', 'c_crop,x_10,y_20,w_100,h_50,r_90', 'c_crop,x_100,y_150,w_100,h_100,r_45', '', 'r_90', 'r_1');
// rg_ (a region in source pixels) followed by every kind of sizing, turn and placement.
for (const mode of MODES) {
  for (const [i, turn] of TURNS.entries()) {
    specs.push(`rg_13:21:140:90,${mode}w_70,h_61${turn}${EXTRAS[i % EXTRAS.length]}`);
  }
}
specs.push('rg_0:0:400:400', 'rg_150:100:400:400,w_50', 'rg_7:9:100:120,c_fill,w_40,h_40,g_entropy,r_270,fl_flip', 'rg_20:30:90:60,ar_1:1,c_fill,w_45,r_90');

describe('planGeometry agrees with render', () => {
  const sources: Record<string, Buffer> = {};
  beforeAll(async () => {
    sources.landscape = await noise(301, 199, 3);
    sources.portrait = await noise(160, 241, 4);
    // Stored 199x301, shown 301x199: geometry must follow the displayed size.
    sources.oriented = await sharp(await noise(199, 301, 3))
      .withMetadata({ orientation: 8 })
      .jpeg()
      .toBuffer();
  });

  // Each spec runs on one source, cycling, so every mode × turn meets every source shape.
  const NAMES = ['landscape', 'portrait', 'oriented'] as const;
  const cases = specs.map((options, i) => [NAMES[(i + Math.floor(i / TURNS.length)) % NAMES.length], options] as const);
  it.each(cases)('%s: %s', async (name, options) => {
    const input = sources[name];
    const spec = parseSpec(options);
    const meta = await sharp(input, { autoOrient: true }).metadata();
    const plan = planGeometry(spec, meta.autoOrient);
    const format: OutputFormat = name === 'portrait' ? 'png' : 'webp';
    const focal = options.includes('g_auto') && name === 'landscape' ? { x: 0.8, y: 0.1 } : undefined;
    const out = await render(input, spec, { format, limits: LIMITS, focal });
    const written = await sharp(out.data).metadata();
    expect({ width: out.width, height: out.height }).toEqual(plan);
    expect({ width: written.width, height: written.height }).toEqual(plan);
  });

  it.each(['w_32', 'c_fill,w_20,h_40', 'c_pad,w_50,h_50,bg_f00', 'r_180,fl_mirror,w_40', 'c_crop,x_5,y_5,w_30,h_30', 'w_30,e_negate,rad_6,g_auto'])(
    'animated: %s keeps every frame at the planned size',
    async (options) => {
      const gif = await animatedGif(3);
      const spec = parseSpec(options);
      const plan = planGeometry(spec, { width: 64, height: 48 });
      for (const format of ['gif', 'webp'] as const) {
        const out = await render(gif, spec, { format, limits: LIMITS, focal: { x: 0.5, y: 0.5 } });
        const meta = await sharp(out.data).metadata();
        expect(meta.pages).toBe(3);
        expect({ width: out.width, height: out.height }).toEqual(plan);
        expect({ width: meta.width, height: meta.pageHeight ?? meta.height }).toEqual(plan);
      }
    },
  );
});
