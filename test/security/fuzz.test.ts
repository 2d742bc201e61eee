import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets } from '../../src/db/schema.js';
import { ingest } from '../../src/library/ingest.js';
import { testApp, type TestApp } from '../helpers/app.js';

/**
 * User input must never answer 500. Several hundred odd URLs, headers and bodies, built from a
 * seeded generator (the same list on every run), against the real app with real small images.
 */

let t: TestApp;
let pub: string;
let priv: string;
const fails: string[] = [];
const statuses: Record<number, number> = {};

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

beforeAll(async () => {
  t = await testApp({ RENDER_TIMEOUT_MS: '20000' });
  const small = await sharp({ create: { width: 64, height: 48, channels: 4, background: { r: 200, g: 40, b: 40, alpha: 0.5 } } })
    .png()
    .toBuffer();
  pub = (await ingest(t.deps, small)).image.id;
  const jpeg = await sharp({ create: { width: 40, height: 60, channels: 3, background: '#3366aa' } })
    .jpeg()
    .toBuffer();
  priv = (await ingest(t.deps, jpeg, { visibility: 'private' })).image.id;
  t.deps.db.insert(presets).values({ name: 'card', options: 'w_30,h_20,c_fill' }).run();
});
afterAll(() => t.cleanup());

const ITEMS = [
  'w_10',
  'h_10',
  'w_0',
  'w_-1',
  'w_99999999999999',
  'w_1e3',
  'w_0x10',
  'w_',
  'w',
  'h_8192',
  'w_8192',
  'c_fill',
  'c_pad',
  'c_crop',
  'c_thumb',
  'c_scale',
  'c_limit',
  'c_bogus',
  'g_auto',
  'g_entropy',
  'g_north_east',
  'ar_16:9',
  'ar_0:0',
  'ar_99999:1',
  'ar_1:10000',
  'dpr_4',
  'dpr_0.5',
  'dpr_NaN',
  'x_5',
  'y_5',
  'x_100000',
  'y_99999',
  'r_45',
  'r_-359',
  'r_360',
  'a_90',
  'r_1e2',
  'fl_flip',
  'fl_mirror',
  'fl_flip:1',
  'e_grayscale',
  'e_sepia',
  'e_blur:0.3',
  'e_blur:50',
  'e_blur:',
  'e_blur_5',
  'e_sharpen',
  'e_sharpen:10',
  'e_negate',
  'e_tint:f00',
  'e_tint:zzz',
  'e_brightness:500',
  'e_saturation:0',
  'rad_max',
  'rad_8192',
  'rad_-1',
  'bg_00000000',
  'bg_fff',
  'bg_',
  `wm_${'x'.repeat(64)}`,
  'wm_..',
  'wmg_north',
  'wmo_0',
  'wms_100',
  'q_1',
  'q_auto',
  'q_101',
  'f_auto',
  'f_gif',
  'f_avif',
  'f_png',
  'f_exe',
  't_card',
  't_nope',
  't_CARD',
  'exp_0',
  'exp_99999999999',
  'exp_-1',
  '%2C',
  '%00',
  '%E2%80%AE',
  '..',
  '.',
  '__proto__',
  'constructor_1',
  'toString',
  'w_10%2Ch_10',
  'ÿ',
  '😀_1',
  'w_١٠',
  '=',
  '&',
  ';',
  ' ',
  '%20',
  '%',
  '%zz',
];
const IDS = () => [
  pub,
  priv,
  'nope',
  '..',
  '%2e%2e',
  'a'.repeat(65),
  `${pub}.png`,
  `${pub}.exe`,
  `${pub}.json`,
  `${pub}.png.json`,
  `${pub}.`,
  `${pub}..png`,
  '.json',
  `${pub}%00`,
  `${pub}/extra`,
];

