import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { OriginalsCache } from '../../src/render/originals-cache.js';
import { type Reduced, reduce, reducedSize, reductionFor } from '../../src/render/reduced.js';
import { readHeader } from '../../src/render/steps/load.js';
import { parseSpec } from '../../src/spec/index.js';
import { DECLARED_KEYS, opDef } from '../../src/spec/registry.js';
import { ssim } from '../../bench/quality.js';
import { animatedGif, cmykJpeg, LIMITS, samples } from './fixtures.js';

/**
 * A render whose first step shrinks the whole original may start from the original kept decoded
 * at 1/2, 1/4 or 1/8 (ORIGINALS_CACHE_MB, src/render/reduced.ts) instead of decoding it again.
 * The class: every valid example of every option of the registry, on every kind of source a
 * reduction is made for, gives the same image either way (same size, format, and pixels within
 * what resampling twice costs); sources a reduction cannot stand in for never get one; and a
 * reduction is never a worse picture than the decode it replaces.
 */

// 1200x750: every factor is reached by the examples' sizes (w_200 shrinks 6x), at half the pixels of the sample.
const dune = await sharp(samples.dune).resize(1200).jpeg({ quality: 92 }).toBuffer();
const kinds: Record<string, () => Promise<Buffer>> = {
  'opaque JPEG': async () => dune,
  'EXIF-rotated JPEG': async () =>
    sharp(await sharp(dune).rotate(270).toBuffer())
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 90 })
      .toBuffer(),
  'JPEG with a Display P3 profile': async () => sharp(dune).withIccProfile('p3').jpeg({ quality: 90 }).toBuffer(),
  'grey JPEG': async () => sharp(dune).greyscale().jpeg({ quality: 90 }).toBuffer(),
  'opaque PNG': async () => sharp(samples.dragonfly).resize(1600).flatten({ background: '#3a6' }).png().toBuffer(),
  'palette PNG': async () => sharp(dune).png({ palette: true }).toBuffer(),
  WebP: async () => sharp(dune).webp({ quality: 90 }).toBuffer(),
};

/** A render that always starts from a reduction when one fits (no second-ask rule). */
async function renderBoth(input: Buffer, options: string, format: 'jpeg' | 'png' | 'webp') {
  const header = await readHeader(input);
  const spec = parseSpec(options);
  let used: Reduced | undefined;
  const reduced = async (shrink: number) => {
    const k = reductionFor(header.format, shrink);
    used = k ? await reduce(input, header, k, LIMITS.maxInputPixels) : undefined;
    return used;
  };
  const base = { format, limits: LIMITS, focal: { x: 0.3, y: 0.6 } };
  const direct = await render(input, spec, base).catch(() => undefined);
  const viaReduced = await render(input, spec, { ...base, reduced }).catch(() => undefined);
  // The ideal: the same render from the whole original decoded at full size, resampled once.
  const full = async () => reduce(input, header, 1, LIMITS.maxInputPixels);
  const ideal = await render(input, spec, { ...base, reduced: full }).catch(() => undefined);
  return { direct, viaReduced, ideal, used };
}

const pixels = (img: Buffer) => sharp(img).flatten({ background: '#808080' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });

const meanDiff = (a: Buffer, b: Buffer) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
};

/** Every valid example that takes no watermark, preset, hint or expiry, sized down when it names no size. */
const optionSets = DECLARED_KEYS.flatMap((key) => opDef(key).valid)
  .filter((v) => !/(^|,)(wm|t|exp)_|_auto/.test(v))
  .map((v) => (/(^|,)(w|h|dpr)_/.test(v) ? v : `w_200,${v}`));

