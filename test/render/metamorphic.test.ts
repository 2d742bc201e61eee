import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../src/library/ingest.js';
import { registry, SPEC_KEYS, type ImageTrait, type Probe, type SpecKey } from '../../src/spec/index.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth } from '../library/helpers.js';
import { orientedJpeg, samples } from './fixtures.js';

/**
 * Metamorphic tests over the option registry, through the real delivery path (plan, cache,
 * render, the "never larger than the source" rule): for every option and every kind of image,
 * a request with the option must answer something other than the same request without it,
 * unless the registry documents why not. Small, flat-coloured sources are on purpose: they are
 * the ones whose re-encodes come out bigger than the source, where a transform used to be
 * silently dropped in favour of the source bytes.
 */

interface Kind {
  name: string;
  traits: ImageTrait[];
  frames: number;
  bytes: () => Promise<Buffer>;
}

/** A 3-stripe flag with a canton, so that every flip, mirror and turn shows. */
async function flag(): Promise<Buffer> {
  const w = 120;
  const h = 81;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const stripe = y < 27 ? [200, 16, 46] : y < 54 ? [255, 255, 255] : [0, 40, 104];
      const canton = x < 24 && y < 24 ? [0, 0, 0] : stripe;
      px.set(canton, (y * w + x) * 3);
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png({ palette: true })
    .toBuffer();
}

/** Frames with a gradient and a moving square: edges to blur, colours to change, frames that differ. */
function frames(count: number, w = 64, h = 48): Buffer {
  const px = Buffer.alloc(w * h * count * 3);
  for (let f = 0; f < count; f++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inSquare = x >= 8 + f * 10 && x < 24 + f * 10 && y >= 6 && y < 22;
        const c = inSquare ? [250, 220, 0] : [Math.round((x / w) * 255), Math.round((y / h) * 200), 90 + f * 30];
        px.set(c, ((f * h + y) * w + x) * 3);
      }
    }
  }
  return px;
}

const ANIMATION = { raw: { width: 64, height: 48 * 4, channels: 3 as const, pageHeight: 48 } };

const KINDS: Kind[] = [
  { name: 'opaque JPEG', traits: [], frames: 1, bytes: () => sharp(samples.dune).resize(120, 80).jpeg().toBuffer() },
  { name: 'alpha PNG', traits: [], frames: 1, bytes: () => sharp(samples.dragonfly).resize(120, 90).png().toBuffer() },
  { name: 'palette PNG', traits: [], frames: 1, bytes: flag },
  { name: 'CMYK JPEG', traits: [], frames: 1, bytes: () => sharp(samples.dune).resize(120, 80).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer() },
  { name: '16-bit PNG', traits: [], frames: 1, bytes: () => sharp(samples.dune).resize(120, 80).toColourspace('rgb16').png().toBuffer() },
  { name: 'EXIF-rotated JPEG', traits: [], frames: 1, bytes: orientedJpeg },
  {
    name: 'animated GIF',
    traits: ['animated', 'gif'],
    frames: 4,
    bytes: () =>
      sharp(frames(4), ANIMATION)
        .gif({ delay: [80, 80, 80, 80], loop: 0 })
        .toBuffer(),
  },
  {
    name: 'animated WebP',
    traits: ['animated'],
    frames: 4,
    bytes: () =>
      sharp(frames(4), ANIMATION)
        .webp({ delay: [80, 80, 80, 80], loop: 0, lossless: true })
        .toBuffer(),
  },
];

const CONTENT_TYPES: Record<string, string> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp', 'image/avif': 'heif', 'image/gif': 'gif' };

/** Sensible combinations: each one, minus any one of its items, must change the answer too. */
const COMBINATIONS = [
  'w_50,r_180',
  'c_fill,w_60,h_40,r_90',
  'c_fill,w_60,h_30,g_north,fl_mirror',
  'e_negate,rad_10',
  'wm_$wm,e_negate',
  'r_180,q_100',
  'e_blur:2,e_sharpen',
  'c_pad,w_100,h_100,bg_00ff00,r_45',
  'rad_max,bg_00ff00',
  'dpr_2,w_30,fl_flip',
  'c_crop,x_10,y_10,w_40,h_30,r_270',
  'rg_8:6:48:36,c_fill,w_30,h_30,r_90',
  'rg_4:4:40:40,c_pad,w_50,h_30,bg_00ff00',
  'e_sepia,e_brightness:150',
  'f_avif,q_10,w_50',
  'c_thumb,w_40,h_40,e_grayscale',
  't_$preset,fl_mirror',
];

interface Answer {
  status: number;
  error?: { code: string; option?: string };
  bytes: Buffer;
  format?: string;
  width?: number;
  height?: number;
  pages?: number;
  pixels?: Buffer;
}

let t: TestApp;
const ids = new Map<string, string>();
let wm = '';
const answers = new Map<string, Promise<Answer>>();

beforeAll(async () => {
  // Misses are the point here: no per-minute miss budget.
  t = await testApp({ RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0' });
  for (const kind of KINDS) {
    const { image } = await ingest(t.deps, await kind.bytes(), { filename: kind.name });
    ids.set(kind.name, image.id);
  }
  const mark = await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 0, g: 160, b: 255, alpha: 0.7 } } })
    .png()
    .toBuffer();
  wm = (await ingest(t.deps, mark, { filename: 'mark.png' })).image.id;
  const res = await t.request('/presets', {
    method: 'POST',
    headers: auth(t.adminKey, { 'Content-Type': 'application/json' }),
    body: JSON.stringify({ name: 'probe', options: 'e_negate,w_70' }),
  });
  expect(res.status).toBe(201);
}, 60_000);
afterAll(() => t.cleanup());