function urls(): string[] {
  const r = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const out: string[] = [];
  for (let i = 0; i < 260; i++) {
    const n = 1 + Math.floor(r() * 4);
    const opts = Array.from({ length: n }, () => pick(ITEMS)).join(r() < 0.1 ? ',,' : ',');
    const id = pick(IDS());
    const shape = r();
    if (shape < 0.55) out.push(`/img/${opts}/${id}`);
    else if (shape < 0.65) out.push(`/img/s--${pick(['k1.', 'k1.abc', '', '--', 'x'.repeat(300), 'k1.%00'])}--/${opts}/${id}`);
    else if (shape < 0.72) out.push(`/img/${opts}/${id}?explain=1`);
    else if (shape < 0.8) out.push(`/random/${opts}?redirect=${pick(['0', '1', 'x'])}&seed=${pick(['a', '', '😀'])}`);
    else if (shape < 0.86) out.push(`/random.json?count=${pick(['0', '1', '50', '51', '-1', 'x', '1e9'])}&options=${encodeURIComponent(opts)}`);
    else if (shape < 0.9) out.push(`/info/${id}`);
    else if (shape < 0.95)
      out.push(`/random?orientation=${pick(['landscape', 'x'])}&min_width=${pick(['1', '-5', '1e309', 'x'])}&tag=${pick(['', 'a', '%00'])}`);
    else out.push(`/img/${pick(['', '/', '//', 's--', 's----/', `${opts}/${opts}/${id}`, `${opts}//${id}`])}`);
  }
  return out;
}

async function expectNo500(label: string, res: Response) {
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  if (res.status >= 500 && res.status !== 503 && res.status !== 504) fails.push(`${res.status} ${label} ${await res.text()}`);
  else await res.arrayBuffer();
}

describe('no 500 from user input', () => {
  it('odd delivery URLs, anonymous and with an admin key, GET and HEAD', async () => {
    for (const url of urls()) {
      await expectNo500(`anon GET ${url}`, await t.request(url));
      await expectNo500(`key GET ${url}`, await t.request(url, { headers: { 'X-API-Key': t.adminKey, Accept: 'image/avif,image/webp' } }));
    }
    for (const url of urls().slice(0, 60)) await expectNo500(`HEAD ${url}`, await t.request(url, { method: 'HEAD', headers: { 'X-API-Key': t.adminKey } }));
    expect(fails).toEqual([]);
  }, 240_000);

  it('valid but unusual option combinations render or answer 4xx', async () => {
    // Each group is one option; a URL takes at most one from each, so most combinations are valid.
    const groups = [
      ['w_1', 'w_63', 'w_64', 'w_500', 'w_8192'],
      ['h_1', 'h_47', 'h_300', 'h_8192'],
      ['c_fill', 'c_pad', 'c_scale', 'c_limit', 'c_thumb', 'c_crop'],
      ['g_auto', 'g_entropy', 'g_south_west'],
      ['ar_1:10000', 'ar_10000:1', 'ar_3:2'],
      ['dpr_4', 'dpr_1.5'],
      ['r_1', 'r_90', 'r_-45', 'r_359'],
      ['fl_flip', 'fl_mirror'],
      ['e_blur:100', 'e_sharpen:10', 'e_negate', 'e_tint:0f0', 'e_grayscale'],
      ['rad_max', 'rad_8192', 'rad_1'],
      ['bg_00000000', 'bg_f0f'],
      [`wm_${pub}`, `wm_${priv}`],
      ['wms_100', 'wms_1'],
      ['q_1', 'q_100'],
      ['f_gif', 'f_avif', 'f_png', 'f_webp', 'f_auto', 'f_jpeg'],
      ['t_card'],
      ['x_63', 'x_0'],
      ['y_47'],
    ];
    const r = rng(7);
    for (let i = 0; i < 150; i++) {
      const opts = groups.filter(() => r() < 0.3).map((g) => g[Math.floor(r() * g.length)]);
      if (opts.length === 0) continue;
      const url = `/img/${opts.join(',')}/${r() < 0.5 ? pub : priv}`;
      await expectNo500(url, await t.request(url, { headers: { 'X-API-Key': t.adminKey, Accept: 'image/avif,image/webp' } }));
    }
    expect(fails).toEqual([]);
  }, 240_000);

  it('odd credentials', async () => {
    const headers: Record<string, string>[] = [
      { Authorization: 'Bearer' },
      { Authorization: 'Bearer ' },
      { Authorization: 'Bearer a.b.c' },
      { Authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' },
      { Authorization: `Bearer ${'a'.repeat(9000)}.b.c` },
      { Authorization: 'Basic Zm9vOmJhcg==' },
      { 'X-API-Key': '' },
      { 'X-API-Key': 'x'.repeat(10_000) },
      { 'X-API-Key': 'imgp_' },
      { Authorization: 'Bearer imgp_short' },
      { 'If-None-Match': '*' },
      { 'If-None-Match': 'W/"x", "y", ,,' },
      { Accept: ';;;q=abc,image/avif;q=-1' },
    ];
    for (const h of headers) {
      for (const url of [`/img/${pub}`, `/img/w_10/${pub}`, '/auth/me', '/keys', '/images', `/random.json`, '/metrics']) {
        await expectNo500(`${JSON.stringify(h).slice(0, 60)} ${url}`, await t.request(url, { headers: h }));
      }
    }
    for (const q of ['?key=', '?token=', '?token=a.b.c', `?key=${'z'.repeat(300)}`, '?key=a&key=b', '?explain=1&explain=0']) {
      await expectNo500(q, await t.request(`/img/${pub}${q}`));
    }
    expect(fails).toEqual([]);
  });

  it('odd JSON and upload bodies on the management API', async () => {
    const bodies = [
      '',
      '{',
      'null',
      '[]',
      '"x"',
      '1e999',
      '{"__proto__":{"admin":true}}',
      JSON.stringify({ a: 'x'.repeat(100_000) }),
      JSON.stringify({ resize: { width: 1e308 } }),
      JSON.stringify({ resize: { width: -1, height: 0.5 } }),
      JSON.stringify({ rotate: 45.5 }),
      JSON.stringify({ crop: { x: 1e9, y: 0, width: 10, height: 10 } }),
      JSON.stringify({ crop: { width: 10, height: 10 }, resize: { width: 5 } }),
      JSON.stringify({ watermark: { image: 'nope' } }),
      JSON.stringify({ watermark: { image: pub, opacity: 200 } }),
      JSON.stringify({ filters: { tint: '#zz' } }),
      JSON.stringify({ format: 'exe' }),
      JSON.stringify({ preset: 'nope' }),
      JSON.stringify({ preset: 'card', resize: { width: 10 } }),
      JSON.stringify({ quality: 'auto', format: 'auto', filters: { blur: 0.3, sharpen: true } }),
      JSON.stringify({ radius: 'max', background: 'fff' }),
      JSON.stringify({ id: pub, options: 'w_10,,' }),
      JSON.stringify({ id: pub, options: 'x'.repeat(5000) }),
      JSON.stringify({ id: '../x' }),
      JSON.stringify({ id: pub, policy: { width: { min: 10, max: 1 } } }),
      JSON.stringify({ ids: [], policy: {} }),
      JSON.stringify({ name: 'a', options: 'wm_x,t_card' }),
      JSON.stringify({ name: 'A B', options: 'w_10' }),
      JSON.stringify({ scopes: ['root'] }),
      JSON.stringify({ scopes: [] }),
      JSON.stringify({ userId: 99999 }),
      JSON.stringify({ x: 2, y: -1 }),
      JSON.stringify({ tags: ['a'.repeat(70)], visibility: 'secret' }),
      JSON.stringify({ username: 'x', password: 'y' }),
    ];
    const routes: [string, string][] = [
      ['POST', `/images/${pub}/transform`],
      ['POST', `/images/${pub}/transform?async=1`],
      ['POST', '/sign'],
      ['POST', '/presets'],
      ['POST', '/keys'],
      ['PATCH', `/images/${pub}`],
      ['PUT', `/images/${pub}/focal-point`],
      ['POST', '/auth/register'],
      ['POST', '/auth/login'],
      ['POST', '/keys/nope/rotate'],
      ['DELETE', '/keys/nope'],
      ['DELETE', '/presets/nope'],
      ['GET', '/tasks/task_nope'],
      ['GET', '/tasks/..%2f..'],
    ];
    for (const [method, url] of routes) {
      for (const body of bodies) {
        for (const type of ['application/json', 'text/plain']) {
          const init: RequestInit = { method, headers: { 'X-API-Key': t.adminKey, 'Content-Type': type } };
          if (method !== 'GET' && method !== 'DELETE') init.body = body;
          await expectNo500(`${method} ${url} ${type} ${body.slice(0, 60)}`, await t.request(url, init));
        }
      }
    }
    const uploads: [string, string | Uint8Array][] = [
      ['image/png', ''],
      ['image/png', 'not an image'],
      ['image/png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
      ['image/jpeg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46])],
      ['image/gif', 'GIF89a\x01\x00\x01\x00'],
      ['multipart/form-data', 'garbage'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x--\r\n'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="nofile"\r\n\r\nabc\r\n--x--\r\n'],
      ['application/pdf', '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF'],
    ];
    for (const [type, body] of uploads) {
      for (const q of ['', '?visibility=nope', `?tags=${'a,'.repeat(60)}`, '?collection=%00']) {
        await expectNo500(
          `upload ${type} ${q}`,
          await t.request(`/images${q}`, { method: 'POST', headers: { 'X-API-Key': t.adminKey, 'Content-Type': type }, body: body as RequestInit['body'] }),
        );
      }
    }
    for (const q of ['?page=0', '?page=x', '?limit=1000', '?cursor=1.x', '?cursor=../', '?owner=-1', '?tag=%00', '?page=1000000&limit=100']) {
      await expectNo500(`list ${q}`, await t.request(`/images${q}`, { headers: { 'X-API-Key': t.adminKey } }));
    }
    expect(fails).toEqual([]);
  }, 120_000);
});
