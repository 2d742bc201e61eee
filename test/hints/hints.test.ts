import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { testApp, type TestApp } from '../helpers/app.js';

/**
 * w_auto / dpr_auto against the request's client hints, through the real delivery path: which
 * header wins, how hints round up to the configured steps, the fallbacks, Vary / Accept-CH /
 * Content-DPR, cache entries shared by hints of one step, and policy ranges and output caps
 * applied to the resolved size. (A real Chromium sending the hints: browser.test.ts.)
 */

let t: TestApp;
let dune: string; // 1680x1050 JPEG, public
const key = (extra: Record<string, string> = {}) => ({ 'X-API-Key': t.adminKey, ...extra });

beforeAll(async () => {
  t = await testApp({ RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0' });
  dune = await t.seed('dune-2mp.jpg');
});
afterAll(() => t.cleanup());

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await t.request(path, { headers: key(headers) });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { res, status: res.status, error: JSON.parse(body.toString() || '{}').error };
  const m = await sharp(body).metadata();
  return { res, status: 200, width: m.width, height: m.height };
}

describe('w_auto takes the width hint, rounded up to a step', () => {
  // Default steps: 160,320,480,640,800,1024,1280,1600,1920,2560,3840; fallback 1280.
  it.each<[string, Record<string, string>, number]>([
    ['no hint: CLIENT_HINT_WIDTH_FALLBACK', {}, 1280],
    ['Sec-CH-Width 301', { 'Sec-CH-Width': '301' }, 320],
    ['Sec-CH-Width on a step', { 'Sec-CH-Width': '320' }, 320],
    ['Sec-CH-Width 1', { 'Sec-CH-Width': '1' }, 160],
    ['legacy Width alone', { Width: '301' }, 320],
    ['Sec-CH-Width wins over Width', { 'Sec-CH-Width': '500', Width: '900' }, 640],
    ['a malformed Sec-CH-Width leaves Width', { 'Sec-CH-Width': '12px', Width: '700' }, 800],
    ['malformed hints only: the fallback', { 'Sec-CH-Width': '-5', Width: '1e3' }, 1280],
    ['a zero width is no hint', { 'Sec-CH-Width': '0' }, 1280],
    ['past the last step: the last', { 'Sec-CH-Width': '5000' }, 3840],
    ['a DPR hint alone changes nothing', { 'Sec-CH-DPR': '2' }, 1280],
  ])('%s', async (_name, headers, width) => {
    const r = await get(`/img/w_auto/${dune}`, headers);
    expect(r.status).toBe(200);
    expect(r.width).toBe(width);
  });

  it('w_auto:{px} falls back to that width (and only without a hint)', async () => {
    expect((await get(`/img/w_auto:400/${dune}`)).width).toBe(400);
    expect((await get(`/img/w_auto:400/${dune}`, { 'Sec-CH-Width': '700' })).width).toBe(800);
  });

  it('keeps the other options: ar_ derives the height from the resolved width', async () => {
    const r = await get(`/img/w_auto,ar_16:9,c_fill/${dune}`, { 'Sec-CH-Width': '600' });
    expect([r.width, r.height]).toEqual([640, 360]);
  });

  it('c_limit never upscales past the original, hint or not', async () => {
    expect((await get(`/img/w_auto,c_limit/${dune}`, { 'Sec-CH-Width': '3000' })).width).toBe(1680);
  });
});

describe('dpr_auto takes the DPR hint, rounded up to a step', () => {
  it.each<[string, Record<string, string>, number, string | null]>([
    ['no hint: 1', {}, 300, '1'],
    ['Sec-CH-DPR 2', { 'Sec-CH-DPR': '2' }, 600, '2'],
    ['Sec-CH-DPR 1.25 rounds up to 1.5', { 'Sec-CH-DPR': '1.25' }, 450, '1.5'],
    ['Sec-CH-DPR 2.625 rounds up to 3', { 'Sec-CH-DPR': '2.625' }, 900, '3'],
    ['past the last step: 4', { 'Sec-CH-DPR': '7' }, 1200, '4'],
    ['under 1: 1', { 'Sec-CH-DPR': '0.75' }, 300, '1'],
    ['legacy DPR alone', { DPR: '2' }, 600, '2'],
    ['Sec-CH-DPR wins over DPR', { 'Sec-CH-DPR': '3', DPR: '1' }, 900, '3'],
    ['a malformed Sec-CH-DPR leaves DPR', { 'Sec-CH-DPR': 'two', DPR: '2' }, 600, '2'],
  ])('%s', async (_name, headers, width, contentDpr) => {
    const r = await get(`/img/w_300,dpr_auto/${dune}`, headers);
    expect(r.width).toBe(width);
    expect(r.res.headers.get('content-dpr')).toBe(contentDpr);
  });

  it('multiplies h_ too (only h_ given: Content-DPR from the heights)', async () => {
    const r = await get(`/img/h_100,dpr_auto/${dune}`, { 'Sec-CH-DPR': '2' });
    expect(r.height).toBe(200);
    expect(r.res.headers.get('content-dpr')).toBe('2');
  });
});

describe('a hint never turns a working URL into an error', () => {
  it('a DPR that would push a side past MAX_OUTPUT_DIM falls back to the largest step that fits', async () => {
    for (const dpr of ['1', '2', '3', '4']) {
      const r = await get(`/img/w_auto:400,h_2000,c_fill,dpr_auto/${dune}`, { 'Sec-CH-DPR': dpr });
      expect(r.res.status, `DPR ${dpr}`).toBe(200);
      expect(Math.max(r.width!, r.height!)).toBeLessThanOrEqual(t.deps.config.MAX_OUTPUT_DIM);
    }
    const withWidth = await get(`/img/w_auto,h_3000,c_fill,dpr_auto/${dune}`, { 'Sec-CH-DPR': '3', 'Sec-CH-Width': '640' });
    expect(withWidth.res.status).toBe(200);
  });

  it('a DPR hint below 0.1 is ignored: no Content-DPR of 0', async () => {
    const r = await get(`/img/w_auto,dpr_auto/${dune}`, { 'Sec-CH-Width': '640', 'Sec-CH-DPR': '0.000001' });
    expect(r.res.status).toBe(200);
    expect(r.res.headers.get('content-dpr')).not.toBe('0');
  });
});

describe('w_auto with dpr_auto', () => {
  it('a width hint already counts device pixels: the DPR multiplies h_ only; Content-DPR is the real density', async () => {
    // Chromium: a 300 CSS px slot on a 2x screen sends Sec-CH-Width 600, Sec-CH-DPR 2.
    const r = await get(`/img/w_auto,h_100,c_fill,dpr_auto/${dune}`, { 'Sec-CH-Width': '600', 'Sec-CH-DPR': '2' });
    expect([r.width, r.height]).toEqual([640, 200]);
    // 640 device px over 300 CSS px.
    expect(r.res.headers.get('content-dpr')).toBe('2.133');
  });

  it('without a width hint (an <img> without sizes), the fallback is a CSS width the DPR multiplies', async () => {
    const r = await get(`/img/w_auto:300,dpr_auto/${dune}`, { 'Sec-CH-DPR': '2' });
    expect(r.width).toBe(600);
    expect(r.res.headers.get('content-dpr')).toBe('2');
  });

  it('a width hint without a DPR hint: the density is unknown, so no Content-DPR', async () => {
    const r = await get(`/img/w_auto,dpr_auto/${dune}`, { 'Sec-CH-Width': '600' });
    expect(r.width).toBe(640);
    expect(r.res.headers.get('content-dpr')).toBeNull();
  });

  it('a numeric dpr_ with w_auto and a width hint is folded into h_ the same way', async () => {
    const r = await get(`/img/w_auto,h_100,c_fill,dpr_2/${dune}`, { 'Sec-CH-Width': '600' });
    expect([r.width, r.height]).toEqual([640, 200]);
  });
});

describe('response headers', () => {
  const ALL = 'Sec-CH-Width, Sec-CH-DPR, Width, DPR';
  it.each<[string, Record<string, string>, string | null, boolean]>([
    ['w_300', {}, null, false],
    ['f_auto', { Accept: 'image/webp' }, 'Accept', false],
    ['w_auto', {}, 'Sec-CH-Width, Width', true],
    ['w_auto', { 'Sec-CH-Width': '400', 'Sec-CH-DPR': '2' }, 'Sec-CH-Width, Width', true],
    ['w_300,dpr_auto', { 'Sec-CH-DPR': '2' }, 'Sec-CH-DPR, DPR', true],
    ['w_auto,dpr_auto', { 'Sec-CH-Width': '400', 'Sec-CH-DPR': '2' }, 'Sec-CH-Width, Width, Sec-CH-DPR, DPR', true],
    ['w_auto,f_auto', { Accept: 'image/avif', 'Sec-CH-Width': '400' }, 'Accept, Sec-CH-Width, Width', true],
  ])('%s %o: Vary on exactly the headers used', async (options, headers, vary, acceptCh) => {
    const r = await get(`/img/${options}/${dune}`, headers);
    expect(r.status).toBe(200);
    expect(r.res.headers.get('vary')).toBe(vary);
    expect(r.res.headers.get('accept-ch')).toBe(acceptCh ? ALL : null);
    if (!options.includes('dpr_auto')) expect(r.res.headers.get('content-dpr')).toBeNull();
  });

  it('a 304 carries the same Vary', async () => {
    const first = await get(`/img/w_auto,dpr_auto/${dune}`, { 'Sec-CH-Width': '900', 'Sec-CH-DPR': '2' });
    const res = await t.request(`/img/w_auto,dpr_auto/${dune}`, {
      headers: key({ 'Sec-CH-Width': '910', 'Sec-CH-DPR': '2', 'If-None-Match': first.res.headers.get('etag')! }),
    });
    expect(res.status).toBe(304);
    expect(res.headers.get('vary')).toBe('Sec-CH-Width, Width, Sec-CH-DPR, DPR');
  });

  it('the dry run shows the resolved options and the Vary', async () => {
    const res = await t.request(`/img/w_auto,dpr_auto/${dune}.json`, { headers: key({ 'Sec-CH-Width': '301', 'Sec-CH-DPR': '2' }) });
    const body = (await res.json()) as { options: string; signing: { options: string }; output: { width: number }; vary: string };
    expect(body.options).toBe('w_320');
    expect(body.signing.options).toBe('dpr_auto,w_auto');
    expect(body.output.width).toBe(320);
    expect(body.vary).toBe('Sec-CH-Width, Width, Sec-CH-DPR, DPR');
  });
});

describe('cache entries', () => {
  it('hints that round to one step share one key, one ETag and one render — the same as the explicit width', async () => {
    const a = await get(`/img/w_auto,q_61/${dune}`, { 'Sec-CH-Width': '481' });
    const b = await get(`/img/w_auto,q_61/${dune}`, { 'Sec-CH-Width': '599' });
    const c = await get(`/img/w_auto,q_61/${dune}`, { Width: '640' });
    const explicit = await get(`/img/w_640,q_61/${dune}`);
    expect(a.res.headers.get('x-cache')).toBe('MISS');
    for (const r of [b, c, explicit]) {
      expect(r.res.headers.get('etag')).toBe(a.res.headers.get('etag'));
      expect(r.res.headers.get('x-cache')).toMatch(/^HIT-/);
    }
    const other = await get(`/img/w_auto,q_61/${dune}`, { 'Sec-CH-Width': '641' });
    expect(other.width).toBe(800);
    expect(other.res.headers.get('etag')).not.toBe(a.res.headers.get('etag'));
  });

  it('w_auto with a DPR hint keys like w_ times the DPR step', async () => {
    const a = await get(`/img/w_200,dpr_auto,q_62/${dune}`, { 'Sec-CH-DPR': '1.1' });
    const b = await get(`/img/w_300,q_62/${dune}`);
    expect(a.width).toBe(300);
    expect(b.res.headers.get('etag')).toBe(a.res.headers.get('etag'));
  });
});

describe('who may ask, and how big', () => {
  it("a signed w_auto URL is sized by each request's hints under one signature", async () => {
    const path = signedImagePath(dune, 'w_auto', t.deps.secrets.signingKeys[0]);
    const small = await t.request(path, { headers: { 'Sec-CH-Width': '300' } });
    const large = await t.request(path, { headers: { 'Sec-CH-Width': '1000' } });
    expect((await sharp(Buffer.from(await small.arrayBuffer())).metadata()).width).toBe(320);
    expect((await sharp(Buffer.from(await large.arrayBuffer())).metadata()).width).toBe(1024);
    expect(small.headers.get('cache-control')).toMatch(/^public/);
    expect(small.headers.get('vary')).toBe('Sec-CH-Width, Width');
  });

  it('unsigned and anonymous, w_auto is a transform like w_ (401)', async () => {
    const res = await t.request(`/img/w_auto/${dune}`, { headers: { 'Sec-CH-Width': '300' } });
    expect(res.status).toBe(401);
  });

  it("a policy token's width range holds for the resolved width", async () => {
    const signed = await t.request('/sign', {
      method: 'POST',
      headers: key({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ id: dune, policy: { width: { min: 100, max: 800 } } }),
    });
    expect(signed.status).toBe(200);
    const { token } = (await signed.json()) as { token: string };
    const at = (options: string, headers: Record<string, string>) => t.request(`/img/${options}/${dune}?token=${token}`, { headers });
    const ok = await at('w_auto', { 'Sec-CH-Width': '700' });
    expect(ok.status).toBe(200);
    expect((await sharp(Buffer.from(await ok.arrayBuffer())).metadata()).width).toBe(800);
    // 801 rounds up to 1024, outside the range.
    const over = await at('w_auto', { 'Sec-CH-Width': '801' });
    expect(over.status).toBe(403);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('outside_policy');
    // No hint: the fallback (1280) is outside too; w_auto:{px} picks one inside.
    expect((await at('w_auto', {})).status).toBe(403);
    expect((await at('w_auto:600', {})).status).toBe(200);
    // dpr_auto multiplies a width that was inside: 400 at DPR 3 is 1200.
    expect((await at('w_400,dpr_auto', { 'Sec-CH-DPR': '1' })).status).toBe(200);
    expect((await at('w_400,dpr_auto', { 'Sec-CH-DPR': '3' })).status).toBe(403);
  });

  it('presets may say w_auto / dpr_auto; the URL resolves them per request', async () => {
    const put = await t.request('/presets', {
      method: 'POST',
      headers: key({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ name: 'hint-card', options: 'w_auto:320,ar_4:3,c_fill,dpr_auto' }),
    });
    expect(put.status).toBe(201);
    // Anonymous: presets are allowed; the hints size them.
    const res = await t.request(`/img/t_hint-card/${dune}`, { headers: { 'Sec-CH-Width': '700', 'Sec-CH-DPR': '2' } });
    expect(res.status).toBe(200);
    const m = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([m.width, m.height]).toEqual([800, 600]);
    expect(res.headers.get('vary')).toBe('Sec-CH-Width, Width, Sec-CH-DPR, DPR');
    const none = await t.request(`/img/t_hint-card/${dune}`);
    const n = await sharp(Buffer.from(await none.arrayBuffer())).metadata();
    expect([n.width, n.height]).toEqual([320, 240]);
  });

  it('/random with redirect=0 sizes from the hints too', async () => {
    const res = await t.request(`/random/w_auto?redirect=0`, { headers: key({ 'Sec-CH-Width': '200' }) });
    expect(res.status).toBe(200);
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBe(320);
    expect(res.headers.get('vary')).toBe('Sec-CH-Width, Width');
  });
});

describe('configuration', () => {
  it('CLIENT_HINT_WIDTH_STEPS as one number rounds up to its multiples; MAX_OUTPUT_DIM caps a big hint instead of refusing it', async () => {
    const small = await testApp({ CLIENT_HINT_WIDTH_STEPS: '100', CLIENT_HINT_DPR_STEPS: '1,2', CLIENT_HINT_WIDTH_FALLBACK: '250', MAX_OUTPUT_DIM: '2000' });
    try {
      const id = await small.seed('dune-2mp.jpg');
      const width = async (options: string, headers: Record<string, string>) => {
        const res = await small.request(`/img/${options}/${id}`, { headers: { 'X-API-Key': small.adminKey, ...headers } });
        if (res.status !== 200) return res.status;
        return (await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width;
      };
      expect(await width('w_auto', { 'Sec-CH-Width': '301' })).toBe(400);
      expect(await width('w_auto', {})).toBe(250);
      expect(await width('w_auto', { 'Sec-CH-Width': '5000' })).toBe(2000);
      expect(await width('w_300,dpr_auto', { 'Sec-CH-DPR': '1.5' })).toBe(600);
      // A hinted density that would carry an explicit w_ past the cap falls back to the largest
      // step that fits (here 1): a hint never turns a working URL into a 400 (dpr_2 itself is one).
      expect(await width('w_1500,dpr_auto', { 'Sec-CH-DPR': '2' })).toBe(1500);
    } finally {
      await small.cleanup();
    }
  });

  it('the default fallback follows a lower MAX_OUTPUT_DIM', () => {
    expect(loadConfig({}).clientHints.fallbackWidth).toBe(1280);
    expect(loadConfig({ MAX_OUTPUT_DIM: '1000' }).clientHints.fallbackWidth).toBe(1000);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ CLIENT_HINT_WIDTH_STEPS: '320,160' }, /CLIENT_HINT_WIDTH_STEPS/],
    [{ CLIENT_HINT_WIDTH_STEPS: '0' }, /CLIENT_HINT_WIDTH_STEPS/],
    [{ CLIENT_HINT_WIDTH_STEPS: '100px' }, /CLIENT_HINT_WIDTH_STEPS/],
    [{ CLIENT_HINT_DPR_STEPS: '1,5' }, /CLIENT_HINT_DPR_STEPS/],
    [{ CLIENT_HINT_DPR_STEPS: '0.5,1' }, /CLIENT_HINT_DPR_STEPS/],
    [{ CLIENT_HINT_DPR_STEPS: '2,1.5' }, /CLIENT_HINT_DPR_STEPS/],
    [{ CLIENT_HINT_WIDTH_FALLBACK: '3000', MAX_OUTPUT_DIM: '2000' }, /CLIENT_HINT_WIDTH_FALLBACK/],
  ])('%o fails the start naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
