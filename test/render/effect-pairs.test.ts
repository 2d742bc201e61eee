import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../src/library/ingest.js';
import { isDefault, parseSpec, registry, SPEC_KEYS, type SpecKey } from '../../src/spec/index.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth } from '../library/helpers.js';
import { samples } from './fixtures.js';

/**
 * Two effects in one URL are the two effects, one after the other: for every pair of options of
 * the effects phase (from the registry, with each one's own valid examples), the one-URL render
 * must match rendering one of them, then the other on that lossless PNG, in one order or the
 * other (sharp applies effects in its own fixed order; the URL's order means nothing). Written
 * after e_sepia,e_negate came out black: libvips inverted sepia's float pixels as -x.
 */

const SOURCES: Record<string, () => Promise<Buffer>> = {
  opaque: () => sharp(samples.dune).resize(72, 45).png().toBuffer(),
  alpha: () => sharp(samples.dragonfly).resize(72, 54).png().toBuffer(),
  grey: () => sharp(samples.dune).resize(72, 45).toColourspace('b-w').png().toBuffer(),
  '16-bit': () => sharp(samples.dune).resize(72, 45).toColourspace('rgb16').png().toBuffer(),
};

const EFFECTS = SPEC_KEYS.filter((key) => registry[key].phase === 'effects');

/** Each effect's valid examples that are one item setting it to something other than its default. */
const EXAMPLES: { key: SpecKey; item: string }[] = EFFECTS.flatMap((key) =>
  registry[key].valid.filter((item) => !item.includes(',') && !isDefault(key, parseSpec(item)[key] as never)).map((item) => ({ key, item })),
);

const PAIRS = EXAMPLES.flatMap((a, i) =>
  EXAMPLES.slice(i + 1)
    .filter((b) => b.key !== a.key)
    .map((b): [string, string] => [a.item, b.item]),
);

/**
 * Mean and 99th-percentile difference of two renders' samples, alpha-premultiplied (a transparent
 * pixel's colour is not seen). Not the largest: the one-URL render keeps colours out of the 8-bit
 * gamut between two effects (brightness and saturation are one modulate in LCh), which the PNG in
 * between clips, a few pixels apart by 30-40 levels.
 */
async function difference(a: Buffer, b: Buffer): Promise<{ mean: number; p99: number }> {
  const premultiplied = async (img: Buffer) => {
    const d = await sharp(img).toColourspace('srgb').ensureAlpha().raw().toBuffer();
    for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c++) d[i + c] = Math.round((d[i + c] * d[i + 3]) / 255);
    return d;
  };
  const [x, y] = await Promise.all([premultiplied(a), premultiplied(b)]);
  if (x.length !== y.length) return { mean: 255, p99: 255 };
  const histogram = new Array<number>(256).fill(0);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    sum += d;
    histogram[d]++;
  }
  let p99 = 0;
  for (let seen = 0; seen < 0.99 * x.length; p99++) seen += histogram[p99];
  return { mean: sum / x.length, p99: p99 - 1 };
}

const same = (d: { mean: number; p99: number }) => d.mean <= 2 && d.p99 <= 16;

let t: TestApp;
const ids = new Map<string, string>();
const renders = new Map<string, Promise<Buffer>>();
const firstPasses = new Map<string, Promise<string>>();

beforeAll(async () => {
  t = await testApp({ RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0' });
  for (const [name, bytes] of Object.entries(SOURCES)) ids.set(name, (await ingest(t.deps, await bytes(), { filename: `${name}.png` })).image.id);
}, 60_000);
afterAll(() => t.cleanup());

function png(id: string, options: string): Promise<Buffer> {
  const key = `${id}|${options}`;
  let r = renders.get(key);
  if (!r) {
    r = (async () => {
      const res = await t.request(`/img/${options},f_png/${id}`, { headers: auth(t.adminKey) });
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(res.status, `${options}: ${bytes.toString().slice(0, 200)}`).toBe(200);
      return bytes;
    })();
    renders.set(key, r);
  }
  return r;
}

/** `first` on the source, stored as a new original (lossless PNG), then `second` on it. */
async function twoPasses(source: string, first: string, second: string): Promise<Buffer> {
  const key = `${source}|${first}`;
  let id = firstPasses.get(key);
  if (!id) {
    id = png(ids.get(source)!, first).then(async (bytes) => (await ingest(t.deps, bytes, { filename: `${source}-${first}.png` })).image.id);
    firstPasses.set(key, id);
  }
  return png(await id, second);
}

describe('two effects in one URL are one after the other', () => {
  it('covers every effect of the registry', () => {
    expect(new Set(EXAMPLES.map((e) => e.key))).toEqual(new Set(EFFECTS));
    expect(PAIRS.length).toBeGreaterThan(EFFECTS.length);
  });

  it.each(PAIRS)('%s with %s', async (a, b) => {
    // The orders that match, per source: one of them must match on every source.
    const matching: string[][] = [];
    const seen: string[] = [];
    for (const source of Object.keys(SOURCES)) {
      const one = await png(ids.get(source)!, `${a},${b}`);
      const ab = await difference(one, await twoPasses(source, a, b));
      const ba = await difference(one, await twoPasses(source, b, a));
      matching.push([...(same(ab) ? [`${a} then ${b}`] : []), ...(same(ba) ? [`${b} then ${a}`] : [])]);
      seen.push(`${source}: ${a} then ${b} ${ab.mean.toFixed(2)}/${ab.p99}, ${b} then ${a} ${ba.mean.toFixed(2)}/${ba.p99}`);
    }
    const everywhere = matching.reduce((acc, m) => acc.filter((order) => m.includes(order)));
    expect(everywhere, `mean/99th-percentile difference from each order:\n${seen.join('\n')}`).not.toEqual([]);
  });
});

describe('an effect is not dropped for being paired', () => {
  // sharp makes the image grey last, after its tint: e_grayscale,e_tint was plain grey. e_tint
  // keeps the luminance and sets the colour, so grey then tint is the tint alone (measured: no
  // pixel apart), which is what the pair must give.
  it.each(Object.keys(SOURCES))('e_grayscale,e_tint is the grey image tinted (%s)', async (source) => {
    const id = ids.get(source)!;
    const [pair, tinted, grey, greyThenTint] = await Promise.all([
      png(id, 'e_grayscale,e_tint:ff8800'),
      png(id, 'e_tint:ff8800'),
      png(id, 'e_grayscale'),
      twoPasses(source, 'e_grayscale', 'e_tint:ff8800'),
    ]);
    expect(same(await difference(pair, greyThenTint))).toBe(true);
    expect(same(await difference(pair, tinted))).toBe(true);
    expect(same(await difference(pair, grey))).toBe(false);
  });
});
