import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { testApp, type TestApp } from '../helpers/app.js';

/**
 * The CORS header matrix through `app.request()`: which answers carry which headers for which
 * configuration. test/cors/browser.test.ts checks the same from pages on other origins in Chromium.
 */

const A = 'https://a.example';
const B = 'https://b.example';
const EVIL = 'https://evil.example';

const apps: TestApp[] = [];
async function app(env: Record<string, string>) {
  const t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', ...env });
  apps.push(t);
  return { t, id: await t.seed('dune-2mp.jpg') };
}
afterAll(async () => {
  await Promise.all(apps.map((t) => t.cleanup()));
});

const preflight = (t: TestApp, path: string, origin: string, method = 'GET', headers = 'x-api-key') =>
  t.request(path, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers } });

const cors = (res: Response) => ({
  origin: res.headers.get('access-control-allow-origin'),
  credentials: res.headers.get('access-control-allow-credentials'),
  varyOrigin: /\borigin\b/i.test(res.headers.get('vary') ?? ''),
});

describe('defaults: images for every origin, the JSON API for none', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => ({ t, id } = await app({})));

  it.each([
    ['/img/{id}', 200],
    ['/img/w_100/{id}', 200],
    ['/info/{id}', 200],
    ['/random', 302],
    ['/random?redirect=0', 200],
    ['/img/nope', 404],
  ])('%s answers Access-Control-Allow-Origin: * (no credentials, no Vary) — %i', async (path, status) => {
    for (const headers of [{ Origin: A }, {}] as Record<string, string>[]) {
      // Also without Origin: a CDN may keep the answer to a plain <img> and hand it to a crossorigin one.
      const res = await t.request(path.replace('{id}', id), { headers });
      expect(res.status).toBe(status);
      expect(cors(res)).toEqual({ origin: '*', credentials: null, varyOrigin: false });
    }
  });

  it('image answers let a script read their delivery headers', async () => {
    const res = await t.request(`/img/${id}`, { headers: { Origin: A } });
    expect(res.headers.get('access-control-expose-headers')).toMatch(/\bETag\b.*\bX-Cache\b/);
  });

  it('the old random-image route and its errors are readable too', async () => {
    const key = (await t.deps.keys.create({ scopes: ['deliver'], name: 'legacy' })).key;
    const ok = await t.request(`/random-image/${key}`, { headers: { Origin: A } });
    expect([ok.status, ok.headers.get('content-type'), cors(ok).origin]).toEqual([200, 'image/webp', '*']);
    const refused = await t.request('/random-image/imgp_wrong', { headers: { Origin: A } });
    expect([refused.status, cors(refused).origin]).toEqual([401, '*']);
  });

  it('a preflight for an image (a key in a header) is answered before authentication', async () => {
    const res = await preflight(t, `/img/${id}`, A, 'GET', 'x-api-key,if-none-match');
    expect(res.status).toBe(204);
    expect(cors(res)).toEqual({ origin: '*', credentials: null, varyOrigin: false });
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/X-API-Key.*If-None-Match/);
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('the JSON API sends no CORS headers, and a preflight there gets no permission', async () => {
    const list = await t.request('/images', { headers: { Origin: A, 'X-API-Key': t.adminKey } });
    expect(list.status).toBe(200);
    expect(cors(list)).toEqual({ origin: null, credentials: null, varyOrigin: false });
    // /random.json is a JSON answer (a list for a gallery), not an image: the API's setting.
    expect(cors(await t.request('/random.json', { headers: { Origin: A } }))).toEqual({ origin: null, credentials: null, varyOrigin: false });
    const pre = await preflight(t, '/images', A, 'POST', 'content-type');
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('CORS_ORIGINS=* (a public deployment)', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => ({ t, id } = await app({ CORS_ORIGINS: '*', RATE_LIMIT_API_PER_MIN: '3' })));

  it('every operation of /openapi.json answers a preflight for its method', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x1')] as const),
    );
    expect(operations.length).toBeGreaterThan(25);
    for (const [method, path] of [...operations, ['GET', '/openapi.json'] as const]) {
      const res = await preflight(t, path, EVIL, method, 'authorization,content-type');
      const where = `${method} ${path}`;
      expect({ where, status: res.status, ...cors(res) }).toEqual({ where, status: 204, origin: '*', credentials: null, varyOrigin: false });
      expect(res.headers.get('access-control-allow-methods')!.split(', '), where).toContain(method);
      expect(res.headers.get('access-control-allow-headers'), where).toMatch(/Authorization.*Content-Type/);
    }
  });

  it('preflights are neither authenticated nor charged to the rate limit', async () => {
    for (let i = 0; i < 10; i++) expect((await preflight(t, '/keys', EVIL, 'POST', 'authorization,content-type')).status).toBe(204);
    const key = (await t.deps.keys.create({ scopes: ['upload'], name: 'not admin' })).key; // admins are not rate-limited
    const res = await t.request('/images', { headers: { Origin: A, 'X-API-Key': key } });
    expect(res.status).toBe(200);
    expect(cors(res)).toEqual({ origin: '*', credentials: null, varyOrigin: false });
    expect(res.headers.get('access-control-expose-headers')).toMatch(/RateLimit-Remaining/);
    expect(res.headers.get('ratelimit-remaining')).toBe('2');
  });

  it('errors carry the header, so a page can read why it was refused', async () => {
    const res = await t.request('/images', { headers: { Origin: A, 'X-API-Key': 'imgp_not-a-key' } });
    expect(res.status).toBe(401);
    expect(cors(res).origin).toBe('*');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_key');
  });

  it('an OPTIONS that is not a preflight is not answered as one', async () => {
    const res = await t.request('/images', { method: 'OPTIONS', headers: { Origin: A } });
    expect(res.status).toBe(404);
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('images still answer under their own setting', async () => {
    expect(cors(await t.request(`/img/${id}`, { headers: { Origin: A } })).origin).toBe('*');
  });
});

describe('a list of origins', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => ({ t, id } = await app({ CORS_ORIGINS: `${A}, ${B}`, CORS_IMAGE_ORIGINS: `${A},${B}` })));

  it('echoes a listed origin with credentials, and every answer varies on Origin', async () => {
    for (const path of ['/images', `/img/${id}`, `/info/${id}`]) {
      const listed = await t.request(path, { headers: { Origin: B, 'X-API-Key': t.adminKey } });
      expect({ path, ...cors(listed) }).toEqual({ path, origin: B, credentials: 'true', varyOrigin: true });
      const other = await t.request(path, { headers: { Origin: EVIL, 'X-API-Key': t.adminKey } });
      expect({ path, ...cors(other) }).toEqual({ path, origin: null, credentials: null, varyOrigin: true });
      const none = await t.request(path, { headers: { 'X-API-Key': t.adminKey } });
      expect({ path, ...cors(none) }).toEqual({ path, origin: null, credentials: null, varyOrigin: true });
    }
  });

  it('an f_auto rendition varies on Accept and Origin, its 304 as well', async () => {
    const headers = { Origin: A, Accept: 'image/webp,*/*' };
    const res = await t.request(`/img/f_auto,w_200/${id}`, { headers });
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(res.headers.get('vary')).toBe('Accept, Origin');
    expect(res.headers.get('cache-control')).toMatch(/^public/);
    const again = await t.request(`/img/f_auto,w_200/${id}`, { headers: { ...headers, 'If-None-Match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('vary')).toBe('Accept, Origin');
    expect(cors(again)).toEqual({ origin: A, credentials: 'true', varyOrigin: true });
  });

  it('a preflight from an origin not listed is answered without permission', async () => {
    const listed = await preflight(t, '/images', A, 'POST');
    expect(cors(listed)).toEqual({ origin: A, credentials: 'true', varyOrigin: true });
    const other = await preflight(t, '/images', EVIL, 'POST');
    expect(other.status).toBe(204);
    expect(cors(other)).toEqual({ origin: null, credentials: null, varyOrigin: true });
    expect(other.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('a single origin is one fixed header: no Vary', () => {
  it("is sent whatever the request's Origin (the browser compares), with credentials", async () => {
    const { t, id } = await app({ CORS_ORIGINS: `${A}/`, CORS_IMAGE_ORIGINS: A });
    for (const origin of [A, EVIL]) {
      for (const path of ['/images', `/img/${id}`]) {
        const res = await t.request(path, { headers: { Origin: origin, 'X-API-Key': t.adminKey } });
        expect({ path, ...cors(res) }).toEqual({ path, origin: A, credentials: 'true', varyOrigin: false });
      }
    }
  });
});

describe('CORS_IMAGE_ORIGINS=off', () => {
  it('images answer without CORS headers, even when the API allows every origin', async () => {
    const { t, id } = await app({ CORS_ORIGINS: '*', CORS_IMAGE_ORIGINS: 'off' });
    for (const path of [`/img/${id}`, `/info/${id}`, '/random']) {
      expect({ path, ...cors(await t.request(path, { headers: { Origin: A } })) }).toEqual({ path, origin: null, credentials: null, varyOrigin: false });
    }
    expect(cors(await t.request('/images', { headers: { Origin: A, 'X-API-Key': t.adminKey } })).origin).toBe('*');
  });
});

describe('the settings are checked at start', () => {
  const base = { DATA_DIR: '/tmp/x', CACHE_DIR: '/tmp/y' };
  it.each([
    ['https://a.example/app', 'is not an origin'],
    ['*,https://a.example', '* stands alone'],
    ['a.example', 'is not an origin'],
    ['ftp://a.example', 'is not an origin'],
    ['https://a.example?x=1', 'is not an origin'],
    ['null', 'is not an origin'],
  ])('%s is refused, naming the variable', (value, message) => {
    for (const name of ['CORS_ORIGINS', 'CORS_IMAGE_ORIGINS']) {
      let err: unknown;
      try {
        loadConfig({ ...base, [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.join('\n')).toMatch(new RegExp(`^${name}: .*${message.replace('*', '\\*')}`));
    }
  });

  it('origins are normalised as browsers send them', () => {
    const c = loadConfig({ ...base, CORS_ORIGINS: 'https://App.Example.com:443/, http://localhost:5173' });
    expect(c.cors.api).toEqual({ kind: 'list', origins: ['https://app.example.com', 'http://localhost:5173'] });
    expect(c.cors.images).toEqual({ kind: 'any' });
    expect(loadConfig(base).cors.api).toEqual({ kind: 'off' });
  });
});
