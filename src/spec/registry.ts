import { decimal, fail, flag, hexColour, int, num, oneOf, pattern } from './args.js';
import { quarterTurn, type JsonField, type NoJson } from './json.js';
import {
  CROP_MODES,
  GRAVITIES,
  type AspectRatio,
  type AutoWidth,
  type CompassGravity,
  type Phase,
  type Spec,
  type SpecKey,
  type ParseLimits,
  type SourceRegion,
} from './types.js';

/**
 * One entry per URL option: the spec field it fills, its URL name(s), the phase that applies
 * it, a strict argument parser, its default (never written in the canonical form), a doc line,
 * test vectors and its JSON transform field. Tests, the README table, the parser and the JSON
 * transform API all iterate this table, so an option cannot exist without a parser, docs and
 * tests. Its sharp step sits in render/ (keyed by the same name, checked complete by the
 * compiler), because this module is bundled into the browser client and never imports sharp.
 *
 * Declared in the order the JSON transform writes its steps as URL options (crop, resize,
 * rotate, …): the README lists them in this order within each phase.
 */
export interface OpDef<K extends SpecKey> {
  key: K;
  /** URL names; the first is canonical, the rest are aliases (`a_` for `r_`). */
  names: readonly string[];
  /** `_` for `w_300`; `:` for `e_blur:5` (whose name already contains `_`). */
  sep: '_' | ':';
  phase: Phase;
  syntax: string;
  doc: string;
  default?: NonNullable<Spec[K]>;
  parse(raw: string | undefined, limits: ParseLimits): NonNullable<Spec[K]>;
  /** The canonical value text, or undefined for a value-less flag (`fl_flip`, bare `e_sharpen`). */
  format(value: NonNullable<Spec[K]>): string | undefined;
  /** Whole URL items that must parse, and ones that must be rejected naming this option. */
  valid: readonly string[];
  invalid: readonly string[];
  /**
   * How the metamorphic test (test/render/metamorphic.test.ts) shows that this option acts:
   * every probe renders `base` with and without `add` on every kind of image (opaque, alpha,
   * palette, CMYK, 16-bit, EXIF-rotated, animated GIF and WebP), and the two must differ,
   * in pixels for the pixel phases and in bytes for encode. `except` documents the image
   * traits where a probe does not apply; `noop` documents an option that never changes pixels.
   * (`$wm` and `$preset` stand for a watermark image and a preset the test provides.)
   */
  acts: readonly Probe[] | { noop: string };
  /** Its field(s) in the JSON body of `POST /images/{id}/transform`, or why it has none. */
  json: JsonField | readonly JsonField[] | NoJson;
}

/** An image trait a probe can be documented not to apply to. */
export type ImageTrait = 'animated' | 'gif';

export interface Probe {
  add: string;
  base?: string;
  /** Request headers sent with and without `add` (client hints for w_auto / dpr_auto). */
  headers?: Readonly<Record<string, string>>;
  except?: { traits: readonly ImageTrait[]; why: string };
}

const ANIMATION_TURNS: Probe['except'] = { traits: ['animated'], why: 'animations turn by 180 degrees only (any other angle is a 400)' };

const probes = (list: readonly Probe[]) => list;

export type Registry = { readonly [K in SpecKey]: OpDef<K> };

const COMPASS = GRAVITIES.filter((g): g is CompassGravity => g !== 'auto' && g !== 'entropy');
const OUTPUT_NAMES = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif', 'auto'] as const;
const IMAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PRESET = /^[a-z0-9_-]{1,64}$/;
const str = (v: string) => v;

const dim = (option: 'w' | 'h') => (raw: string | undefined, limits: ParseLimits) => int(option, raw, 1, limits.maxOutputDim);