describe('renders from a reduction are the renders from the original', () => {
  for (const [kind, make] of Object.entries(kinds)) {
    it(`${kind}: every option example`, async () => {
      const input = await make();
      const off = { direct: 0, reduced: 0, renders: 0 };
      for (const options of ['w_200', 'w_500', 'w_300,h_300,c_fill', 'h_120,c_pad,w_400', ...optionSets]) {
        const format = options.includes('f_') ? 'png' : kind.includes('PNG') ? 'png' : 'jpeg';
        const { direct, viaReduced, ideal, used } = await renderBoth(input, options, format);
        expect(Boolean(direct), options).toBe(Boolean(viaReduced));
        if (!direct || !viaReduced || !ideal || !used) continue;
        expect([viaReduced.width, viaReduced.height, viaReduced.format], options).toEqual([direct.width, direct.height, direct.format]);
        const [a, b, c] = await Promise.all([direct, viaReduced, ideal].map((r) => pixels(r.data)));
        expect([b.info.width, b.info.height, b.info.channels], options).toEqual([a.info.width, a.info.height, a.info.channels]);
        if (a.info.width * a.info.height < 64) continue; // a mean over a few pixels says nothing
        // Distance to the render resampled once from the full decode: the decode it replaces
        // (JPEG and WebP scaled decodes are approximations) against the reduction (resampled twice).
        const [fromDirect, fromReduced] = [meanDiff(a.data, c.data), meanDiff(b.data, c.data)];
        // A palette (PNG q_, GIF) maps any small difference onto other colours and dithers it.
        const quantised = format === 'png' && /(^|,)q_/.test(options);
        expect(fromReduced, `${options}: reduced ${fromReduced} vs direct ${fromDirect}`).toBeLessThanOrEqual(fromDirect + (quantised ? 12 : 1.5));
        Object.assign(off, { direct: off.direct + fromDirect, reduced: off.reduced + fromReduced, renders: off.renders + 1 });
      }
      // Most examples shrink the whole source: the class must really have gone through reductions,
      // and on average they are no further from the ideal than the decode they replace (+1 level).
      expect(off.renders).toBeGreaterThan(optionSets.length / 2);
      expect(off.reduced / off.renders).toBeLessThanOrEqual(off.direct / off.renders + 1);
    }, 180_000);
  }

  it('is never a worse picture than the decode it replaces (SSIM against a full-size decode resized once)', async () => {
    for (const input of [dune, await kinds['opaque PNG']()]) {
      const header = await readHeader(input);
      const full = await sharp(input, { autoOrient: true }).raw().toBuffer({ resolveWithObject: true });
      for (const width of [120, 200, 300, 400, 500, 700]) {
        const { direct, viaReduced, used } = await renderBoth(input, `w_${width},f_png`, 'png');
        if (!used) continue;
        const h = direct!.height;
        const grey = (img: Buffer, raw?: { width: number; height: number; channels: 1 | 2 | 3 | 4 }) =>
          sharp(img, raw ? { raw } : {})
            .resize(width, h, { fit: 'fill' })
            .flatten({ background: '#808080' })
            .greyscale()
            .raw()
            .toBuffer();
        const ideal = await grey(full.data, full.info);
        const [d, r] = [await grey(direct!.data), await grey(viaReduced!.data)];
        const [sd, sr] = [ssim(ideal, d, width, h), ssim(ideal, r, width, h)];
        expect(sr, `${header.format} w_${width}: reduced ${sr} vs direct ${sd}`).toBeGreaterThanOrEqual(sd - 0.002);
      }
    }
  }, 60_000);

  it('no reduction for a crop whose window is chosen from the pixels (g_auto without a focal point, g_entropy, c_thumb)', async () => {
    // Saliency and entropy pick the window from the resized pixels; resampled twice they pick another
    // (a visibly shifted crop, measured up to a mean of 34 levels off the full-size render), so the
    // same URL would change its crop with the cache's state. A stored focal point places it by arithmetic.
    const png = await sharp(samples.dune).resize(1200).png().toBuffer();
    const header = await readHeader(png);
    for (const options of ['w_50,h_50,c_fill,g_entropy', 'w_120,h_80,c_fill,g_auto,r_90', 'w_120,h_80,c_thumb,fl_mirror,r_270', 'w_80,h_120,c_fill,g_auto']) {
      const asked: number[] = [];
      const reduced = async (shrink: number) => {
        asked.push(shrink);
        return reduce(png, header, reductionFor('png', shrink) ?? 1, LIMITS.maxInputPixels);
      };
      await render(png, parseSpec(options), { format: 'png', limits: LIMITS, reduced });
      expect(asked, options).toEqual([]);
      // With a stored focal point the same crop may start from a reduction.
      await render(png, parseSpec(options), { format: 'png', limits: LIMITS, reduced, focal: { x: 0.3, y: 0.6 } });
      expect(asked.length, `${options} with a focal point`).toBe(options.includes('g_entropy') ? 0 : 1);
    }
  });

  it('no reduction for sources whose colours sharp converts after its resize, animations, nor sources with alpha', async () => {
    const sixteenBit = await sharp(dune).toColourspace('rgb16').png().toBuffer();
    // With alpha (found by an outsider): a grey+alpha PNG was flattened onto bg_ from a reduction and
    // not from the original, a WebP's transparent pixels and edge alpha came out otherwise.
    const rgba = await sharp(samples.dragonfly).resize(1200).png().toBuffer();
    const greyAlpha = await sharp(rgba).toColourspace('b-w').png().toBuffer();
    const webpAlpha = await sharp(rgba).webp({ quality: 90 }).toBuffer();
    for (const input of [await cmykJpeg(), sixteenBit, await animatedGif(3, 400, 300), rgba, greyAlpha, webpAlpha]) {
      const header = await readHeader(input);
      expect(await reduce(input, header, 2, LIMITS.maxInputPixels)).toBeUndefined();
    }
  });

  it('no reduction whose rounding would change the proportions by more than 1 % (thin strips)', async () => {
    expect(reducedSize({ width: 1200, height: 750 }, 8)).toEqual({ width: 150, height: 94 });
    expect(reducedSize({ width: 1680, height: 1050 }, 8)).toEqual({ width: 210, height: 131 });
    for (const [width, height, k] of [
      [3, 10_000, 2],
      [10_000, 3, 8],
      [49, 4000, 2],
      [100, 100, 8],
    ]) {
      expect(reducedSize({ width, height }, k), `${width}x${height} at 1/${k}`).toBeUndefined();
    }
    // Through the cache: a 3x10000 JPEG shrunk to h_200 (1x200) asks for 1/2 and never gets it.
    const strip = await sharp({ create: { width: 3, height: 10_000, channels: 3, background: '#804020' } })
      .jpeg()
      .toBuffer();
    const cache = new OriginalsCache({ maxBytes: 32 << 20, jpegtran: null });
    for (let i = 0; i < 3; i++) expect(await cache.reduced('s', 'jpeg', strip, { width: 3, height: 10_000 }, 3, LIMITS.maxInputPixels)).toBeUndefined();
    expect(cache.stats().reductionsMade).toBe(0);
  });

  it('the factor follows what sharp decodes anyway: JPEG 1/8 from a shrink of 9, 1/4 from 5, 1/2 from 3; others keep twice the pixels', () => {
    expect([2.9, 3, 4.99, 5, 8.99, 9, 30].map((s) => reductionFor('jpeg', s))).toEqual([undefined, 2, 2, 4, 4, 8, 8]);
    expect([3.9, 4, 7.9, 8, 16, 30].map((s) => reductionFor('png', s))).toEqual([undefined, 2, 2, 4, 8, 8]);
  });
});

