import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingest } from '../../src/library/ingest.js';
import { parseSpec, registry, SPEC_KEYS, type SpecKey } from '../../src/spec/index.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth } from '../library/helpers.js';

/**
 * bg_ on grey sources: sharp pads, turns, rounds and flattens an image in its own colour space, so
 * on a grey source a red bg_ came out as its luminance (54,54,54), or white when flattened. For every
 * step that paints the fill, on a grey JPEG, a grey PNG and a grey+alpha PNG, to PNG and JPEG: the
 * filled area is the requested colour and the picture stays grey; without bg_ the fill is the
 * default (transparent, or white where the format has no alpha).
 */

const W = 256;
const H = 128;
/** Left columns of the grey+alpha source that are transparent (what flattening paints). */
const CLEAR = 64;

/** A horizontal grey ramp, 60..200, with no detail along y. */
function ramp(x: number): number {
  return Math.round(60 + (140 * x) / (W - 1));
}

function greyPixels(alpha: boolean): Buffer {
  const channels = alpha ? 2 : 1;
  const px = Buffer.alloc(W * H * channels);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      px[(y * W + x) * channels] = ramp(x);
      if (alpha) px[(y * W + x) * channels + 1] = x < CLEAR ? 0 : 255;
    }
  }
  return px;
}

