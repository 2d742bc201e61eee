import { describe, expect, it } from 'vitest';
import { BadOptionError, OutputTooLargeError } from '../../src/errors.js';
import { parseSpec, planGeometry } from '../../src/spec/index.js';

const SUNSET = { width: 4272, height: 2848 };
const PORTRAIT = { width: 2056, height: 3088 };

describe('planGeometry', () => {
  it.each([
    ['', SUNSET, 4272, 2848],
    ['w_300', SUNSET, 300, 200],
    ['h_200', SUNSET, 300, 200],
    ['w_300,h_300', SUNSET, 300, 200],
    ['w_300,r_90', SUNSET, 300, 450],
    ['w_300,r_270', SUNSET, 300, 450],
    ['w_300,r_180', SUNSET, 300, 200],
    ['c_fill,w_200,h_200', SUNSET, 200, 200],
    ['c_thumb,w_200,h_100,r_90', SUNSET, 200, 100],
    ['c_scale,w_100,h_100', SUNSET, 100, 100],
    ['c_pad,w_300,h_300', SUNSET, 300, 300],
    ['c_limit,w_8000', SUNSET, 4272, 2848],
    ['c_limit,w_300', SUNSET, 300, 200],
    ['c_limit,w_8000', PORTRAIT, 2056, 3088],
    ['dpr_2,w_150', SUNSET, 300, 200],
    ['dpr_1.5,w_200', SUNSET, 300, 200],
    ['ar_16:9,w_320,c_fill', SUNSET, 320, 180],
    ['ar_1:1,h_100,c_fill', PORTRAIT, 100, 100],
    ['c_crop,x_10,y_20,w_100,h_50', SUNSET, 100, 50],
    ['c_crop,x_10,y_20,w_100,h_50,r_90', SUNSET, 50, 100],
    ['c_crop,x_4200,y_2800,w_100,h_100', SUNSET, 72, 48],
    ['w_300,r_45', SUNSET, 354, 354],
    ['w_100,h_100,c_fill,r_30', SUNSET, 137, 137],
  ] as const)('%s of %o → %ix%i', (options, source, width, height) => {
    expect(planGeometry(parseSpec(options), source)).toEqual({ width, height });
  });

  it('refuses a named side whose implied side passes the caps, rather than delivering another size', () => {
    // 8000x12016: before, a 5454x8192 nobody asked for (test/spec/size-caps.test.ts has the class).
    expect(() => planGeometry(parseSpec('w_8000'), PORTRAIT)).toThrow(OutputTooLargeError);
  });

  it('refuses a crop region outside the image', () => {
    expect(() => planGeometry(parseSpec('c_crop,x_5000,w_10,h_10'), SUNSET)).toThrow(BadOptionError);
  });
});