describe('OriginalsCache keeps reductions', () => {
  const facts = { width: 1200, height: 750 };
  it('made on the second ask, reused after, once however many ask at once; off with a zero budget', async () => {
    const cache = new OriginalsCache({ maxBytes: 32 << 20, jpegtran: null });
    expect(await cache.reduced('h1', 'jpeg', dune, facts, 10, LIMITS.maxInputPixels)).toBeUndefined();
    const [a, b] = await Promise.all([1, 2].map(() => cache.reduced('h1', 'jpeg', dune, facts, 12, LIMITS.maxInputPixels)));
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect([a!.width, a!.height, a!.k]).toEqual([150, 94, 8]);
    expect(await cache.reduced('h1', 'jpeg', dune, facts, 20, LIMITS.maxInputPixels)).toBe(a);
    expect(cache.stats()).toMatchObject({ reductionsMade: 1, reductionsUsed: 3, bytes: a!.data.length });
    // Another factor is another reduction, asked for once first.
    expect(await cache.reduced('h1', 'jpeg', dune, facts, 6, LIMITS.maxInputPixels)).toBeUndefined();
    // Too little shrink for any.
    expect(await cache.reduced('h1', 'jpeg', dune, facts, 2, LIMITS.maxInputPixels)).toBeUndefined();

    // A reduction the budget could not keep (over half of it, at 4 bytes a pixel) is never made.
    const small = new OriginalsCache({ maxBytes: 2 * 150 * 94 * 4 - 1, jpegtran: null });
    for (let i = 0; i < 3; i++) expect(await small.reduced('h1', 'jpeg', dune, facts, 10, LIMITS.maxInputPixels)).toBeUndefined();
    expect(small.stats()).toMatchObject({ reductionsMade: 0, entries: 0 });

    const off = new OriginalsCache({ maxBytes: 0, jpegtran: null });
    for (let i = 0; i < 3; i++) expect(await off.reduced('h1', 'jpeg', dune, facts, 10, LIMITS.maxInputPixels)).toBeUndefined();
  });

  it('an original that cannot have one is remembered, and a decode error is reported, not thrown', async () => {
    const errors: unknown[] = [];
    const cache = new OriginalsCache({ maxBytes: 32 << 20, jpegtran: null, onError: (_e, what) => errors.push(what) });
    const cmyk = await cmykJpeg();
    for (let i = 0; i < 3; i++) expect(await cache.reduced('c', 'jpeg', cmyk, { width: 300, height: 188 }, 10, LIMITS.maxInputPixels)).toBeUndefined();
    const broken = dune.subarray(0, 2000);
    for (let i = 0; i < 3; i++) expect(await cache.reduced('b', 'jpeg', broken, facts, 10, LIMITS.maxInputPixels)).toBeUndefined();
    expect(errors).toEqual(['reduction']);
    expect(cache.stats().reductionsMade).toBe(0);
  });

  it('a reduction that failed to be made (the file unreadable for a moment) is tried again after retryReductionMs, not never', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-reduce-'));
    try {
      const file = path.join(dir, 'original.jpg');
      const errors: string[] = [];
      const cache = new OriginalsCache({ maxBytes: 32 << 20, jpegtran: null, retryReductionMs: 100, onError: (_e, what) => errors.push(what) });
      const ask = () => cache.reduced('gone', 'jpeg', file, facts, 10, LIMITS.maxInputPixels);
      expect(await ask()).toBeUndefined(); // first ask
      expect(await ask()).toBeUndefined(); // made: the file is not there yet
      expect(await ask()).toBeUndefined(); // within the pause: not tried
      expect(errors).toEqual(['reduction']);
      await fs.writeFile(file, dune);
      await new Promise((r) => setTimeout(r, 150));
      const made = await ask();
      expect(made).toMatchObject({ width: 150, height: 94, k: 8 });
      expect(cache.stats()).toMatchObject({ reductionsMade: 1, reductionsUsed: 1 });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reductions share the budget with originals, least recently used first out', async () => {
    const cache = new OriginalsCache({ maxBytes: 300_000, jpegtran: null });
    for (const h of ['x', 'y', 'x', 'y']) await cache.reduced(h, 'jpeg', dune, facts, 10, LIMITS.maxInputPixels);
    // Two reductions of 150x94x3 = 42,300 bytes each.
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 2 * 42_300 });
    await cache.decodable('z', 'jpeg', Buffer.alloc(240_000));
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 240_000 + 42_300 });
  });
});