function fill(options: string): string {
  return options.replaceAll('$wm', wm).replaceAll('$preset', 'probe');
}

/** One answer per (image, options, request headers), decoded to raw RGBA of every frame. */
function answer(kind: Kind, options: string, headers: Readonly<Record<string, string>> = {}): Promise<Answer> {
  const key = `${kind.name}|${options}|${JSON.stringify(headers)}`;
  let a = answers.get(key);
  if (!a) answers.set(key, (a = fetchAnswer(kind, options, headers)));
  return a;
}

async function fetchAnswer(kind: Kind, options: string, headers: Readonly<Record<string, string>>): Promise<Answer> {
  const id = ids.get(kind.name)!;
  const res = await t.request(options ? `/img/${fill(options)}/${id}` : `/img/${id}`, { headers: auth(t.adminKey, headers) });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, bytes, error: JSON.parse(bytes.toString()).error };
  const meta = await sharp(bytes).metadata();
  const served = CONTENT_TYPES[res.headers.get('content-type') ?? ''];
  // Every output decodes to the type it is served as, in 8-bit sRGB (or grey).
  expect(meta.format, `${kind.name} ${options}: served as ${res.headers.get('content-type')}`).toBe(served);
  expect(meta.space === 'srgb' || meta.space === 'b-w', `${kind.name} ${options}: colour space ${meta.space}`).toBe(true);
  expect(meta.depth, `${kind.name} ${options}: depth`).toBe('uchar');
  const animatedOut = served === 'gif' || served === 'webp';
  if (kind.traits.includes('animated') && animatedOut) expect(meta.pages, `${kind.name} ${options}: frames kept`).toBe(kind.frames);
  const { data, info } = await sharp(bytes, { animated: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { status: 200, bytes, format: meta.format, width: info.width, height: info.height, pages: meta.pages ?? 1, pixels: data };
}

/** Pixel phases must change pixels (or size, or format); encode options must change the bytes. */
function differs(a: Answer, b: Answer, key: SpecKey): boolean {
  if (a.format !== b.format || a.width !== b.width || a.height !== b.height || a.pages !== b.pages) return true;
  const phase = registry[key].phase;
  if (phase === 'encode' || (phase === 'meta' && key !== 't')) return !a.bytes.equals(b.bytes);
  return !a.pixels!.equals(b.pixels!);
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter(Boolean).join(',');
}

const probes = SPEC_KEYS.flatMap((key) => {
  const acts = registry[key].acts;
  return 'noop' in acts ? [] : acts.map((probe): [SpecKey, Probe] => [key, probe]);
});

describe('the registry documents every option', () => {
  it.each(SPEC_KEYS)('%s has probes or a documented no-op', (key) => {
    const acts = registry[key].acts;
    if ('noop' in acts) expect(acts.noop.length).toBeGreaterThan(20);
    else {
      expect(acts.length).toBeGreaterThan(0);
      for (const probe of acts) {
        expect(probe.add.split(',').some((item) => item.startsWith(registry[key].names[0]))).toBe(true);
        if (probe.except) expect(probe.except.why.length).toBeGreaterThan(10);
      }
    }
  });
});

describe.each(KINDS)('every option changes the $name', (kind) => {
  it.each(probes.map(([key, probe]) => [`${probe.base ? `${probe.base} + ` : ''}${probe.add}`, key, probe] as const))('%s', async (_name, key, probe) => {
    // Client hints go with both requests: what differs is the option, not the headers.
    const without = await answer(kind, probe.base ?? '', probe.headers);
    const withIt = await answer(kind, join(probe.base, probe.add), probe.headers);
    const excepted = probe.except?.traits.some((trait) => kind.traits.includes(trait));
    if (excepted) {
      // A documented exception either refuses the request clearly or leaves it alone.
      expect(withIt.status === 200 || withIt.status === 400, JSON.stringify(withIt.error)).toBe(true);
      return;
    }
    expect(without.status, JSON.stringify(without.error)).toBe(200);
    expect(withIt.status, JSON.stringify(withIt.error)).toBe(200);
    expect(differs(without, withIt, key), `${probe.add} changed nothing on the ${kind.name}`).toBe(true);
  });

  it.each(COMBINATIONS)('%s: dropping any one item changes the answer', async (combo) => {
    const full = await answer(kind, combo);
    if (full.status === 400 && kind.traits.includes('animated')) {
      // Quarter and free turns are refused on animations, naming the option.
      expect(full.error?.option).toBe('r');
      return;
    }
    expect(full.status, JSON.stringify(full.error)).toBe(200);
    const items = combo.split(',');
    for (const item of items) {
      const rest = items.filter((i) => i !== item).join(',');
      const less = await answer(kind, rest);
      // Removing an item can leave an invalid request (x_ without c_crop): nothing to compare.
      if (less.status === 400 && less.error?.code === 'bad_option') continue;
      expect(less.status, `${rest}: ${JSON.stringify(less.error)}`).toBe(200);
      const key = SPEC_KEYS.find((k) => registry[k].names.some((n) => item === n || item.startsWith(`${n}${registry[k].sep}`)))!;
      // An item that is itself a documented exception for this kind (q_100 on a GIF) may change nothing.
      const acts = registry[key].acts;
      const excepted = !('noop' in acts) && acts.some((p) => p.add === item && p.except?.traits.some((tr) => kind.traits.includes(tr)));
      if (!excepted) expect(differs(less, full, key), `${combo} without ${item} answered the same on the ${kind.name}`).toBe(true);
    }
  });
});
