import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/executables.js';
import { OriginalsCache } from '../../src/render/originals-cache.js';
import { render } from '../../src/render/index.js';
import { isCompleteProgressiveJpeg, startsProgressive } from '../../src/render/jpeg-scans.js';
import { parseSpec, type OutputFormat } from '../../src/spec/index.js';
import { LIMITS, orientedJpeg, samples } from './fixtures.js';

// scripts/install-test-deps.sh installs it (libjpeg-turbo-progs), as the Dockerfile does.
const jpegtran = findOnPath('jpegtran', process.env.PATH);
const copies = () => new OriginalsCache({ maxBytes: 64 * 1024 * 1024, jpegtran });

describe('isCompleteProgressiveJpeg', () => {
  it('tells progressive JPEGs from everything else', async () => {
    expect(isCompleteProgressiveJpeg(samples.sunset)).toBe(true);
    expect(isCompleteProgressiveJpeg(samples.portrait)).toBe(true);
    expect(isCompleteProgressiveJpeg(samples.dune)).toBe(false);
    expect(isCompleteProgressiveJpeg(samples.dragonfly)).toBe(false);
    expect(isCompleteProgressiveJpeg(await sharp(samples.dune).jpeg({ progressive: true }).toBuffer())).toBe(true);
    expect(isCompleteProgressiveJpeg(await sharp(samples.dune).webp().toBuffer())).toBe(false);
    expect(isCompleteProgressiveJpeg(Buffer.alloc(0))).toBe(false);
    expect(isCompleteProgressiveJpeg(samples.sunset.subarray(0, 5000))).toBe(false);
  });
});

