import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { FIELD_MAPPINGS, parseTransform, transformSchema, transformToOptions } from '../../src/library/transform.js';
import { canonicalize, parseSpec, signingForm } from '../../src/spec/index.js';

const limits = { maxOutputDim: 8192 };

/** Each JSON field next to the URL options that mean the same image. */
const TABLE: Array<[string, unknown, string]> = [
  ['resize.width', { resize: { width: 300 } }, 'w_300'],
  ['resize.height', { resize: { height: 200 } }, 'h_200'],
  ['resize.fit', { resize: { width: 300, height: 200, fit: 'fill' } }, 'w_300,h_200,c_fill'],
  ['crop', { crop: { x: 10, y: 20, width: 100, height: 50 } }, 'rg_10:20:100:50'],
  ['rotate', { rotate: 90 }, 'r_90'],
  ['flip', { flip: true }, 'fl_flip'],
  ['mirror', { mirror: true }, 'fl_mirror'],
  ['gravity', { resize: { width: 100, height: 100, fit: 'fill' }, gravity: 'north' }, 'w_100,h_100,c_fill,g_north'],
  ['aspectRatio', { resize: { width: 320 }, aspectRatio: '16:9' }, 'w_320,ar_16:9'],
  ['dpr', { resize: { width: 300 }, dpr: 2 }, 'w_300,dpr_2'],
  ['background', { background: '#FF0000' }, 'bg_ff0000'],
  ['radius', { radius: 'max' }, 'rad_max'],
  ['watermark.image', { watermark: { image: 'logo1' } }, 'wm_logo1'],
  ['watermark.gravity', { watermark: { image: 'logo1', gravity: 'north_west' } }, 'wm_logo1,wmg_north_west'],
  ['watermark.opacity', { watermark: { image: 'logo1', opacity: 40 } }, 'wm_logo1,wmo_40'],
  ['watermark.size', { watermark: { image: 'logo1', size: 25 } }, 'wm_logo1,wms_25'],
  ['filters.grayscale', { filters: { grayscale: true } }, 'e_grayscale'],
  ['filters.sepia', { filters: { sepia: true } }, 'e_sepia'],
  ['filters.negate', { filters: { negate: true } }, 'e_negate'],
  ['filters.blur', { filters: { blur: 2.5 } }, 'e_blur:2.5'],
  ['filters.sharpen', { filters: { sharpen: 1.5 } }, 'e_sharpen:1.5'],
  ['filters.tint', { filters: { tint: 'f80' } }, 'e_tint:ff8800'],
  ['filters.brightness', { filters: { brightness: 120 } }, 'e_brightness:120'],
  ['filters.saturation', { filters: { saturation: 50 } }, 'e_saturation:50'],
  ['format', { format: 'jpg' }, 'f_jpeg'],
  ['quality', { quality: 80 }, 'q_80'],
  ['compress.quality', { compress: { quality: 60 } }, 'q_60'],
  ['preset', { preset: 'card' }, 't_card'],
];

