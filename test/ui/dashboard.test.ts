import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.cleanup());

const ASSETS = [
  ['/dashboard', 'text/html'],
  ['/dashboard/app.js', 'text/javascript'],
  ['/dashboard/api.js', 'text/javascript'],
  ['/dashboard/detail.js', 'text/javascript'],
  ['/dashboard/style.css', 'text/css'],
] as const;

describe('GET /dashboard', () => {
  test('answers the page with a strict CSP, nosniff and no framing', async () => {
    const res = await t.request('/dashboard');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("img-src 'self' data: blob:");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
  });

  test.each(ASSETS)('%s is served as %s with the same headers', async (path, type) => {
    const res = await t.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(`${type}; charset=utf-8`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await res.text()).length).toBeGreaterThan(100);
  });

  test('needs no credentials, and a bad one does not turn the page into a 401', async () => {
    expect((await t.request('/dashboard?key=imgp_nonsense')).status).toBe(200);
    expect((await t.request('/dashboard', { headers: { 'X-API-Key': 'imgp_revoked' } })).status).toBe(200);
  });

  test('revalidates with an ETag: a second load costs a 304', async () => {
    const first = await t.request('/dashboard/app.js');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await t.request('/dashboard/app.js', { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  test('HEAD answers the headers, and unknown assets are JSON 404s', async () => {
    const head = await t.request('/dashboard/style.css', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toContain('text/css');
    const missing = await t.request('/dashboard/../../etc/passwd');
    expect(missing.status).toBe(404);
    const none = await t.request('/dashboard/nope.js');
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  test('the trailing-slash address redirects to the page', async () => {
    const res = await t.request('/dashboard/');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/dashboard');
  });
});

describe('the dashboard code', () => {
  const bodies = async () => Promise.all(ASSETS.map(async ([path]) => [path, await (await t.request(path)).text()] as const));

  test('loads nothing from another origin (no CDN, no external URL at all)', async () => {
    for (const [path, body] of await bodies()) {
      // The only scheme-qualified strings allowed: data: for the empty favicon.
      expect(body.match(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi), path).toBeNull();
      expect(body, path).not.toMatch(/@import\s+url\(\s*['"]?https?:/i);
    }
  });

  test('never parses strings as HTML and never puts a key in a URL', async () => {
    for (const [path, body] of await bodies()) {
      expect(body, path).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
      expect(body, path).not.toMatch(/[?&]key=/);
    }
  });

  test('has no inline script or style the CSP would block', async () => {
    const html = await (await t.request('/dashboard')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/<style/i);
  });
});
