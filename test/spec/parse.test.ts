import { describe, expect, it } from 'vitest';
import { BadOptionError } from '../../src/errors.js';
import { parseSpec } from '../../src/spec/index.js';

function optionOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (!(err instanceof BadOptionError)) throw err;
    return String(err.details.option);
  }
  throw new Error('expected a BadOptionError');
}

describe('parseSpec', () => {
  it('parses the empty string as the original', () => {
    expect(parseSpec('')).toEqual({});
  });

  it('types values', () => {
    expect(parseSpec('w_300,h_200,c_fill,g_north_east,r_-90,e_blur:2.5,e_tint:F80,bg_FFF,q_auto,f_jpg')).toEqual({
      w: 300,
      h: 200,
      c: 'fill',
      g: 'north_east',
      r: 270,
      e_blur: 2.5,
      e_tint: 'ff8800',
      bg: 'ffffff',
      q: 'auto',
      f: 'jpeg',
    });
    expect(parseSpec('a_45')).toEqual({ r: 45 });
    expect(parseSpec('e_sharpen')).toEqual({ e_sharpen: true });
    expect(parseSpec('e_sharpen:2')).toEqual({ e_sharpen: 2 });
    expect(parseSpec('rad_max')).toEqual({ rad: 'max' });
    expect(parseSpec('ar_32:18,w_10')).toEqual({ ar: { w: 16, h: 9 }, w: 10 });
    expect(parseSpec('bg_000000ff')).toEqual({ bg: '000000' });
    expect(parseSpec('bg_00000080')).toEqual({ bg: '00000080' });
  });

  it('takes the format from the extension', () => {
    expect(parseSpec('w_10', 'webp')).toEqual({ w: 10, f: 'webp' });
    expect(parseSpec('', 'jpg')).toEqual({ f: 'jpeg' });
    expect(parseSpec('f_jpeg', 'jpg')).toEqual({ f: 'jpeg' });
    expect(parseSpec('', 'JPG')).toEqual({ f: 'jpeg' });
  });

  // The bad-option table of SPEC §1, plus the rules between options.
  it.each([
    ['w_0', undefined, 'w'],
    ['w_999999', undefined, 'w'],
    ['h_8193', undefined, 'h'],
    ['q_1000', undefined, 'q'],
    ['q_0', undefined, 'q'],
    ['f_exe', undefined, 'f'],
    ['zoom_2', undefined, 'zoom'],
    ['w_1,w_2', undefined, 'w'],
    ['w_abc', undefined, 'w'],
    ['w_', undefined, 'w'],
    ['r_90,a_90', undefined, 'a'],
    ['a_90,r_90', undefined, 'r'],
    ['e_blur:3,e_blur:5', undefined, 'e_blur'],
    ['e_unknown', undefined, 'e_unknown'],
    ['fl_sideways', undefined, 'fl_sideways'],
    ['dpr_5', undefined, 'dpr'],
    ['dpr_3,w_3000', undefined, 'dpr'],
    ['ar_16:9', undefined, 'ar'],
    ['ar_16:9,w_10,h_10', undefined, 'ar'],
    ['x_5,w_10,h_10', undefined, 'x'],
    ['y_5,c_fill,w_10,h_10', undefined, 'y'],
    ['c_crop,w_10', undefined, 'c'],
    ['c_crop,w_10,h_10,dpr_2', undefined, 'dpr'],
    ['wmo_50', undefined, 'wmo'],
    ['wms_50', undefined, 'wms'],
    ['wmg_north', undefined, 'wmg'],
    ['f_png', 'webp', 'f'],
    ['f_auto', 'jpg', 'f'],
    ['w_10', 'exe', 'f'],
    ['w_10,,h_10', undefined, 'options'],
    ['w_10,', undefined, 'options'],
  ] as const)('%s (ext %s) → 400 naming %s', (options, ext, option) => {
    expect(optionOf(() => parseSpec(options, ext))).toBe(option);
  });

  it('honours a smaller MAX_OUTPUT_DIM', () => {
    expect(optionOf(() => parseSpec('w_2000', undefined, { maxOutputDim: 1000 }))).toBe('w');
    expect(parseSpec('w_1000', undefined, { maxOutputDim: 1000 })).toEqual({ w: 1000 });
  });

  it('says what is allowed', () => {
    try {
      parseSpec('q_1000');
    } catch (err) {
      expect((err as BadOptionError).toJSON()).toEqual({
        error: {
          code: 'bad_option',
          message: 'Expected integer between 1 and 100 for q but received "1000"',
          option: 'q',
          allowed: 'integer between 1 and 100',
        },
      });
    }
  });

  it('defers pair rules to the preset merge when a preset is named', () => {
    expect(parseSpec('t_card,ar_16:9')).toEqual({ t: 'card', ar: { w: 16, h: 9 } });
  });

  it('rejects absurdly long option strings', () => {
    expect(optionOf(() => parseSpec('w_1,'.repeat(1000)))).toBe('options');
    expect(optionOf(() => parseSpec(Array.from({ length: 70 }, (_, i) => `x${i}_1`).join(',')))).toBe('options');
  });
});