describe('startsProgressive (the first bytes of a local original)', () => {
  it('names the frame from the head alone, and knows when the head ends before it', async () => {
    const progressive = await sharp(samples.dune).jpeg({ progressive: true }).toBuffer();
    expect(startsProgressive(samples.sunset.subarray(0, 65_536))).toBe(true);
    expect(startsProgressive(progressive.subarray(0, 1000))).toBe(true);
    expect(startsProgressive(samples.dune.subarray(0, 65_536))).toBe(false);
    expect(startsProgressive(samples.dune)).toBe(false);
    // Cut inside the segments before the frame header, or not a JPEG at all: not known from this head.
    expect(startsProgressive(samples.dune.subarray(0, 20))).toBeUndefined();
    expect(startsProgressive(samples.dragonfly.subarray(0, 1000))).toBeUndefined();
    expect(startsProgressive(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('baseline copies of progressive JPEG originals', () => {
  it('jpegtran is installed (scripts/install-test-deps.sh)', () => {
    expect(jpegtran).not.toBeNull();
  });

  it('decode to the very same pixels, at full size and shrunk on load', async () => {
    const copy = await copies().decodable('sunset', 'jpeg', samples.sunset);
    expect(copy).not.toBe(samples.sunset);
    expect(isCompleteProgressiveJpeg(copy)).toBe(false);
    expect((await sharp(copy).metadata()).isProgressive).toBe(false);
    for (const width of [undefined, 300, 1100]) {
      const decode = (input: Buffer) => sharp(input, { autoOrient: true }).resize({ width }).raw().toBuffer();
      expect((await decode(copy)).equals(await decode(samples.sunset))).toBe(true);
    }
  });

  it.each([
    ['w_300,f_jpg,q_30', 'jpeg'],
    ['w_500,f_webp', 'webp'],
    ['c_fill,w_200,h_200,g_auto', 'avif'],
    ['c_crop,x_100,y_100,w_900,h_700,r_90,e_grayscale', 'png'],
  ] as [string, OutputFormat][])('renditions are byte-identical: %s', async (options, format) => {
    const copy = await copies().decodable('portrait', 'jpeg', samples.portrait);
    const spec = parseSpec(options);
    const [a, b] = await Promise.all([render(copy, spec, { format, limits: LIMITS }), render(samples.portrait, spec, { format, limits: LIMITS })]);
    expect(a.data.equals(b.data)).toBe(true);
  });

  it('keep EXIF orientation (every marker is copied)', async () => {
    const oriented = await sharp(await orientedJpeg())
      .jpeg({ progressive: true })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const copy = await copies().decodable('oriented', 'jpeg', oriented);
    expect(copy).not.toBe(oriented);
    const decode = (input: Buffer) => sharp(input, { autoOrient: true }).raw().toBuffer({ resolveWithObject: true });
    const [a, b] = [await decode(copy), await decode(oriented)];
    expect(a.info).toEqual(b.info);
    expect(a.data.equals(b.data)).toBe(true);
  });

  it('are made once per original however many ask at once, and not for other images', async () => {
    const c = copies();
    const got = await Promise.all([1, 2, 3].map(() => c.decodable('sunset', 'jpeg', samples.sunset)));
    expect(new Set(got).size).toBe(1);
    expect(await c.decodable('dune', 'jpeg', samples.dune)).toBe(samples.dune);
    expect(await c.decodable('dragonfly', 'png', samples.dragonfly)).toBe(samples.dragonfly);
    // Every original is kept for the next miss: the progressive one as its copy, the others as they are.
    expect(c.stats()).toMatchObject({ made: 1, used: 3, failed: 0, entries: 3 });
    expect(c.held('sunset')).toBe(got[0]);
    expect(c.held('dune')).toBe(samples.dune);
    expect(c.held('dragonfly')).toBe(samples.dragonfly);
    expect(c.held('never-seen')).toBeUndefined();
    expect(c.stats()).toMatchObject({ used: 4, reused: 3 });
  });

  it('keep originals within their byte budget, least recently used first out; a budget of 0 keeps nothing', async () => {
    const c = new OriginalsCache({ maxBytes: samples.dune.length + samples.dragonfly.length, jpegtran: null });
    await c.decodable('dune', 'jpeg', samples.dune);
    await c.decodable('dragonfly', 'png', samples.dragonfly);
    expect(c.held('dune')).toBe(samples.dune); // now the most recent
    await c.decodable('portrait', 'jpeg', samples.portrait);
    expect(c.held('dragonfly')).toBeUndefined();
    expect(c.stats().bytes).toBeLessThanOrEqual(samples.dune.length + samples.dragonfly.length);
    const off = new OriginalsCache({ maxBytes: 0, jpegtran });
    await off.decodable('dune', 'jpeg', samples.dune);
    expect(off.held('dune')).toBeUndefined();
    expect(off.stats()).toMatchObject({ entries: 0, made: 0 });
  });

  it('fall back to the original when jpegtran is missing, refuses the bytes or copies are off', async () => {
    const missing = new OriginalsCache({ maxBytes: 1 << 20, jpegtran: '/nonexistent/jpegtran' });
    const errors: unknown[] = [];
    const broken = new OriginalsCache({ maxBytes: 64 << 20, jpegtran, onError: (e) => errors.push(e) });
    const truncated = Buffer.concat([samples.portrait.subarray(0, samples.portrait.length - 2000), Buffer.from([0xff, 0xd9])]);
    expect(await missing.decodable('sunset', 'jpeg', samples.portrait)).toBe(samples.portrait);
    expect(await broken.decodable('truncated', 'jpeg', truncated)).toBe(truncated);
    expect(errors.length + Number(!isCompleteProgressiveJpeg(truncated))).toBeGreaterThan(0);
    expect(await new OriginalsCache({ maxBytes: 0, jpegtran }).decodable('sunset', 'jpeg', samples.portrait)).toBe(samples.portrait);
    expect(await new OriginalsCache({ maxBytes: 64 << 20, jpegtran: null }).decodable('sunset', 'jpeg', samples.portrait)).toBe(samples.portrait);
  });
});