/** `w_{px}`, `w_auto` or `w_auto:{fallback px}` (resolved against the request's client hints, see spec/hints.ts). */
function autoWidth(raw: string | undefined, limits: ParseLimits): number | AutoWidth {
  if (raw === 'auto') return { auto: true };
  if (raw?.startsWith('auto:')) {
    const fallback = raw.slice('auto:'.length);
    if (!/^\d{1,12}$/.test(fallback)) fail('w', `w_auto:{px} with an integer fallback between 1 and ${limits.maxOutputDim}`, raw);
    return { auto: true, fallback: int('w', fallback, 1, limits.maxOutputDim) };
  }
  return int('w', raw, 1, limits.maxOutputDim);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function aspectRatio(raw: string | undefined): AspectRatio {
  const expected = '{w}:{h} with integers 1..10000, e.g. 16:9';
  const m = raw === undefined ? null : /^(\d{1,5}):(\d{1,5})$/.exec(raw);
  if (!m) fail('ar', expected, raw);
  const w = Number(m[1]);
  const h = Number(m[2]);
  if (w < 1 || h < 1 || w > 10000 || h > 10000) fail('ar', expected, raw);
  const d = gcd(w, h);
  return { w: w / d, h: h / d };
}

/** Source coordinates go as far as x_/y_ do: past any input the pixel limits let in. */
const MAX_SOURCE_PX = 100_000;

function region(raw: string | undefined): SourceRegion {
  const expected = `{x}:{y}:{w}:{h} in source pixels (x, y 0..${MAX_SOURCE_PX}; w, h 1..${MAX_SOURCE_PX}), e.g. 10:20:200:200`;
  const m = raw === undefined ? null : /^(\d{1,6}):(\d{1,6}):(\d{1,6}):(\d{1,6})$/.exec(raw);
  if (!m) fail('rg', expected, raw);
  const [x, y, w, h] = m.slice(1).map(Number);
  if (x > MAX_SOURCE_PX || y > MAX_SOURCE_PX || w < 1 || h < 1 || w > MAX_SOURCE_PX || h > MAX_SOURCE_PX) fail('rg', expected, raw);
  return { x, y, w, h };
}

const table = {
  rg: {
    key: 'rg',
    names: ['rg'],
    sep: '_',
    phase: 'geometry',
    syntax: 'rg_{x}:{y}:{w}:{h}',
    doc: 'Region of the (auto-oriented) source, in its pixels, cut out before every other step; w_, h_ and c_ then size what it leaves (crop, then resize). Clipped at the edges like c_crop; not combinable with c_crop.',
    parse: (raw) => region(raw),
    format: (v) => `${v.x}:${v.y}:${v.w}:${v.h}`,
    valid: ['rg_10:20:300:200', 'rg_0:0:1:1', 'rg_10:20:200:200,w_400,h_300,c_fill', 'rg_5:5:50:50,r_90,fl_flip'],
    invalid: [
      'rg_',
      'rg',
      'rg_10:20:300',
      'rg_10:20:0:5',
      'rg_-1:0:5:5',
      'rg_a:b:c:d',
      'rg_1:2:3:4:5',
      'rg_100001:0:5:5',
      'rg_1:1:5:5,c_crop,w_5,h_5',
      'rg_1:1:5:5,rg_2:2:5:5',
    ],
    json: { path: 'crop', value: 'region', doc: 'A region of the original in its pixels (rg_), cut out first; resize and the rest apply to it' },
    acts: [{ add: 'rg_4:4:30:30' }, { base: 'c_fill,w_40,h_40', add: 'rg_10:8:40:30' }, { base: 'w_40,r_90', add: 'rg_0:0:32:24', except: ANIMATION_TURNS }],
  },
  w: {
    key: 'w',
    names: ['w'],
    sep: '_',
    phase: 'geometry',
    syntax: 'w_{px} / w_auto[:{fallback}]',
    doc: 'Width of the delivered image, 1..MAX_OUTPUT_DIM (default 8192); w_auto takes it from the Sec-CH-Width (or Width) client hint, in device pixels rounded up to CLIENT_HINT_WIDTH_STEPS, and without a hint means w_{fallback} (default CLIENT_HINT_WIDTH_FALLBACK). Answers Vary on the hints.',
    parse: autoWidth,
    format: (v) => (typeof v === 'number' ? String(v) : v.fallback === undefined ? 'auto' : `auto:${v.fallback}`),
    valid: ['w_300', 'w_1', 'w_8192', 'w_auto', 'w_auto:400', 'w_auto,dpr_auto', 'w_auto:320,ar_16:9,c_fill'],
    invalid: [
      'w_0',
      'w_999999',
      'w_abc',
      'w_-5',
      'w_1.5',
      'w_',
      'w',
      'w_1e3',
      'w_0x10',
      'w_ 3',
      'w_auto:',
      'w_auto:0',
      'w_auto:99999',
      'w_AUTO',
      'w_auto:1:2',
      'w_auto,c_crop,h_10',
    ],
    // The probes send a width hint, so w_auto sizes from it; without one the fallback does.
    json: { path: 'resize.width', value: 'number', item: (v, body) => `${quarterTurn(body) ? 'h' : 'w'}_${v}` },
    acts: [{ add: 'w_50' }, { add: 'w_auto', headers: { 'Sec-CH-Width': '33' } }, { add: 'w_auto:40' }],
  },
  h: {
    key: 'h',
    names: ['h'],
    sep: '_',
    phase: 'geometry',
    syntax: 'h_{px}',
    doc: 'Height of the delivered image, 1..MAX_OUTPUT_DIM (default 8192).',
    parse: dim('h'),
    format: String,
    valid: ['h_200', 'h_1', 'h_8192'],
    invalid: ['h_0', 'h_8193', 'h_x', 'h_+3'],
    json: { path: 'resize.height', value: 'number', item: (v, body) => `${quarterTurn(body) ? 'w' : 'h'}_${v}` },
    acts: [{ add: 'h_30' }],
  },
  c: {
    key: 'c',
    names: ['c'],
    sep: '_',
    phase: 'geometry',
    syntax: 'c_{mode}',
    default: 'fit',
    doc: 'Crop mode: fit (default, inside the box), limit (fit, never upscale), fill (cover, crop the rest), scale (stretch), pad (fit, pad with bg_), crop (region x_,y_,w_,h_), thumb (fill with smart gravity).',
    parse: (raw) => oneOf('c', raw, CROP_MODES),
    format: str,
    valid: ['c_fill,w_300,h_200', 'c_fit', 'c_limit', 'c_fill', 'c_scale', 'c_pad', 'c_thumb', 'c_crop,w_10,h_10'],
    invalid: ['c_cover', 'c_', 'c_FILL'],
    json: {
      path: 'resize.fit',
      value: { enum: CROP_MODES.filter((m) => m !== 'crop') },
      doc: "Crop mode (c_). Default with both width and height: fill (cover the box, crop the overflow, as sharp's resize(w, h) does), so the result is exactly that size; with one side: fit",
      // Both sides and no fit: exactly that size (cover and crop the overflow), as roadmap.sh means it.
      implied: (body) => {
        const resize = body.resize as { width?: number; height?: number } | undefined;
        return resize?.width !== undefined && resize.height !== undefined ? 'fill' : undefined;
      },
    },
    acts: [
      { base: 'w_60,h_60', add: 'c_fill' },
      { base: 'w_60,h_60', add: 'c_pad' },
      { base: 'w_60,h_60', add: 'c_scale' },
    ],
  },
  r: {
    key: 'r',
    names: ['r', 'a'],
    sep: '_',
    phase: 'geometry',
    syntax: 'r_{deg}',
    default: 0,
    doc: 'Rotate clockwise by any integer angle -360..360 (alias a_); right angles keep w_/h_ meaning the delivered box, other angles grow the canvas, filled with bg_.',
    parse: (raw) => ((int('r', raw, -360, 360) % 360) + 360) % 360,
    format: String,
    valid: ['r_90', 'r_-45', 'a_180', 'r_360', 'r_0'],
    invalid: ['r_361', 'r_45.5', 'r_x', 'r_90,a_90'],
    json: { path: 'rotate', value: 'number', doc: 'Clockwise degrees (r_), after resize' },
    acts: [{ add: 'r_180' }, { add: 'r_90', except: ANIMATION_TURNS }, { add: 'r_270', except: ANIMATION_TURNS }, { add: 'r_45', except: ANIMATION_TURNS }],
  },
  fl_flip: {
    key: 'fl_flip',
    names: ['fl_flip'],
    sep: ':',
    phase: 'geometry',
    syntax: 'fl_flip',
    doc: 'Flip the delivered image vertically (upside down).',
    parse: (raw) => flag('fl_flip', raw),
    format: () => undefined,
    valid: ['fl_flip'],
    invalid: ['fl_flip:1', 'fl_flip,fl_flip'],
    json: { path: 'flip', value: 'flag', doc: 'Upside down, after rotate' },
    acts: [{ add: 'fl_flip' }, { base: 'r_90', add: 'fl_flip', except: ANIMATION_TURNS }],
  },
  fl_mirror: {
    key: 'fl_mirror',
    names: ['fl_mirror'],
    sep: ':',
    phase: 'geometry',
    syntax: 'fl_mirror',
    doc: 'Mirror the delivered image horizontally (left-right).',
    parse: (raw) => flag('fl_mirror', raw),
    format: () => undefined,
    valid: ['fl_mirror', 'fl_mirror,fl_flip'],
    invalid: ['fl_mirror:yes'],
    json: { path: 'mirror', value: 'flag', doc: 'Left-right, after rotate' },
    acts: [{ add: 'fl_mirror' }, { base: 'w_50', add: 'fl_mirror' }],
  },
  g: {
    key: 'g',
    names: ['g'],
    sep: '_',
    phase: 'geometry',
    syntax: 'g_{gravity}',
    default: 'center',
    doc: 'Gravity for fill/thumb/pad: center (default), north, south, east, west, north_east, north_west, south_east, south_west, auto (focal point or saliency), entropy.',
    parse: (raw) => oneOf('g', raw, GRAVITIES),
    format: str,
    valid: ['g_auto,c_fill,w_300,h_300', 'g_north', 'g_south_west', 'g_auto', 'g_entropy', 'g_center'],
    invalid: ['g_up', 'g_northeast', 'g_'],
    json: { path: 'gravity', value: 'word', doc: 'g_: center, north, …, auto, entropy' },
    acts: [
      { base: 'c_fill,w_60,h_20', add: 'g_north' },
      { base: 'c_fill,w_20,h_60', add: 'g_west' },
    ],
  },
  ar: {
    key: 'ar',
    names: ['ar'],
    sep: '_',
    phase: 'geometry',
    syntax: 'ar_{w}:{h}',
    doc: 'Aspect ratio of the box, with exactly one of w_ or h_ (the other side is derived).',
    parse: (raw) => aspectRatio(raw),
    format: (v) => `${v.w}:${v.h}`,
    valid: ['ar_16:9,w_300', 'ar_1:1,h_100'],
    invalid: ['ar_16:9', 'ar_16x9,w_10', 'ar_0:1,w_10', 'ar_16:9,w_300,h_200', 'ar_1:100,w_8000'],
    json: { path: 'aspectRatio', value: 'ratio', item: (v, body) => `ar_${quarterTurn(body) ? String(v).split(':').reverse().join(':') : v}` },
    acts: [
      { base: 'c_fill,w_60', add: 'ar_1:1' },
      { base: 'c_scale,h_40', add: 'ar_1:2' },
    ],
  },
  dpr: {
    key: 'dpr',
    names: ['dpr'],
    sep: '_',
    phase: 'geometry',
    syntax: 'dpr_{n} / dpr_auto',
    default: 1,
    doc: 'Device pixel ratio 1..4 (decimals allowed); multiplies w_ and h_. dpr_auto takes it from the Sec-CH-DPR (or DPR) client hint, rounded up to CLIENT_HINT_DPR_STEPS (1 without a hint), and answers Content-DPR; a w_auto width hint already counts device pixels, so then only h_ is multiplied.',
    parse: (raw) => (raw === 'auto' ? 'auto' : decimal('dpr', raw, 1, 4)),
    format: (v) => (v === 'auto' ? v : num(v)),
    valid: ['dpr_2,w_300', 'dpr_1.5,w_100', 'dpr_4', 'dpr_auto,w_300', 'dpr_auto,h_100,w_auto'],
    invalid: ['dpr_0', 'dpr_5', 'dpr_0.5', 'dpr_2,w_5000', 'dpr_x', 'dpr_Auto', 'dpr_auto:2', 'dpr_auto,c_crop,w_5,h_5'],
    json: { path: 'dpr', value: 'number' },
    // Typed here: two header objects of different keys would otherwise widen into optional ones.
    acts: probes([
      { base: 'w_40', add: 'dpr_2' },
      { base: 'w_40', add: 'dpr_auto', headers: { 'Sec-CH-DPR': '1.5' } },
      { base: 'w_auto,h_30,c_fill', add: 'dpr_auto', headers: { 'Sec-CH-Width': '60', 'Sec-CH-DPR': '2' } },
    ]),
  },
  x: {
    key: 'x',
    names: ['x'],
    sep: '_',
    phase: 'geometry',
    syntax: 'x_{px}',
    default: 0,
    doc: 'Left edge of the c_crop region, in pixels of the (auto-oriented) original.',
    parse: (raw) => int('x', raw, 0, 100_000),
    format: String,
    valid: ['c_crop,x_10,y_20,w_300,h_200', 'x_10,c_crop,w_10,h_10', 'x_0,c_crop,w_5,h_5'],
    invalid: ['x_10', 'x_-1,c_crop,w_1,h_1', 'x_a,c_crop,w_1,h_1'],
    json: { none: "c_crop's corner: the JSON crop is rg_, the same region in one field" },
    acts: [{ base: 'c_crop,w_30,h_30', add: 'x_20' }],
  },
  y: {
    key: 'y',
    names: ['y'],
    sep: '_',
    phase: 'geometry',
    syntax: 'y_{px}',
    default: 0,
    doc: 'Top edge of the c_crop region, in pixels of the (auto-oriented) original.',
    parse: (raw) => int('y', raw, 0, 100_000),
    format: String,
    valid: ['c_crop,x_10,y_20,w_300,h_200', 'y_10,c_crop,w_10,h_10'],
    invalid: ['y_10,w_10', 'y_1.5,c_crop,w_1,h_1'],
    json: { none: "c_crop's corner: the JSON crop is rg_, the same region in one field" },
    acts: [{ base: 'c_crop,w_30,h_30', add: 'y_15' }],
  },
  bg: {
    key: 'bg',
    names: ['bg'],
    sep: '_',
    phase: 'canvas',
    syntax: 'bg_{hex}',
    doc: 'Background colour (rgb, rrggbb or rrggbbaa hex) for pad, rotation, rounded corners and alpha flattening; without it: transparent where the format allows, else white.',
    parse: (raw) => hexColour('bg', raw, true),
    format: str,
    valid: ['bg_ff0000,c_pad,w_300,h_300', 'bg_fff', 'bg_FF0000', 'bg_00000080'],
    invalid: ['bg_red', 'bg_ff', 'bg_fffff', 'bg_#fff'],
    json: { path: 'background', value: 'colour' },
    acts: [
      { base: 'c_pad,w_100,h_100', add: 'bg_ff0000' },
      { base: 'r_30', add: 'bg_00ff0080', except: ANIMATION_TURNS },
    ],
  },
  rad: {
    key: 'rad',
    names: ['rad'],
    sep: '_',
    phase: 'canvas',
    syntax: 'rad_{px} / rad_max',
    default: 0,
    doc: 'Rounded corners of radius px, or rad_max for a circle/ellipse; transparent where the format allows, else bg_ (default white).',
    parse: (raw, limits) => (raw === 'max' ? 'max' : int('rad', raw, 0, limits.maxOutputDim)),
    format: (v) => String(v),
    valid: ['rad_20', 'rad_max,c_fill,w_200,h_200', 'rad_max', 'rad_0'],
    invalid: ['rad_', 'rad_min', 'rad_-2', 'rad_99999'],
    json: { path: 'radius', value: 'number-or-max' },
    acts: [{ add: 'rad_20' }, { add: 'rad_max' }],
  },
  wm: {
    key: 'wm',
    names: ['wm'],
    sep: '_',
    phase: 'watermark',
    syntax: 'wm_{imageId}',
    doc: 'Watermark: composite another library image over the result.',
    parse: (raw) => pattern('wm', raw, IMAGE_ID, 'an image id of 1..64 characters [A-Za-z0-9_-]'),
    format: str,
    valid: ['wm_logo', 'wm_a-B_9'],
    invalid: ['wm_', 'wm_a.b', `wm_${'x'.repeat(65)}`],
    json: { path: 'watermark.image', value: 'word', required: true, shorthand: true },
    acts: [{ add: 'wm_$wm' }],
  },
  wmg: {
    key: 'wmg',
    names: ['wmg'],
    sep: '_',
    phase: 'watermark',
    syntax: 'wmg_{gravity}',
    default: 'south_east',
    doc: 'Watermark position: a compass gravity (default south_east).',
    parse: (raw) => oneOf('wmg', raw, COMPASS),
    format: str,
    valid: ['wm_logo,wmg_north', 'wmg_center,wm_logo'],
    invalid: ['wmg_north', 'wmg_auto,wm_logo'],
    json: { path: 'watermark.gravity', value: 'word' },
    acts: [{ base: 'wm_$wm,wms_30', add: 'wmg_north_west' }],
  },
  wmo: {
    key: 'wmo',
    names: ['wmo'],
    sep: '_',
    phase: 'watermark',
    syntax: 'wmo_{0..100}',
    default: 100,
    doc: 'Watermark opacity in percent (default 100).',
    parse: (raw) => int('wmo', raw, 0, 100),
    format: String,
    valid: ['wm_logo,wmo_50', 'wmo_0,wm_logo'],
    invalid: ['wmo_50', 'wmo_101,wm_logo'],
    json: { path: 'watermark.opacity', value: 'number' },
    acts: [{ base: 'wm_$wm', add: 'wmo_40' }],
  },
  wms: {
    key: 'wms',
    names: ['wms'],
    sep: '_',
    phase: 'watermark',
    syntax: 'wms_{1..100}',
    doc: 'Watermark width in percent of the output width (default: natural size, shrunk to fit).',
    parse: (raw) => int('wms', raw, 1, 100),
    format: String,
    valid: ['wm_logo,wms_25'],
    invalid: ['wms_25', 'wms_0,wm_logo', 'wms_101,wm_logo'],
    json: { path: 'watermark.size', value: 'number' },
    acts: [{ base: 'wm_$wm', add: 'wms_20' }],
  },
  e_grayscale: {
    key: 'e_grayscale',
    names: ['e_grayscale'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_grayscale',
    doc: 'Convert to shades of grey.',
    parse: (raw) => flag('e_grayscale', raw),
    format: () => undefined,
    valid: ['e_grayscale', 'e_grayscale,e_blur:3'],
    invalid: ['e_grayscale:1'],
    json: { path: 'filters.grayscale', value: 'flag' },
    acts: [{ add: 'e_grayscale' }],
  },
  e_sepia: {
    key: 'e_sepia',
    names: ['e_sepia'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_sepia',
    doc: 'Sepia toning.',
    parse: (raw) => flag('e_sepia', raw),
    format: () => undefined,
    valid: ['e_sepia'],
    invalid: ['e_sepia:50'],
    json: { path: 'filters.sepia', value: 'flag' },
    acts: [{ add: 'e_sepia' }],
  },
  e_negate: {
    key: 'e_negate',
    names: ['e_negate'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_negate',
    doc: 'Invert the colours (alpha is kept).',
    parse: (raw) => flag('e_negate', raw),
    format: () => undefined,
    valid: ['e_negate'],
    invalid: ['e_negate:true'],
    json: { path: 'filters.negate', value: 'flag' },
    acts: [{ add: 'e_negate' }],
  },
  e_blur: {
    key: 'e_blur',
    names: ['e_blur'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_blur:{sigma}',
    doc: 'Gaussian blur, sigma 0.3..100.',
    // Not sharp's 1000: libvips' cost explodes past ~250 (12 MP: sigma 100 takes 1.3 s, 300 takes 244 s),
    // and a render cannot be interrupted, so a few such URLs would hold every render slot for minutes.
    parse: (raw) => decimal('e_blur', raw, 0.3, 100),
    format: num,
    valid: ['e_blur:5', 'e_blur:0.3', 'e_blur:100'],
    invalid: ['e_blur', 'e_blur:0.1', 'e_blur:101', 'e_blur:3,e_blur:5', 'e_blur_5'],
    json: { path: 'filters.blur', value: 'number' },
    acts: [{ add: 'e_blur:3' }],
  },
  e_sharpen: {
    key: 'e_sharpen',
    names: ['e_sharpen'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_sharpen[:{sigma}]',
    doc: "Sharpen: bare for a fast mild sharpen, or with a gaussian sigma 0.000001..10 (sharp's bounds).",
    parse: (raw) => (raw === undefined ? true : decimal('e_sharpen', raw, 0.000001, 10)),
    format: (v) => (v === true ? undefined : num(v)),
    valid: ['e_sharpen', 'e_sharpen:2', 'e_sharpen:0.5'],
    invalid: ['e_sharpen:11', 'e_sharpen:0', 'e_sharpen:'],
    json: { path: 'filters.sharpen', value: 'flag-or-number' },
    acts: [{ add: 'e_sharpen' }, { add: 'e_sharpen:2' }],
  },
  e_tint: {
    key: 'e_tint',
    names: ['e_tint'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_tint:{hex}',
    doc: 'Tint with a colour (rgb or rrggbb hex), keeping luminance: the image in shades of that colour (with e_grayscale, the same).',
    parse: (raw) => hexColour('e_tint', raw, false),
    format: str,
    valid: ['e_tint:ff8800', 'e_tint:F80'],
    invalid: ['e_tint', 'e_tint:ff88', 'e_tint:gg0000', 'e_tint:ff880080'],
    json: { path: 'filters.tint', value: 'colour' },
    acts: [{ add: 'e_tint:ff8800' }],
  },
  e_brightness: {
    key: 'e_brightness',
    names: ['e_brightness'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_brightness:{pct}',
    default: 100,
    doc: 'Brightness in percent 0..500 (100 = unchanged).',
    parse: (raw) => int('e_brightness', raw, 0, 500),
    format: String,
    valid: ['e_brightness:120', 'e_brightness:0', 'e_brightness:100'],
    invalid: ['e_brightness', 'e_brightness:501', 'e_brightness:-1'],
    json: { path: 'filters.brightness', value: 'number' },
    acts: [{ add: 'e_brightness:150' }, { add: 'e_brightness:50' }],
  },
  e_saturation: {
    key: 'e_saturation',
    names: ['e_saturation'],
    sep: ':',
    phase: 'effects',
    syntax: 'e_saturation:{pct}',
    default: 100,
    doc: 'Saturation in percent 0..500 (100 = unchanged, 0 = grey).',
    parse: (raw) => int('e_saturation', raw, 0, 500),
    format: String,
    valid: ['e_saturation:50', 'e_saturation:200'],
    invalid: ['e_saturation:abc', 'e_saturation:600'],
    json: { path: 'filters.saturation', value: 'number' },
    acts: [{ add: 'e_saturation:20' }],
  },
  f: {
    key: 'f',
    names: ['f'],
    sep: '_',
    phase: 'encode',
    syntax: 'f_{format}',
    doc: 'Output format: jpg (= jpeg), png, webp, avif, gif, or auto (best the client accepts; answers Vary: Accept). `.{ext}` on the id is a shorthand.',
    parse: (raw) => {
      const f = oneOf('f', raw, OUTPUT_NAMES);
      return f === 'jpg' ? 'jpeg' : f;
    },
    format: str,
    valid: ['f_auto', 'f_jpg', 'f_jpeg', 'f_png', 'f_webp', 'f_avif', 'f_gif'],
    invalid: ['f_exe', 'f_tiff', 'f_', 'f_WEBP'],
    json: { path: 'format', value: { enum: OUTPUT_NAMES, anyCase: true }, doc: 'Output format (f_), any case' },
    acts: [{ add: 'f_avif' }],
  },
  q: {
    key: 'q',
    names: ['q'],
    sep: '_',
    phase: 'encode',
    syntax: 'q_{1..100} / q_auto',
    default: 'auto',
    doc: 'Quality 1..100, or q_auto (default) for a sensible per-format quality.',
    parse: (raw) => (raw === 'auto' ? 'auto' : int('q', raw, 1, 100)),
    format: (v) => String(v),
    valid: ['q_80', 'q_1', 'q_100', 'q_auto'],
    invalid: ['q_0', 'q_1000', 'q_best', 'q_50.5'],
    // Sized, so the bytes are a real re-encode: a pure re-encode that comes out bigger than the source is answered with the source.
    json: [
      { path: 'quality', value: 'number-or-auto', doc: 'q_: 1..100 or auto' },
      { path: 'compress.quality', value: 'number-or-auto', required: true },
    ],
    acts: [
      { base: 'f_webp', add: 'q_10' },
      { base: 'w_50', add: 'q_100', except: { traits: ['gif'], why: 'GIF has no quality setting: q_ changes nothing there' } },
    ],
  },
  t: {
    key: 't',
    names: ['t'],
    sep: '_',
    phase: 'meta',
    syntax: 't_{preset}',
    doc: 'A named preset (stored list of options); URL options override it.',
    parse: (raw) => pattern('t', raw, PRESET, 'a preset name of 1..64 characters [a-z0-9_-]'),
    format: str,
    valid: ['t_card', 't_hero-2x'],
    invalid: ['t_', 't_Card', 't_a.b'],
    json: { path: 'preset', value: 'word', doc: 'A named preset (t_); the other fields override it' },
    acts: [{ add: 't_$preset' }],
  },
  exp: {
    key: 'exp',
    names: ['exp'],
    sep: '_',
    phase: 'meta',
    syntax: 'exp_{unixSeconds}',
    doc: 'Expiry (unix seconds); only meaningful in signed URLs.',
    parse: (raw) => int('exp', raw, 0, 99_999_999_999),
    format: String,
    valid: ['exp_1700000000', 'exp_0'],
    invalid: ['exp_-1', 'exp_soon', 'exp_1.5'],
    json: { none: 'The expiry of a signed URL; a JSON transform is an authenticated call, with nothing to expire' },
    acts: { noop: 'The lifetime of a signed URL; it never changes the image (and is not part of the cache key).' },
  },
} satisfies Registry;

export const registry: Registry = table;

/** The spec keys whose entry is applied in phase P: what a render step's table must cover (checked by the compiler). */
export type KeysInPhase<P extends Phase> = { [K in SpecKey]: (typeof table)[K]['phase'] extends P ? K : never }[SpecKey];

/** Spec keys in the order they are declared above (the order the docs list them). */
export const DECLARED_KEYS = Object.keys(registry) as SpecKey[];

/** Spec keys in canonical (alphabetical) order. */
export const SPEC_KEYS = (Object.keys(registry) as SpecKey[]).sort();

/** URL name (including aliases) → spec key. */
export const NAME_TO_KEY: ReadonlyMap<string, SpecKey> = new Map(SPEC_KEYS.flatMap((key) => registry[key].names.map((name): [string, SpecKey] => [name, key])));

export function opDef<K extends SpecKey>(key: K): OpDef<K> {
  return registry[key];
}

/** True when `value` is the option's default: absent from the canonical form, and nothing for a step to do. */
export function isDefault<K extends SpecKey>(key: K, value: NonNullable<Spec[K]>): boolean {
  const def = opDef(key);
  return def.default !== undefined && def.format(value) === def.format(def.default);
}

/** `w_300`, `e_blur:5`, `fl_flip`: one canonical URL item, or undefined when the value is the default. */
export function formatItem<K extends SpecKey>(key: K, value: NonNullable<Spec[K]>): string | undefined {
  const def = opDef(key);
  if (isDefault(key, value)) return undefined;
  const text = def.format(value);
  return text === undefined ? def.names[0] : `${def.names[0]}${def.sep}${text}`;
}
