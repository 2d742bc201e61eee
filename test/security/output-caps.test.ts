import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { TooLargeError, UnsupportedMediaError } from '../../src/errors.js';
import { ingest } from '../../src/library/ingest.js';
import { probe } from '../../src/render/index.js';
import { readHeader } from '../../src/render/steps/load.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth } from '../library/helpers.js';
import { animatedGif } from '../render/fixtures.js';

/**
 * Output caps hold for the final canvas, whatever grows it (rotation, padding, dpr_, a
 * preset), on every path that renders, and are decided by the planner before a byte of the
 * original is read. Input limits say what they measured.
 */

const KEY = { kid: 'k1', secret: 'caps-secret-0123456789abcdef' };

interface ErrorBody {
  error: { code: string; message: string; limit?: string; max?: number; width?: number; height?: number; frames?: number };
}

let t: TestApp;
let id: string;
let gifId: string;

beforeAll(async () => {
  t = await testApp({ SIGNING_KEYS: `${KEY.kid}:${KEY.secret}`, RATE_LIMIT_MISS_PER_MIN: '0', MAX_ANIMATION_PIXELS: '100000' });
  id = await t.seed('dune-2mp.jpg'); // 1680x1050
  gifId = (await ingest(t.deps, await animatedGif(4), { filename: 'anim.gif' })).image.id; // 4 frames of 64x48
  t.deps.db.$client.prepare("INSERT INTO presets (name, options) VALUES ('tilted', 'c_scale,w_8192,h_8192,r_45')").run();
});
afterAll(() => t.cleanup());

const json = (body: unknown) => ({ method: 'POST', headers: auth(t.adminKey, { 'Content-Type': 'application/json' }), body: JSON.stringify(body) });

/** Every surface that plans a render, given the same oversized options. */
const PATHS: Array<[string, (options: string) => Promise<Response>]> = [
  ['GET /img', (o) => t.request(`/img/${o}/${id}`, { headers: auth(t.adminKey) })],
  ['GET /img dry run (.json)', (o) => t.request(`/img/${o}/${id}.json`, { headers: auth(t.adminKey) })],
  ['a signed URL', (o) => t.request(signedImagePath(id, o, KEY))],
  ['HEAD /img', (o) => t.request(`/img/${o}/${id}`, { method: 'HEAD', headers: auth(t.adminKey) })],
  ['/random with options', (o) => t.request(`/random/${o}?redirect=0`, { headers: auth(t.adminKey) })],
];

/** Each grows the canvas a different way; each would have produced the size shown. */
const OVERSIZED: Array<[string, string, number, number]> = [
  ['c_scale,w_8192,h_8192,r_45', 'MAX_OUTPUT_DIM', 11585, 11585],
  ['c_pad,w_8192,h_8192', 'MAX_OUTPUT_PIXELS', 8192, 8192],
  ['c_fill,w_8000,h_8000,rad_20', 'MAX_OUTPUT_PIXELS', 8000, 8000],
  ['dpr_4,c_scale,w_2000,h_2000,r_30', 'MAX_OUTPUT_DIM', 10928, 10928],
  ['c_fill,w_7500,h_7500,wm_x', 'MAX_OUTPUT_PIXELS', 7500, 7500],
  ['c_thumb,w_7100,h_7100', 'MAX_OUTPUT_PIXELS', 7100, 7100],
  ['c_fill,w_8000,h_6000,r_10', 'MAX_OUTPUT_DIM', 8920, 7298],
  ['c_fill,w_8000,h_6000,fl_flip,r_-10', 'MAX_OUTPUT_DIM', 8920, 7298],
];

/**
 * A named side is delivered as named or refused: the side it implies (from this 1680x1050
 * source, so not through /random) is not quietly shrunk to fit.
 */
const IMPLIED: typeof OVERSIZED = [
  ['h_8000', 'MAX_OUTPUT_DIM', 12800, 8000],
  ['c_pad,h_8000', 'MAX_OUTPUT_DIM', 12800, 8000],
  ['dpr_2,h_3000', 'MAX_OUTPUT_DIM', 9600, 6000],
];
const CELLS = [
  ...PATHS.flatMap(([name, call]) => OVERSIZED.map(([options, limit, w, h]) => [name, options, limit, w, h, call] as const)),
  ...PATHS.filter(([name]) => !name.startsWith('/random')).flatMap(([name, call]) =>
    IMPLIED.map(([options, limit, w, h]) => [name, options, limit, w, h, call] as const),
  ),
];

