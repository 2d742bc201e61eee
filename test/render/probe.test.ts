import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { AppError, CorruptImageError, TooLargeError, UnsupportedMediaError } from '../../src/errors.js';
import { placeholder, probe } from '../../src/render/index.js';
import { LIMITS, animatedGif, cmykJpeg, orientedJpeg, samples } from './fixtures.js';

async function failure(work: Promise<unknown>): Promise<AppError> {
  try {
    await work;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected probe to fail');
}

describe('probe', () => {
  it.each([
    ['sunset', { format: 'jpeg', width: 4272, height: 2848, frames: 1, hasAlpha: false }],
    ['portrait', { format: 'jpeg', width: 2056, height: 3088, frames: 1, hasAlpha: false }],
    ['dune', { format: 'jpeg', width: 1680, height: 1050, frames: 1, hasAlpha: false }],
    ['dragonfly', { format: 'png', width: 1000, height: 750, frames: 1, hasAlpha: true }],
  ] as const)('%s', async (name, facts) => {
    expect(await probe(samples[name], LIMITS)).toMatchObject(facts);
  });

  it('reports the size after EXIF orientation, and that there is metadata', async () => {
    expect(await probe(await orientedJpeg(), LIMITS)).toEqual({
      format: 'jpeg',
      width: 400,
      height: 250,
      frames: 1,
      hasAlpha: false,
      hasMetadata: true,
    });
  });

  it("counts frames and reports one frame's size", async () => {
    expect(await probe(await animatedGif(6), LIMITS)).toMatchObject({ format: 'gif', width: 64, height: 48, frames: 6 });
  });

  it('names AVIF avif and WebP webp', async () => {
    const avif = await sharp(samples.dune).resize(64).avif().toBuffer();
    const webp = await sharp(samples.dune).resize(64).webp().toBuffer();
    expect((await probe(avif, LIMITS)).format).toBe('avif');
    expect((await probe(webp, LIMITS)).format).toBe('webp');
  });

  it('sees CMYK JPEGs as images', async () => {
    expect(await probe(await cmykJpeg(), LIMITS)).toMatchObject({ format: 'jpeg', width: 300 });
  });

  it.each([
    ['text', Buffer.from('hello, I am definitely not a picture')],
    ['empty', Buffer.alloc(0)],
    ['zip', Buffer.from('504b0304140000000800', 'hex')],
  ])('415 for %s', async (_, bytes) => {
    const err = await failure(probe(bytes, LIMITS));
    expect(err).toBeInstanceOf(UnsupportedMediaError);
    expect(err.status).toBe(415);
  });

  it('422 for a truncated JPEG', async () => {
    const jpeg = await sharp(samples.dune).resize(400).jpeg().toBuffer();
    const err = await failure(probe(jpeg.subarray(0, Math.floor(jpeg.length / 2)), LIMITS));
    expect(err).toBeInstanceOf(CorruptImageError);
    expect(err.status).toBe(422);
  });

  it('413 past the pixel and frame limits', async () => {
    const pixels = await failure(probe(samples.sunset, { ...LIMITS, maxInputPixels: 10_000_000 }));
    expect(pixels).toBeInstanceOf(TooLargeError);
    expect(pixels.details.limit).toBe('MAX_INPUT_PIXELS');
    const frames = await failure(probe(await animatedGif(6), { ...LIMITS, maxFrames: 5 }));
    expect(frames.status).toBe(413);
    expect(frames.details.limit).toBe('MAX_FRAMES');
  });
});

describe('placeholder', () => {
  it('gives a ThumbHash, its data URI and the dominant colour', async () => {
    const p = await placeholder(samples.sunset);
    const hash = Buffer.from(p.thumbhash, 'base64');
    expect(hash.length).toBeGreaterThan(5);
    expect(thumbHashToApproximateAspectRatio(hash)).toBeCloseTo(4272 / 2848, 0);
    expect(p.dataUri).toMatch(/^data:image\/png;base64,/);
    expect(p.dominant).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('finds the colour of a solid image', async () => {
    const red = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#d01010' } })
      .png()
      .toBuffer();
    const p = await placeholder(red);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(p.dominant.slice(i, i + 2), 16));
    expect(r).toBeGreaterThan(190);
    expect(g).toBeLessThan(40);
    expect(b).toBeLessThan(40);
  });

  it('works on transparent images and refuses garbage', async () => {
    expect((await placeholder(samples.dragonfly)).thumbhash.length).toBeGreaterThan(5);
    expect((await failure(placeholder(Buffer.from('nope')))).status).toBe(415);
  });
});