const SOURCES: Record<string, { alpha: boolean; bytes: () => Promise<Buffer> }> = {
  'grey JPEG': {
    alpha: false,
    bytes: () =>
      sharp(greyPixels(false), { raw: { width: W, height: H, channels: 1 } })
        .toColourspace('b-w')
        .jpeg({ quality: 95 })
        .toBuffer(),
  },
  'grey PNG': {
    alpha: false,
    bytes: () =>
      sharp(greyPixels(false), { raw: { width: W, height: H, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
  },
  'grey+alpha PNG': {
    alpha: true,
    bytes: () =>
      sharp(greyPixels(true), { raw: { width: W, height: H, channels: 2 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
  },
};

type Point = [number, number];

/**
 * Each step that paints the fill, with a point of the output in the filled area and one in the
 * picture (away from edges, where JPEG rings), for an output of `size`.
 */
interface FillCase {
  name: string;
  options: string;
  /** The option keys whose step paints the fill. */
  keys: SpecKey[];
  /** Only for the grey+alpha source (flattening) or for every source. */
  alphaOnly?: boolean;
  /** Output formats it applies to (flattening: only formats without alpha). */
  formats: readonly ('png' | 'jpg')[];
  fill: Point;
  picture: Point;
}

const BOTH = ['png', 'jpg'] as const;

/** JPEG at q_95: its artefacts at q_80 near a corner's edge are a few levels more than the tolerance. */
const FORMAT = { png: 'f_png', jpg: 'f_jpg,q_95' };

const CASES: FillCase[] = [
  { name: 'pad (c_pad)', options: 'c_pad,w_256,h_256', keys: ['c'], formats: BOTH, fill: [160, 16], picture: [160, 128] },
  { name: 'pad after a quarter turn (c_pad,r_90)', options: 'c_pad,w_256,h_256,r_90', keys: ['c', 'r'], formats: BOTH, fill: [16, 128], picture: [128, 160] },
  { name: 'turn by 33 degrees (r_33)', options: 'r_33', keys: ['r'], formats: BOTH, fill: [8, 8], picture: [146, 130] },
  { name: 'rounded corners (rad_48)', options: 'rad_48', keys: ['rad'], formats: BOTH, fill: [3, 3], picture: [160, 64] },
  { name: 'ellipse (rad_max)', options: 'rad_max', keys: ['rad'], formats: BOTH, fill: [3, 3], picture: [160, 64] },
  { name: 'flattening alpha', options: 'w_256', keys: [], alphaOnly: true, formats: ['jpg'], fill: [16, 64], picture: [160, 64] },
];

const COLOURS = [
  { bg: 'ff0000', rgb: [255, 0, 0] },
  { bg: '00c040', rgb: [0, 192, 64] },
];

let t: TestApp;
const ids = new Map<string, string>();

beforeAll(async () => {
  t = await testApp({ RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0' });
  for (const [name, source] of Object.entries(SOURCES)) {
    const bytes = await source.bytes();
    const meta = await sharp(bytes).metadata();
    expect(meta.space, name).toBe('b-w');
    ids.set(name, (await ingest(t.deps, bytes, { filename: name })).image.id);
  }
}, 60_000);
afterAll(() => t.cleanup());

async function rgba(source: string, options: string): Promise<{ at(p: Point): number[]; width: number; height: number }> {
  const res = await t.request(`/img/${options}/${ids.get(source)}`, { headers: auth(t.adminKey) });
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(res.status, `${options}: ${bytes.toString().slice(0, 200)}`).toBe(200);
  const { data, info } = await sharp(bytes).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at: ([x, y]) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)],
  };
}

const near = (actual: number[], expected: number[], tolerance: number) => actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);

const table = Object.entries(SOURCES).flatMap(([source, { alpha }]) =>
  CASES.filter((c) => alpha || !c.alphaOnly).flatMap((c) => c.formats.map((format) => ({ source, format, ...c }))),
);

describe('bg_ fills grey sources with its colour', () => {
  it.each(table)('$source: $name to $format', async ({ source, format, options, fill, picture }) => {
    const plain = await rgba(source, `${options},${FORMAT[format]}`);
    const grey = plain.at(picture);
    // The picture is grey, and what the default fill (no bg_) leaves there is unchanged.
    expect(near(grey.slice(0, 3), [grey[0], grey[0], grey[0]], 3), `picture without bg_: ${grey}`).toBe(true);
    const defaultFill = plain.at(fill);
    if (format === 'png') expect(defaultFill[3], `default fill is transparent: ${defaultFill}`).toBe(0);
    else expect(near(defaultFill, [255, 255, 255, 255], 3), `default fill is white: ${defaultFill}`).toBe(true);

    for (const { bg, rgb } of COLOURS) {
      const out = await rgba(source, `${options},bg_${bg},${FORMAT[format]}`);
      expect([out.width, out.height]).toEqual([plain.width, plain.height]);
      expect(near(out.at(fill), [...rgb, 255], 3), `bg_${bg}: fill ${out.at(fill)}`).toBe(true);
      // Same grey as without bg_: only the fill changed.
      expect(near(out.at(picture), grey, 3), `bg_${bg}: picture ${out.at(picture)}, without bg_ ${grey}`).toBe(true);
    }
  });

  it('a grey bg_ is painted as it is (no colour to lose)', async () => {
    const out = await rgba('grey PNG', 'c_pad,w_256,h_256,bg_808080,f_png');
    expect(near(out.at([160, 16]), [128, 128, 128, 255], 1)).toBe(true);
  });
});

/**
 * The cases above are every step that paints bg_: any registry example that paints it (changes
 * with bg_ on the grey+alpha source) names one of their options, so a new use of the fill cannot go
 * untested.
 */
describe('every option that paints bg_ is in the table', () => {
  const painters = new Set(CASES.flatMap((c) => c.keys));
  const painting = new Set<string>();
  const examples = SPEC_KEYS.filter((key) => ['geometry', 'effects', 'canvas'].includes(registry[key].phase) && key !== 'bg').flatMap((key) =>
    registry[key].valid.filter((item) => !item.includes('wm_')).map((item) => ({ key, item })),
  );

  it.each(examples)('$item', async ({ item }) => {
    const [a, b] = await Promise.all(
      [`${item},f_png`, `${item},bg_ff0000,f_png`].map((options) => t.request(`/img/${options}/${ids.get('grey+alpha PNG')}`, { headers: auth(t.adminKey) })),
    );
    // An example this small source cannot take (h_8192 would make it 12288 wide: output_too_large) paints nothing.
    expect(b.status).toBe(a.status);
    if (a.status !== 200) return;
    const without = Buffer.from(await a.arrayBuffer());
    const withBg = Buffer.from(await b.arrayBuffer());
    const raw = (b: Buffer) => sharp(b).toColourspace('srgb').ensureAlpha().raw().toBuffer();
    if ((await raw(without)).equals(await raw(withBg))) return;
    painting.add(item);
    const keys = Object.keys(parseSpec(item)) as SpecKey[];
    expect(
      keys.some((k) => painters.has(k)),
      `${item} paints bg_ but none of ${keys} is a case`,
    ).toBe(true);
  });

  it('found the examples that paint it (the check above is not empty)', () => {
    expect([...painting].some((item) => item.startsWith('r_'))).toBe(true);
    expect([...painting].some((item) => item.startsWith('rad_'))).toBe(true);
  });
});

describe('only grey sources that get a colour work in sRGB', () => {
  // pipelineColourspace turns off JPEG shrink-on-load: colour sources and plain renders never ask for it.
  it.each([
    ['a colour JPEG with a colour pad', 'colour', 'c_pad,w_256,h_256,bg_ff0000', false],
    ['a colour JPEG negated', 'colour', 'w_100,e_negate', false],
    ['a grey JPEG without bg_', 'grey JPEG', 'c_pad,w_256,h_256', false],
    ['a grey JPEG with a grey pad', 'grey JPEG', 'c_pad,w_256,h_256,bg_808080', false],
    ['a grey JPEG with bg_ and nothing to fill', 'grey JPEG', 'w_100,bg_ff0000', false],
    ['a grey JPEG with a colour pad', 'grey JPEG', 'c_pad,w_256,h_256,bg_ff0000', true],
  ])('%s: %s', async (_, source, options, srgb) => {
    if (!ids.has('colour')) {
      const colour = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 200, g: 80, b: 20 } } })
        .jpeg()
        .toBuffer();
      ids.set('colour', (await ingest(t.deps, colour, { filename: 'colour.jpg' })).image.id);
    }
    const spy = vi.spyOn(sharp.prototype, 'pipelineColourspace');
    try {
      const res = await t.request(`/img/${options},f_jpg/${ids.get(source)}`, { headers: auth(t.adminKey) });
      expect(res.status).toBe(200);
      expect(spy.mock.calls.length > 0).toBe(srgb);
    } finally {
      spy.mockRestore();
    }
  });
});