describe('JSON transform → URL options', () => {
  it.each(TABLE)('%s gives the same spec as the URL', (_field, body, url) => {
    const { spec } = parseTransform(transformSchema.parse(body), limits);
    const fromUrl = parseSpec(url, undefined, limits);
    expect(spec).toEqual(fromUrl);
    expect(canonicalize(spec)).toBe(canonicalize(fromUrl));
    expect(signingForm(spec)).toBe(signingForm(fromUrl));
  });

  it('covers every mapped field', () => {
    expect(new Set(TABLE.map(([field]) => field))).toEqual(new Set(FIELD_MAPPINGS.map((m) => m.path)));
  });

  it('maps the SPEC example onto the URL grammar (resize is the size before the turn)', () => {
    const body = transformSchema.parse({
      resize: { width: 300, height: 200, fit: 'fill' },
      rotate: 90,
      flip: true,
      mirror: true,
      format: 'webp',
      quality: 80,
      filters: { grayscale: true, sepia: true },
    });
    const { spec } = parseTransform(body, limits);
    expect(canonicalize(spec)).toBe(canonicalize(parseSpec('w_200,h_300,c_fill,r_90,fl_flip,fl_mirror,f_webp,q_80,e_grayscale,e_sepia')));
  });

  it('a crop alone is the same image as c_crop (one canonical form, one cache entry)', () => {
    const { spec } = parseTransform(transformSchema.parse({ crop: { x: 10, y: 20, width: 100, height: 50 } }), limits);
    expect(canonicalize(spec)).toBe(canonicalize(parseSpec('c_crop,x_10,y_20,w_100,h_50')));
    expect(canonicalize(parseSpec('c_crop,w_10,h_70'))).toBe('rg_0:0:10:70');
  });

  it.each<[string, unknown, string]>([
    ['both sides: exactly that size (fill)', { resize: { width: 400, height: 300 } }, 'w_400,h_300,c_fill'],
    ['one side: keeps the ratio', { resize: { width: 400 } }, 'w_400'],
    ['an explicit fit wins', { resize: { width: 400, height: 300, fit: 'fit' } }, 'w_400,h_300'],
    ['a quarter turn after resize delivers the turned box', { resize: { width: 400, height: 300 }, rotate: 90 }, 'w_300,h_400,c_fill,r_90'],
    ['-90 is a quarter turn too', { resize: { width: 400 }, rotate: -90 }, 'h_400,r_270'],
    ['a half turn keeps the box', { resize: { width: 400, height: 300 }, rotate: 180 }, 'w_400,h_300,c_fill,r_180'],
    ['the ratio turns with the box', { resize: { width: 320 }, aspectRatio: '16:9', rotate: 270 }, 'h_320,ar_9:16,r_270'],
    ['crop, then resize', { crop: { x: 10, y: 20, width: 200, height: 200 }, resize: { width: 400, height: 300 } }, 'rg_10:20:200:200,w_400,h_300,c_fill'],
    ['format in capitals', { format: 'PNG' }, 'f_png'],
    ['watermark by id', { watermark: 'logo1' }, 'wm_logo1'],
  ])('%s', (_name, body, url) => {
    const { spec } = parseTransform(transformSchema.parse(body), limits);
    expect(canonicalize(spec)).toBe(canonicalize(parseSpec(url, undefined, limits)));
  });

  it('takes the roadmap.sh wrapper, and names wrapped fields in errors', () => {
    const wrapped = transformSchema.parse({ transformations: { resize: { width: 400, height: 300 }, filters: { grayscale: true } } });
    expect(canonicalize(parseTransform(wrapped, limits).spec)).toBe(canonicalize(parseSpec('w_400,h_300,c_fill,e_grayscale')));
    let error: unknown;
    try {
      parseTransform(transformSchema.parse({ transformations: { resize: { width: 0 } } }), limits);
    } catch (err) {
      error = err;
    }
    expect((error as AppError).details.field).toBe('transformations.resize.width');
    expect(() => parseTransform(transformSchema.parse({ rotate: 90, transformations: { rotate: 90 } }), limits)).toThrow(
      /either inside "transformations" or bare/,
    );
  });

  it('false flags add nothing', () => {
    expect(transformToOptions(transformSchema.parse({ flip: false, filters: { sepia: false, sharpen: false } }))).toBe('');
  });

  it.each<[unknown, string]>([
    [{ resize: { width: 0 } }, 'resize.width'],
    [{ resize: { width: 300.5 } }, 'resize.width'],
    [{ quality: 1000 }, 'quality'],
    [{ filters: { blur: 0.01 } }, 'filters.blur'],
    [{ rotate: 400 }, 'rotate'],
    [{ gravity: 'up' }, 'gravity'],
    [{ crop: { width: 0, height: 10 }, resize: { width: 5 } }, 'crop'],
    [{ quality: 80, compress: { quality: 60 } }, 'quality'],
    [{ resize: { width: 99999 }, rotate: 90 }, 'resize.width'],
    [{ watermark: { image: 'x', opacity: 101 } }, 'watermark.opacity'],
  ])('range errors come from the grammar and name the JSON field: %j', (body, field) => {
    let error: unknown;
    try {
      parseTransform(transformSchema.parse(body), limits);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    expect((error as AppError).code).toBe('bad_option');
    expect((error as AppError).details.field).toBe(field);
  });

  it.each<unknown>([
    { gravity: 'north,w_99999' },
    { watermark: { image: 'a/b' } },
    { background: 'red' },
    { resize: { width: '300' } },
    { unknown: 1 },
    { filters: { glow: true } },
  ])('the shape check refuses %j before any string is built', (body) => {
    expect(transformSchema.safeParse(body).success).toBe(false);
  });
});
