import { describe, expect, it } from 'vitest';
import { BadOptionError } from '../../src/errors.js';
import { canonicalize, mergePreset, parseSpec, signingForm } from '../../src/spec/index.js';

const canon = (options: string, ext?: string) => canonicalize(parseSpec(options, ext));

describe('canonical form', () => {
  // Each group: URLs that mean the same image, hence one cache entry.
  it.each([
    [['', 'c_fit', 'g_center', 'dpr_1', 'r_0', 'r_360', 'a_0', 'q_auto', 'e_brightness:100', 'rad_0', 'c_limit', 'g_north']],
    [['w_300,h_200', 'h_200,w_300', 'w_300,h_200,c_fit', 'w_150,h_100,dpr_2', 'ar_3:2,w_300', 'ar_6:4,w_300', 'ar_3:2,h_200']],
    [['r_90', 'a_90', 'r_-270', 'a_-270']],
    [['r_180', 'fl_flip,fl_mirror', 'fl_mirror,fl_flip,r_0']],
    [['f_jpg', 'f_jpeg', 'f_jpeg,q_auto', ''], 'jpg'],
    [['bg_FFF', 'bg_ffffff', 'bg_FFFFFF', 'bg_ffffffff']],
    [['e_tint:F80', 'e_tint:ff8800']],
    [['c_fill,w_300', 'c_scale,w_300', 'c_pad,w_300', 'c_thumb,w_300', 'w_300', 'w_300,g_north']],
    [['c_thumb,w_10,h_10', 'c_thumb,w_10,h_10,g_auto']],
    [['c_pad,w_10,h_10', 'c_pad,w_10,h_10,g_auto', 'c_pad,w_10,h_10,g_center']],
    [['e_grayscale,e_blur:3', 'e_blur:3.0,e_grayscale', 'e_blur:3,e_grayscale']],
    [['wm_logo', 'wm_logo,wmg_south_east,wmo_100']],
    [['c_crop,w_10,h_10', 'c_crop,w_10,h_10,x_0,y_0']],
    [['w_300,exp_1700000000', 'w_300,t_card', 'w_300']],
  ] as [string[], string?][])('%j share one canonical string', (group, ext) => {
    const forms = new Set(group.map((o) => canon(o, ext)));
    expect([...forms]).toHaveLength(1);
  });

  it.each([
    ['w_300', 'w_301'],
    ['w_300', 'h_300'],
    ['c_fill,w_10,h_10', 'c_fill,w_10,h_10,g_north'],
    ['c_limit,w_300', 'w_300'],
    ['r_90', 'r_270'],
    ['fl_flip', 'fl_mirror'],
    ['f_webp', 'f_avif'],
    ['bg_fff', 'bg_ffffff80'],
    ['e_sharpen', 'e_sharpen:1'],
    ['q_80', ''],
    ['wm_a', 'wm_b'],
  ])('%s and %s differ', (a, b) => {
    expect(canon(a)).not.toBe(canon(b));
  });

  it('is sorted, with defaults dropped and values normalised', () => {
    expect(canon('w_300,r_-90,f_webp,c_fit,e_blur:5,bg_ABC,dpr_2')).toBe('bg_aabbcc,e_blur:5,f_webp,r_270,w_600');
    expect(canon('')).toBe('');
  });

  it('leaves t_ and exp_ out of the pixel key but not out of the signing form', () => {
    const spec = parseSpec('w_300,exp_1700000000,t_card');
    expect(canonicalize(spec)).toBe('w_300');
    expect(signingForm(spec)).toBe('exp_1700000000,t_card,w_300');
  });
});

describe('mergePreset', () => {
  it('applies URL options over the preset and drops t_', () => {
    const preset = parseSpec('w_300,h_200,c_fill,q_70');
    const merged = mergePreset(preset, parseSpec('t_card,q_90,f_webp'));
    expect(merged).toEqual({ w: 300, h: 200, c: 'fill', q: 90, f: 'webp' });
    expect(canonicalize(merged)).toBe('c_fill,f_webp,h_200,q_90,w_300');
  });

  it('checks the pair rules on the merged spec', () => {
    expect(mergePreset(parseSpec('w_300'), parseSpec('t_card,ar_1:1'))).toEqual({ w: 300, ar: { w: 1, h: 1 } });
    expect(() => mergePreset(parseSpec(''), parseSpec('t_card,ar_1:1'))).toThrow(BadOptionError);
    expect(() => mergePreset(parseSpec('w_3000'), parseSpec('t_card,dpr_4'))).toThrow(BadOptionError);
  });
});
