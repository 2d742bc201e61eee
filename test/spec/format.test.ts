import { describe, expect, it } from 'vitest';
import { chooseFormat, parseSpec } from '../../src/spec/index.js';

const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const SAFARI_OLD = 'image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5';
const OLD = 'image/png,image/*;q=0.8,*/*;q=0.5';

const jpeg = { format: 'jpeg', hasAlpha: false, animated: false };
const png = { format: 'png', hasAlpha: true, animated: false };
const gif = { format: 'gif', hasAlpha: true, animated: true };
const tiff = { format: 'tiff', hasAlpha: false, animated: false };

describe('chooseFormat', () => {
  it.each([
    ['f_auto', jpeg, CHROME, 'avif'],
    ['f_auto', jpeg, SAFARI_OLD, 'webp'],
    ['f_auto', jpeg, OLD, 'jpeg'],
    ['f_auto', png, OLD, 'png'],
    ['f_auto', png, undefined, 'png'],
    ['f_auto', jpeg, 'image/avif;q=0,image/webp', 'webp'],
    ['f_auto', gif, CHROME, 'webp'],
    ['f_auto', gif, OLD, 'gif'],
    ['f_auto', { format: 'tiff', hasAlpha: false, animated: true }, CHROME, 'avif'],
  ] as const)('%s of %o with Accept %s → %s (Vary)', (options, source, accept, format) => {
    expect(chooseFormat(parseSpec(options), source, accept)).toEqual({ format, vary: true });
  });

  it.each([
    ['', jpeg, 'jpeg'],
    ['', png, 'png'],
    ['', gif, 'gif'],
    ['', tiff, 'jpeg'],
    ['', { ...tiff, hasAlpha: true }, 'png'],
    ['', { format: 'heif', hasAlpha: false, animated: false }, 'jpeg'],
    ['', { format: 'avif', hasAlpha: false, animated: false }, 'avif'],
    ['f_webp', jpeg, 'webp'],
    ['f_jpg', png, 'jpeg'],
  ] as const)('%s of %o → %s, no Vary', (options, source, format) => {
    expect(chooseFormat(parseSpec(options), source, CHROME)).toEqual({ format, vary: false });
  });
});