describe('output caps hold after every geometry step, on every path', () => {
  it.each(CELLS)('%s %s → 400 naming %s', async (_name, options, limit, width, height, call) => {
    // wm_ needs an image the caller can see; a 1x1 logo keeps the canvas the only thing too big.
    const opts = options.replace('wm_x', `wm_${id}`);
    const res = await call(opts);
    expect(res.status).toBe(400);
    const text = await res.text();
    if (text) {
      const { error } = JSON.parse(text) as ErrorBody;
      expect(error.code).toBe('output_too_large');
      expect(error.limit).toBe(limit);
      expect({ width: error.width, height: error.height }).toEqual({ width, height });
      expect(error.message).toContain(limit);
    }
  });

  it.each<[string, unknown, string]>([
    ['resize scale + rotate 45', { resize: { width: 8192, height: 8192, fit: 'scale' }, rotate: 45 }, 'MAX_OUTPUT_DIM'],
    ['resize pad 8192', { resize: { width: 8192, height: 8192, fit: 'pad' } }, 'MAX_OUTPUT_PIXELS'],
    ['resize fill + rotate 10', { resize: { width: 8000, height: 6000, fit: 'fill' }, rotate: 10 }, 'MAX_OUTPUT_DIM'],
  ])('the JSON transform API, sync and async: %s', async (_name, body, limit) => {
    for (const query of ['', '?async=1']) {
      const res = await t.request(`/images/${id}/transform${query}`, json(body));
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as ErrorBody).error.limit).toBe(limit);
    }
  });

  it('a preset that grows the canvas is refused the same way', async () => {
    const res = await t.request(`/img/t_tilted/${id}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.limit).toBe('MAX_OUTPUT_DIM');
  });

  it('is decided before the original is read: with the original gone it is still a 400, not a 500', async () => {
    const other = await t.seed('friends-portrait.jpg');
    const row = t.deps.db.$client.prepare('SELECT hash FROM images WHERE id = ?').get(other) as { hash: string };
    const originals = path.join(t.deps.config.dataDir, 'originals');
    const file = (fs.readdirSync(originals, { recursive: true }) as string[]).find((f) => f.includes(row.hash))!;
    fs.rmSync(path.join(originals, file));
    const res = await t.request(`/img/c_scale,w_8192,h_8192,r_45/${other}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
  });

  it('within the caps the same shapes still render, at the planned size', async () => {
    for (const options of ['c_scale,w_800,h_800,r_45', 'c_pad,w_600,h_600', 'dpr_2,w_300,r_30']) {
      const dry = (await (await t.request(`/img/${options}/${id}.json`, { headers: auth(t.adminKey) })).json()) as {
        output: { format: string; width: number; height: number };
      };
      const res = await t.request(`/img/${options}/${id}`, { headers: auth(t.adminKey) });
      expect(res.status).toBe(200);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual(dry.output);
    }
  });
});

describe('the image scaled to cover a c_fill/c_thumb box is capped too', () => {
  let strip: string;
  beforeAll(async () => {
    // A few KB: 20x2000. Covering a 1500x1 box scales it to 1500x150000 (225 MP) before the crop.
    const bytes = await sharp({ create: { width: 20, height: 2000, channels: 3, background: '#3366aa' } })
      .png()
      .toBuffer();
    strip = (await ingest(t.deps, bytes, { filename: 'strip.png' })).image.id;
  });

  it.each(['c_fill,w_1500,h_1,g_auto', 'c_fill,w_1,h_1500,r_90', 'c_thumb,w_600,h_1', 'c_fill,w_1500,h_1,g_entropy', 'c_fill,w_1500,h_1'])(
    '%s → 400 before any render',
    async (options) => {
      const res = await t.request(`/img/${options}/${strip}`, { headers: auth(t.adminKey) });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as ErrorBody;
      expect(error.code).toBe('output_too_large');
      expect(error.message).toContain('to cover the box');
    },
  );

  it('an animation counts every covered frame (MAX_ANIMATION_PIXELS)', async () => {
    const res = await t.request(`/img/c_fill,w_600,h_1/${gifId}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.limit).toBe('MAX_ANIMATION_PIXELS');
  });

  it('ordinary fills are untouched', async () => {
    expect((await t.request(`/img/c_fill,w_20,h_20,g_auto/${strip}`, { headers: auth(t.adminKey) })).status).toBe(200);
    expect((await t.request(`/img/c_fill,w_600,h_400,g_auto/${id}`, { headers: auth(t.adminKey) })).status).toBe(200);
  });
});

describe("a policy token's width range holds for the delivered width, not only w_", () => {
  it.each(['w_400,h_4000,c_scale,r_80', 'w_400,h_3000,c_scale,r_30', 'w_400,h_400,c_fill,r_45'])('%s → 403', async (options) => {
    const mint = await t.request('/sign', json({ id, policy: { width: { max: 400 } } }));
    expect(mint.status).toBe(200);
    const { token } = (await mint.json()) as { token: string };
    const res = await t.request(`/img/${options}/${id}?token=${token}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error.code).toBe('outside_policy');
    expect((await t.request(`/img/w_400/${id}?token=${token}`)).status).toBe(200);
  });
});

