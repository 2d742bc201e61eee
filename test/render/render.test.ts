import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError, BadOptionError, CorruptImageError, TooLargeError } from '../../src/errors.js';
import { probe, render } from '../../src/render/index.js';
import { checkSpec, chooseFormat, parseSpec, planGeometry, type OutputFormat } from '../../src/spec/index.js';
import { distance, meanDiff, pixel } from '../helpers/fingerprint.js';
import { LIMITS, animatedGif, cmykJpeg, orientedJpeg, samples } from './fixtures.js';

type SampleName = keyof typeof samples;

async function run(input: Buffer, options: string, format?: OutputFormat, extra: { focal?: { x: number; y: number }; watermark?: Buffer } = {}) {
  const spec = parseSpec(options);
  const meta = await sharp(input).metadata();
  const chosen =
    format ?? chooseFormat(spec, { format: meta.format ?? 'jpeg', hasAlpha: meta.hasAlpha ?? false, animated: (meta.pages ?? 1) > 1 }, 'image/webp').format;
  const out = await render(input, spec, { format: chosen, limits: LIMITS, ...extra });
  return { ...out, meta: await sharp(out.data).metadata() };
}

/** Status and class of what `render` threw. */
async function failure(work: Promise<unknown>): Promise<AppError> {
  try {
    await work;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the render to fail');
}

describe('render: output size and format', () => {
  it.each([
    ['sunset', 'w_300', undefined, 300, 200, 'jpeg'],
    ['sunset', 'w_300,f_webp,q_80', undefined, 300, 200, 'webp'],
    ['sunset', 'w_300,r_90,f_webp', undefined, 300, 450, 'webp'],
    ['dune', 'c_fill,w_200,h_200', undefined, 200, 200, 'jpeg'],
    ['dune', 'c_fill,w_200,h_100,r_90', undefined, 200, 100, 'jpeg'],
    ['dune', 'c_thumb,w_120,h_160', undefined, 120, 160, 'jpeg'],
    ['dune', 'c_thumb,w_120,h_160,r_270', undefined, 120, 160, 'jpeg'],
    ['dune', 'c_fill,w_120,h_160,g_entropy', undefined, 120, 160, 'jpeg'],
    ['dune', 'c_fill,w_100,h_100,g_south_east,r_90', undefined, 100, 100, 'jpeg'],
    ['dune', 'c_scale,w_100,h_100', undefined, 100, 100, 'jpeg'],
    ['dune', 'c_pad,w_300,h_300,bg_ff0000', undefined, 300, 300, 'jpeg'],
    ['dune', 'c_pad,w_300,h_200,r_90,g_north', undefined, 300, 200, 'jpeg'],
    ['dune', 'c_limit,w_5000', undefined, 1680, 1050, 'jpeg'],
    ['dune', 'c_limit,w_840', undefined, 840, 525, 'jpeg'],
    ['dune', 'w_3360', undefined, 3360, 2100, 'jpeg'],
    ['dune', 'dpr_2,w_150', undefined, 300, 188, 'jpeg'],
    ['dune', 'ar_16:9,w_320,c_fill', undefined, 320, 180, 'jpeg'],
    ['dune', 'c_crop,x_100,y_50,w_200,h_100', undefined, 200, 100, 'jpeg'],
    ['dune', 'c_crop,x_100,y_50,w_200,h_100,r_90', undefined, 100, 200, 'jpeg'],
    ['dune', 'c_crop,x_1600,y_1000,w_200,h_100', undefined, 80, 50, 'jpeg'],
    ['dune', 'w_300,r_45', undefined, 345, 345, 'jpeg'],
    ['dune', 'w_300,h_300,c_fill,r_30,g_auto', undefined, 410, 410, 'jpeg'],
    ['dune', 'w_200,r_180,fl_mirror', undefined, 200, 125, 'jpeg'],
    ['dune', 'w_200,f_avif', undefined, 200, 125, 'heif'],
    ['dune', 'w_200,f_png', undefined, 200, 125, 'png'],
    ['dune', 'w_200,f_gif', undefined, 200, 125, 'gif'],
    ['portrait', 'w_300', undefined, 300, 451, 'jpeg'],
    ['portrait', 'h_300,r_90', undefined, 451, 300, 'jpeg'],
    ['dragonfly', 'w_300', undefined, 300, 225, 'png'],
    ['dragonfly', 'rad_max,w_200', undefined, 200, 150, 'png'],
    ['dragonfly', 'w_300,f_jpg', undefined, 300, 225, 'jpeg'],
  ] as [SampleName, string, OutputFormat | undefined, number, number, string][])(
    '%s %s → %ix%i %s',
    async (name, options, format, width, height, metaFormat) => {
      const out = await run(samples[name], options, format);
      expect([out.width, out.height]).toEqual([width, height]);
      expect([out.meta.width, out.meta.height]).toEqual([width, height]);
      expect(out.meta.format).toBe(metaFormat);
      // The dry run must agree with the render.
      const source = await sharp(samples[name]).metadata();
      expect(planGeometry(parseSpec(options), { width: source.width!, height: source.height! })).toEqual({ width, height });
    },
  );
});

describe('render: geometry pixels', () => {
  let plain: Buffer;
  beforeAll(async () => {
    plain = (await run(samples.dune, 'w_320', 'png')).data;
  });

  it('w_300,r_90 of a landscape is the photo turned clockwise', async () => {
    const out = await run(samples.dune, 'w_300,r_90', 'png');
    const expected = await sharp(samples.dune).rotate(90).resize(300).png().toBuffer();
    expect(await distance(out.data, expected)).toBeLessThanOrEqual(4);
  });

  it('mirror twice is the original; mirror once is not', async () => {
    const once = (await run(samples.dune, 'w_320,fl_mirror', 'png')).data;
    const twice = (await run(once, 'fl_mirror', 'png')).data;
    expect(await distance(twice, plain)).toBeLessThanOrEqual(4);
    expect(await meanDiff(once, plain)).toBeGreaterThan(10);
    expect(await distance(once, await sharp(plain).flop().toBuffer())).toBeLessThanOrEqual(4);
  });

  it('flip + mirror is a half turn, and fl_ flags apply to the delivered orientation', async () => {
    const both = (await run(samples.dune, 'w_320,fl_flip,fl_mirror', 'png')).data;
    const half = (await run(samples.dune, 'w_320,r_180', 'png')).data;
    expect(await distance(both, half)).toBeLessThanOrEqual(4);
    const turnedMirrored = (await run(samples.dune, 'h_320,r_90,fl_mirror', 'png')).data;
    // Two sharp calls: within one pipeline sharp would mirror before turning.
    const turned = await sharp(samples.dune).rotate(90).resize(null, 320).png().toBuffer();
    const expected = await sharp(turned).flop().png().toBuffer();
    expect(await distance(turnedMirrored, expected)).toBeLessThanOrEqual(4);
  });

  it('c_crop extracts the region', async () => {
    const out = await run(samples.dune, 'c_crop,x_600,y_300,w_400,h_300', 'png');
    const expected = await sharp(samples.dune).extract({ left: 600, top: 300, width: 400, height: 300 }).png().toBuffer();
    expect(await meanDiff(out.data, expected)).toBeLessThan(3);
  });

  it('g_auto uses the focal point when one is stored', async () => {
    const left = (await run(samples.dune, 'c_fill,w_100,h_100,g_auto', 'png', { focal: { x: 0, y: 0.5 } })).data;
    const right = (await run(samples.dune, 'c_fill,w_100,h_100,g_auto', 'png', { focal: { x: 1, y: 0.5 } })).data;
    const leftRef = await sharp(samples.dune).resize(null, 100).extract({ left: 0, top: 0, width: 100, height: 100 }).png().toBuffer();
    const rightRef = await sharp(samples.dune).resize(null, 100).extract({ left: 60, top: 0, width: 100, height: 100 }).png().toBuffer();
    expect(await meanDiff(left, leftRef)).toBeLessThan(4);
    expect(await meanDiff(right, rightRef)).toBeLessThan(4);
  });

  it('the focal point follows a quarter turn', async () => {
    // The original's left edge (x=0) is the top of the delivered image after r_90.
    const out = (await run(samples.dune, 'c_fill,w_100,h_50,r_90,g_auto', 'png', { focal: { x: 0, y: 0.5 } })).data;
    const turned = await sharp(samples.dune).rotate(90).resize(100, 160, { fit: 'fill' }).png().toBuffer();
    const expected = await sharp(turned).extract({ left: 0, top: 0, width: 100, height: 50 }).png().toBuffer();
    expect(await meanDiff(out, expected)).toBeLessThan(4);
  });

  it('c_pad fills with bg_', async () => {
    const out = await run(samples.dune, 'c_pad,w_300,h_300,bg_ff0000', 'png');
    const [r, g, b] = await pixel(out.data, 150, 5);
    expect(r).toBeGreaterThan(240);
    expect(g).toBeLessThan(15);
    expect(b).toBeLessThan(15);
  });

  it('c_pad without bg_ is transparent in PNG and white in JPEG', async () => {
    const png = await run(samples.dune, 'c_pad,w_300,h_300', 'png');
    expect((await pixel(png.data, 150, 5))[3]).toBe(0);
    const jpeg = await run(samples.dune, 'c_pad,w_300,h_300', 'jpeg');
    expect(Math.min(...(await pixel(jpeg.data, 150, 5)).slice(0, 3))).toBeGreaterThan(245);
  });

  it('c_limit never upscales', async () => {
    const out = await run(samples.dragonfly, 'c_limit,w_4000,h_4000');
    expect([out.width, out.height]).toEqual([1000, 750]);
  });

  it('arbitrary angles grow the canvas filled with bg_', async () => {
    const out = await run(samples.dune, 'w_300,r_45,bg_00ff00', 'png');
    const [r, g, b] = await pixel(out.data, 2, 2);
    expect([r < 20, g > 230, b < 20]).toEqual([true, true, true]);
  });

  it('animations refuse quarter turns with a 400 naming r', async () => {
    const gif = await animatedGif();
    const err = await failure(run(gif, 'r_90', 'gif'));
    expect(err).toBeInstanceOf(BadOptionError);
    expect(err.details.option).toBe('r');
  });
});

describe('render: canvas, alpha and encode', () => {
  it('rad_max PNG has transparent corners and an opaque centre', async () => {
    const out = await run(samples.dune, 'rad_max,c_fill,w_200,h_200', 'png');
    expect((await pixel(out.data, 1, 1))[3]).toBe(0);
    expect((await pixel(out.data, 100, 100))[3]).toBe(255);
  });

  it('rounded corners in JPEG are bg_ (white by default)', async () => {
    const out = await run(samples.dune, 'rad_40,w_200', 'jpeg');
    expect(Math.min(...(await pixel(out.data, 1, 1)).slice(0, 3))).toBeGreaterThan(245);
    const red = await run(samples.dune, 'rad_40,w_200,bg_f00', 'jpeg');
    const [r, g] = await pixel(red.data, 1, 1);
    expect(r).toBeGreaterThan(230);
    expect(g).toBeLessThan(30);
  });

  it('JPEG of an alpha PNG has no alpha; transparency becomes white', async () => {
    const src = await pixel(samples.dragonfly, 0, 0);
    expect(src[3]).toBe(0);
    const out = await run(samples.dragonfly, 'w_200', 'jpeg');
    expect(out.meta.channels).toBe(3);
    expect(out.meta.hasAlpha).toBe(false);
    expect(Math.min(...(await pixel(out.data, 0, 0)).slice(0, 3))).toBeGreaterThan(245);
  });

  it('q_ changes the size; q_auto is the default', async () => {
    const low = await run(samples.dune, 'w_400,q_10', 'webp');
    const high = await run(samples.dune, 'w_400,q_95', 'webp');
    const auto = await run(samples.dune, 'w_400,q_auto', 'webp');
    const none = await run(samples.dune, 'w_400', 'webp');
    expect(low.data.length).toBeLessThan(high.data.length);
    expect(auto.data.equals(none.data)).toBe(true);
  });

  it('strips EXIF and GPS, and auto-orients', async () => {
    const input = await orientedJpeg();
    const inMeta = await sharp(input).metadata();
    expect(inMeta.exif).toBeDefined();
    expect(inMeta.orientation).toBe(6);
    const out = await run(input, '', 'jpeg');
    expect([out.width, out.height]).toEqual([400, 250]);
    expect(out.meta.exif).toBeUndefined();
    expect(out.meta.orientation ?? 1).toBe(1);
    const expected = await sharp(samples.dune).resize(400).png().toBuffer();
    expect(await distance(out.data, expected)).toBeLessThanOrEqual(4);
    const small = await run(input, 'w_100,r_90', 'webp');
    expect([small.width, small.height]).toEqual([100, 160]);
    expect(small.meta.exif).toBeUndefined();
  });

  it('converts CMYK to sRGB', async () => {
    const input = await cmykJpeg();
    expect((await sharp(input).metadata()).space).toBe('cmyk');
    const out = await run(input, 'w_100', 'jpeg');
    expect(out.meta.space).toBe('srgb');
    expect(out.meta.channels).toBe(3);
    expect(out.meta.icc).toBeUndefined();
  });
});

describe('render: effects', () => {
  let plain: Buffer;
  beforeAll(async () => {
    plain = (await run(samples.dune, 'w_200', 'png')).data;
  });

  it('e_grayscale makes R=G=B', async () => {
    const out = await run(samples.dune, 'w_200,e_grayscale', 'webp');
    for (const [x, y] of [
      [10, 10],
      [100, 60],
      [190, 120],
    ]) {
      const [r, g, b] = await pixel(out.data, x, y);
      expect(Math.max(r, g, b) - Math.min(r, g, b)).toBeLessThanOrEqual(3);
    }
  });

  it('e_negate inverts colours', async () => {
    const out = await run(samples.dune, 'w_200,e_negate', 'png');
    const [r, g, b] = await pixel(out.data, 100, 60);
    const [r0, g0, b0] = await pixel(plain, 100, 60);
    expect(Math.abs(r + r0 - 255)).toBeLessThanOrEqual(2);
    expect(Math.abs(g + g0 - 255)).toBeLessThanOrEqual(2);
    expect(Math.abs(b + b0 - 255)).toBeLessThanOrEqual(2);
  });

  it.each(['e_blur:4', 'e_sepia', 'e_sharpen:3', 'e_tint:0044ff', 'e_brightness:150', 'e_saturation:0'])(
    '%s changes the pixels but not the picture',
    async (effect) => {
      const out = await run(samples.dune, `w_200,${effect}`, 'png');
      expect(await meanDiff(out.data, plain)).toBeGreaterThan(1);
      expect(await distance(out.data, plain)).toBeLessThanOrEqual(16);
    },
  );

  it('e_negate does not invert the watermark or the corners', async () => {
    const out = await run(samples.dune, 'w_200,e_negate,rad_30', 'jpeg');
    expect(Math.min(...(await pixel(out.data, 1, 1)).slice(0, 3))).toBeGreaterThan(245);
  });
});

describe('render: watermark', () => {
  it('changes its region only', async () => {
    const mark = await sharp({ create: { width: 100, height: 100, channels: 4, background: '#ff00ff' } })
      .png()
      .toBuffer();
    const base = await run(samples.dune, 'w_400', 'png');
    const out = await run(samples.dune, 'w_400,wm_logo,wmg_north_west,wms_25', 'png', { watermark: mark });
    const [r, g, b] = await pixel(out.data, 10, 10);
    expect([r > 240, g < 15, b > 240]).toEqual([true, true, true]);
    expect(await pixel(out.data, 390, 240)).toEqual(await pixel(base.data, 390, 240));
    const faded = await run(samples.dune, 'w_400,wm_logo,wmg_north_west,wms_25,wmo_50', 'png', { watermark: mark });
    const [fr, ,] = await pixel(faded.data, 10, 10);
    const [br] = await pixel(base.data, 10, 10);
    expect(Math.abs(fr - Math.round((255 + br) / 2))).toBeLessThanOrEqual(3);
  });

  it('sits south-east by default', async () => {
    const mark = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#00ff00' } })
      .png()
      .toBuffer();
    const out = await run(samples.dune, 'w_400,wm_logo', 'png', { watermark: mark });
    const [r, g, b] = await pixel(out.data, 395, 245);
    expect([r < 15, g > 240, b < 15]).toEqual([true, true, true]);
  });

  it('is a 400 naming wm when the image is missing', async () => {
    const err = await failure(run(samples.dune, 'w_100,wm_logo', 'png'));
    expect(err).toBeInstanceOf(BadOptionError);
    expect(err.details.option).toBe('wm');
  });
});

describe('render: animation', () => {
  let gif: Buffer;
  beforeAll(async () => {
    gif = await animatedGif(5);
  });

  it.each(['webp', 'gif'] as const)('stays animated as %s with the same frame count', async (format) => {
    const out = await run(gif, 'w_32', format);
    expect(out.meta.pages).toBe(5);
    expect(out.meta.format).toBe(format);
    expect([out.width, out.height]).toEqual([32, 24]);
    expect(out.meta.pageHeight ?? out.meta.height).toBe(24);
  });

  it('keeps the animation through fill, rounded corners and a watermark', async () => {
    const mark = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const out = await run(gif, 'c_fill,w_30,h_30,rad_max,wm_logo,wms_20', 'webp', { watermark: mark });
    expect(out.meta.pages).toBe(5);
    expect([out.width, out.height]).toEqual([30, 30]);
  });

  it('keeps frame delays and loops, and reads animated WebP too', async () => {
    const out = await run(gif, 'w_32', 'webp');
    expect(out.meta.delay).toEqual([100, 100, 100, 100, 100]);
    expect(out.meta.loop).toBe(0);
    const again = await run(out.data, 'c_fill,w_16,h_16', 'gif');
    expect(again.meta.pages).toBe(5);
    expect([again.width, again.height]).toEqual([16, 16]);
  });

  it('JPEG output is the first frame', async () => {
    const out = await run(gif, 'w_32', 'jpeg');
    expect(out.meta.pages ?? 1).toBe(1);
    expect([out.width, out.height]).toEqual([32, 24]);
  });

  it('past MAX_FRAMES answers 413 naming the limit', async () => {
    const err = await failure(render(gif, {}, { format: 'gif', limits: { ...LIMITS, maxFrames: 3 } }));
    expect(err).toBeInstanceOf(TooLargeError);
    expect(err.status).toBe(413);
    expect(err.details.limit).toBe('MAX_FRAMES');
  });
});

describe('render: hostile input', () => {
  it('past MAX_INPUT_PIXELS answers 413', async () => {
    const err = await failure(render(samples.dune, {}, { format: 'jpeg', limits: { ...LIMITS, maxInputPixels: 1_000_000 } }));
    expect(err.status).toBe(413);
    expect(err.details.limit).toBe('MAX_INPUT_PIXELS');
  });

  it('garbage bytes answer 415', async () => {
    const err = await failure(render(Buffer.from('this is not an image at all'), {}, { format: 'jpeg', limits: LIMITS }));
    expect(err.status).toBe(415);
  });

  it('a damaged image answers 422', async () => {
    const png = await sharp(samples.dune).resize(200).png().toBuffer();
    const broken = Buffer.from(png);
    broken.fill(0x55, 200, png.length - 20);
    const err = await failure(render(broken, {}, { format: 'png', limits: LIMITS }));
    expect(err).toBeInstanceOf(CorruptImageError);
    expect(err.status).toBe(422);
  });

  it('a crop region outside the image answers 400', async () => {
    const err = await failure(run(samples.dune, 'c_crop,x_5000,w_10,h_10', 'png'));
    expect(err.status).toBe(400);
  });
});

describe('render: specs that did not come from the parser', () => {
  it.each([
    [{ w: 0 }, 'w'],
    [{ w: Number.NaN }, 'w'],
    [{ q: 1000 }, 'q'],
    [{ r: 450 }, 'r'],
    [{ e_blur: 0 }, 'e_blur'],
    [{ bg: 'red' }, 'bg'],
    [{ x: 5 }, 'x'],
    [{ w: 20000 }, 'w'],
  ] as [Record<string, unknown>, string][])('%o is a 400 naming %s, before sharp runs', async (spec, option) => {
    // render takes a checked spec (options are parsed once per request): a hand-built one goes through checkSpec.
    const err = await failure((async () => render(samples.dune, checkSpec(spec as never, LIMITS), { format: 'jpeg', limits: LIMITS }))());
    expect(err).toBeInstanceOf(BadOptionError);
    expect(err.details.option).toBe(option);
  });
});

describe('render: facts the library stored at upload', () => {
  const storedOf = async (input: Buffer) => {
    const p = await probe(input, LIMITS);
    return { format: p.format, width: p.width, height: p.height, frames: p.frames, hasAlpha: p.hasAlpha };
  };

  it.each([
    ['sunset', 'w_300,f_webp,q_80', 'webp'],
    ['dune', 'c_fill,w_200,h_100,r_90', 'jpeg'],
    ['dune', 'c_crop,x_100,y_50,w_400,h_300', 'png'],
    ['portrait', 'c_thumb,w_120,h_160', 'avif'],
  ] as [SampleName, string, OutputFormat][])('%s %s: the same bytes as reading the header', async (name, options, format) => {
    const spec = parseSpec(options);
    const input = samples[name];
    const read = await render(input, spec, { format, limits: LIMITS });
    const stored = await render(input, spec, { format, limits: LIMITS, stored: await storedOf(input) });
    expect(stored.data.equals(read.data)).toBe(true);
    expect({ ...stored, data: null }).toEqual({ ...read, data: null });
  });

  it('a still output opens the original once: no header read for what the database holds', async () => {
    const stored = await storedOf(samples.sunset);
    const metadata = vi.spyOn(sharp.prototype, 'metadata');
    try {
      await render(samples.sunset, parseSpec('w_200'), { format: 'webp', limits: LIMITS, stored });
      expect(metadata).not.toHaveBeenCalled();
      await render(samples.sunset, parseSpec('w_200'), { format: 'webp', limits: LIMITS });
      expect(metadata).toHaveBeenCalledTimes(1);
    } finally {
      metadata.mockRestore();
    }
  });

  it('a pure re-encode still learns whether the pixels are plain 8-bit sRGB', async () => {
    for (const input of [samples.dune, await cmykJpeg()]) {
      const read = await render(input, {}, { format: 'jpeg', limits: LIMITS });
      const stored = await render(input, {}, { format: 'jpeg', limits: LIMITS, stored: await storedOf(input) });
      expect(stored.unchanged).toBe(read.unchanged);
    }
    expect((await render(samples.dune, {}, { format: 'jpeg', limits: LIMITS, stored: await storedOf(samples.dune) })).unchanged).toBe(true);
  });

  it('stored facts past MAX_INPUT_PIXELS are refused before a decode', async () => {
    const stored = { ...(await storedOf(samples.dune)), width: 20_000, height: 20_000 };
    const err = await failure(render(samples.dune, parseSpec('w_100'), { format: 'jpeg', limits: LIMITS, stored }));
    expect(err).toBeInstanceOf(TooLargeError);
  });
});