describe('a request that names no size is fitted into the caps, never refused', () => {
  let small: TestApp;
  let big: string;
  beforeAll(async () => {
    small = await testApp({ MAX_OUTPUT_DIM: '1000', MAX_OUTPUT_PIXELS: '500000' });
    big = await small.seed('dune-2mp.jpg');
  });
  afterAll(() => small.cleanup());

  it.each(['', 'r_45', 'r_90', 'e_sepia', 'fl_flip,r_30', 'f_png'])('%s', async (options) => {
    const res = await small.request(options ? `/img/${options}/${big}` : `/img/${big}`, { headers: auth(small.adminKey) });
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(1000);
    expect(meta.width! * meta.height!).toBeLessThanOrEqual(500_000);
  });

  it('while a size that is asked for and too big is a 400', async () => {
    const res = await small.request(`/img/c_scale,w_1000,h_1000/${big}`, { headers: auth(small.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.limit).toBe('MAX_OUTPUT_PIXELS');
  });
});

describe('animation work is bounded by frames x output pixels (MAX_ANIMATION_PIXELS=100000 here)', () => {
  it('an animated output over the budget is a 400 naming the frames and the size', async () => {
    const res = await t.request(`/img/w_200/${gifId}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error).toMatchObject({ code: 'output_too_large', limit: 'MAX_ANIMATION_PIXELS', max: 100_000, width: 200, height: 150, frames: 4 });
    expect(error.message).toContain('4 frames of 200x150');
  });

  it.each(['r_90', 'r_45', 'r_270,fl_mirror', 'w_40,r_-45,bg_00ff0080'])(
    'the dry run refuses %s on an animation exactly as the render does',
    async (options) => {
      const dry = await t.request(`/img/${options}/${gifId}.json`, { headers: auth(t.adminKey) });
      const real = await t.request(`/img/${options}/${gifId}`, { headers: auth(t.adminKey) });
      expect([dry.status, real.status]).toEqual([400, 400]);
      expect(((await dry.json()) as { error: { option: string } }).error.option).toBe('r');
      // A still output of the same animation turns fine, and r_180 keeps every frame.
      expect((await t.request(`/img/${options},f_png/${gifId}`, { headers: auth(t.adminKey) })).status).toBe(200);
      expect((await t.request(`/img/r_180/${gifId}.json`, { headers: auth(t.adminKey) })).status).toBe(200);
    },
  );

  it('the same size as a still (one frame) is fine', async () => {
    for (const options of ['w_200,f_png', 'w_200,f_jpg', 'w_200,f_avif']) {
      expect((await t.request(`/img/${options}/${gifId}`, { headers: auth(t.adminKey) })).status, options).toBe(200);
    }
  });

  it('inside the budget every frame is rendered', async () => {
    const res = await t.request(`/img/w_150/${gifId}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(200);
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).pages).toBe(4);
  });

  it('f_webp and f_auto of an animation count frames too', async () => {
    expect((await t.request(`/img/w_200,f_webp/${gifId}`, { headers: auth(t.adminKey) })).status).toBe(400);
    expect((await t.request(`/img/w_200,f_auto/${gifId}`, { headers: auth(t.adminKey, { Accept: 'image/webp' }) })).status).toBe(400);
  });
});

/** A PNG whose header declares width x height, with a token IDAT: enough for every header read. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('MAX_INPUT_PIXELS is the one input limit', () => {
  it("header reads are not capped by sharp's own 268 MP default: 300 MP can be allowed", async () => {
    const header = await readHeader(pngHeader(20000, 15000));
    expect({ width: header.width, height: header.height }).toEqual({ width: 20000, height: 15000 });
  });

  it('past the limit, the error says what was measured, the limit and the variable', async () => {
    const err = await probe(pngHeader(20000, 15000), { maxInputPixels: 100_000_000, maxFrames: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooLargeError);
    const e = err as TooLargeError;
    expect(e.message).toContain('20000x15000');
    expect(e.message).toContain('MAX_INPUT_PIXELS');
    expect(e.details).toMatchObject({ limit: 'MAX_INPUT_PIXELS', max: 100_000_000, width: 20000, height: 15000, pixels: 300_000_000 });
  });

  it('an upload over the limit is a 413 that says so, over HTTP', async () => {
    const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey, { 'Content-Type': 'image/png' }), body: pngHeader(20000, 15000) });
    expect(res.status).toBe(413);
    const { error } = (await res.json()) as ErrorBody & { error: { pixels: number } };
    expect(error).toMatchObject({ limit: 'MAX_INPUT_PIXELS', width: 20000, height: 15000 });
  });

  it('the frames limit names its variable and the count', async () => {
    const err = (await probe(await animatedGif(5), { maxInputPixels: 100_000_000, maxFrames: 3 }).catch((e: unknown) => e)) as TooLargeError;
    expect(err.message).toContain('5 frames');
    expect(err.details).toMatchObject({ limit: 'MAX_FRAMES', max: 3, frames: 5 });
  });
});

describe('formats libvips here cannot read are named', () => {
  it.each<[string, Buffer]>([
    ['JPEG 2000', Buffer.concat([Buffer.from('0000000c6a5020200d0a870a00000014667479706a703220', 'hex'), Buffer.alloc(200)])],
    ['JPEG 2000', Buffer.concat([Buffer.from('ff4fff51002f0000', 'hex'), Buffer.alloc(200)])],
    ['JPEG XL', Buffer.concat([Buffer.from('ff0afa7f', 'hex'), Buffer.alloc(200)])],
    ['Photoshop (PSD)', Buffer.concat([Buffer.from('8BPS', 'latin1'), Buffer.alloc(200)])],
  ])('%s → 415 saying so', async (name, bytes) => {
    const err = await probe(bytes, { maxInputPixels: 100_000_000, maxFrames: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaError);
    expect((err as Error).message).toContain(name);
    const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey, { 'Content-Type': 'application/octet-stream' }), body: bytes });
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorBody).error.message).toContain(name);
  });
});

describe('sizes the server chooses are fitted into the caps, never refused', () => {
  let small: TestApp;
  let strip: string;
  let wide: string;
  beforeAll(async () => {
    small = await testApp({ MAX_OUTPUT_DIM: '1000', RATE_LIMIT_MISS_PER_MIN: '0' });
    strip = (
      await ingest(
        small.deps,
        await sharp({ create: { width: 20, height: 300, channels: 3, background: '#369' } })
          .png()
          .toBuffer(),
        { filename: 's.png' },
      )
    ).image.id;
    wide = (
      await ingest(
        small.deps,
        await sharp({ create: { width: 300, height: 200, channels: 3, background: '#963' } })
          .png()
          .toBuffer(),
        { filename: 'w.png' },
      )
    ).image.id;
  });
  afterAll(() => small.cleanup());

  const sizeOf = async (res: Response) => {
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    return { width: meta.width, height: meta.height };
  };

  it('w_auto, with a width hint or its fallback: the widest the image can take (w_1280 of 20x300 would be 1280x19200)', async () => {
    // 1000 px high at most: 20/300 of it is 66.67, so 66 px wide.
    for (const headers of [{}, { 'Sec-CH-Width': '1200' }, { 'Sec-CH-Width': '1200', 'Sec-CH-DPR': '2' }] as Record<string, string>[]) {
      const res = await small.request(`/img/w_auto/${strip}`, { headers: { ...auth(small.adminKey), ...headers } });
      expect(await sizeOf(res), JSON.stringify(headers)).toEqual({ width: 66, height: 990 });
      expect(res.headers.get('vary')).toMatch(/Sec-CH-Width/i);
    }
    // The same answer whatever hint asked for more (one cache entry), and no Content-DPR: the
    // density delivered is not the hint's.
    const answers = new Set<string>();
    for (const width of ['1000', '3840', '99999']) {
      const res = await small.request(`/img/w_auto,dpr_auto/${strip}`, { headers: { ...auth(small.adminKey), 'Sec-CH-Width': width, 'Sec-CH-DPR': '3' } });
      expect(await sizeOf(res), width).toEqual({ width: 66, height: 990 });
      expect(res.headers.get('content-dpr'), width).toBeNull();
      answers.add(res.headers.get('etag')!);
    }
    expect(answers.size).toBe(1);
    // A hint the image can take is taken as it is (500 rounds up to the 640 step).
    expect(await sizeOf(await small.request(`/img/w_auto/${wide}`, { headers: { ...auth(small.adminKey), 'Sec-CH-Width': '500' } }))).toEqual({
      width: 640,
      height: 427,
    });
  });

  it('/random with options is a template for whatever is picked: scaled down for a pick that cannot take it', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await small.request(`/random/w_600?redirect=0&seed=${i}`, { headers: auth(small.adminKey) });
      const size = await sizeOf(res);
      expect(res.headers.get('x-image-id') === strip ? { width: 66, height: 990 } : { width: 600, height: 400 }).toEqual(size);
    }
    const redirect = await small.request(`/random/w_600?seed=1`, { headers: auth(small.adminKey) });
    expect(redirect.status).toBe(302);
    expect(await sizeOf(await small.request(redirect.headers.get('location')!))).toEqual(
      redirect.headers.get('x-image-id') === strip ? { width: 66, height: 990 } : { width: 600, height: 400 },
    );
    const list = (await (await small.request('/random.json?count=2&options=w_600', { headers: auth(small.adminKey) })).json()) as {
      images: { id: string; url: string }[];
    };
    expect(list.images.map((i) => i.id).sort()).toEqual([strip, wide].sort());
    for (const image of list.images) {
      const size = await sizeOf(await small.request(image.url.replace(/^https?:\/\/[^/]+/, '')));
      expect(size).toEqual(image.id === strip ? { width: 66, height: 990 } : { width: 600, height: 400 });
    }
  });

  it('the ready-made rendition URLs of API answers all work: widths narrowed to what the image takes, a box it cannot take left out', async () => {
    for (const id of [strip, wide]) {
      const res = await small.request(`/images/${id}`, { headers: auth(small.adminKey) });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const body = JSON.parse(text) as { urls: { renditions: Record<string, string> } };
      const renditions = body.urls.renditions;
      for (const [name, url] of Object.entries(renditions)) {
        const size = await sizeOf(await small.request(url.replace(/^https?:\/\/[^/]+/, '')));
        expect(Math.max(size.width!, size.height!), `${id} ${name}`).toBeLessThanOrEqual(1000);
      }
      if (id === wide) expect(Object.keys(renditions).sort()).toEqual(['medium', 'small', 'thumbnail', 'webp']);
      else {
        // 20x300: the 200x200 thumbnail would cover 200x3000 first; w_400 would be 400x6000.
        expect(Object.keys(renditions).sort()).toEqual(['medium', 'small', 'webp']);
        expect(renditions.small).toContain('/w_66/');
      }
    }
  });

  it('/random.json leaves out a pick that cannot take the options even scaled, instead of failing the list', async () => {
    // c_fill boxes the 20x300 strip cannot cover within the caps (900 wide is 13500 tall first); the 300x200 one can.
    for (const options of ['w_900,h_60,c_fill', 'w_450,h_30,c_fill,dpr_2']) {
      const res = await small.request(`/random.json?count=2&options=${options}`, { headers: auth(small.adminKey) });
      expect(res.status, options).toBe(200);
      const { images } = (await res.json()) as { images: { id: string; url: string }[] };
      expect(
        images.map((i) => i.id),
        options,
      ).toEqual([wide]);
      expect((await small.request(images[0]!.url.replace(/^https?:\/\/[^/]+/, ''))).status).toBe(200);
    }
    // When no pick can take them, the options are the problem: the 400 /img would give.
    const none = await small.request('/random.json?count=2&options=w_1000,h_1000,c_fill,dpr_2', { headers: auth(small.adminKey) });
    expect(none.status).toBe(400);
  });

  it('while a size the caller names on /img is refused, as before', async () => {
    const res = await small.request(`/img/w_600/${strip}`, { headers: auth(small.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toMatchObject({ code: 'output_too_large', width: 600, height: 9000 });
  });
});
