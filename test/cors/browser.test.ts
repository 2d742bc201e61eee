import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { listen, testApp, type TestApp } from '../helpers/app.js';
import { launchChromium, missingBrowser, type Chromium } from '../helpers/chromium.js';

/**
 * CORS as a browser enforces it: pages served by two other 127.0.0.1 servers (another port is
 * another origin), one listed in CORS_ORIGINS and one not, call imgpath from script and draw its
 * images into a canvas, in Debian's Chromium. The server records what actually reached it, so
 * the preflights (invisible to the page) are checked too.
 */

// The page-side callbacks below run in Chromium; the project compiles without the DOM library.
declare const document: any;
declare const Image: any;

type Site = Awaited<ReturnType<typeof listen>>;
interface Seen {
  method: string;
  path: string;
  origin: string | null;
  requestMethod: string | null;
  requestHeaders: string | null;
  status: number;
  allowOrigin: string | null;
  allowCredentials: string | null;
  vary: string | null;
}

const page = (title: string) => (req: Request) =>
  new URL(req.url).pathname === '/'
    ? new Response(`<!doctype html><title>${title}</title><p>${title}</p>`, { headers: { 'Content-Type': 'text/html' } })
    : new Response('no', { status: 404 });

/** imgpath on a socket, recording every request that reaches it and the CORS headers of its answer. */
async function serveRecorded(t: TestApp) {
  const seen: Seen[] = [];
  const site = await listen(async (req) => {
    const res = await t.app.fetch(req);
    const h = (name: string) => res.headers.get(name);
    const url = new URL(req.url);
    seen.push({
      method: req.method,
      path: url.pathname + url.search,
      origin: req.headers.get('origin'),
      requestMethod: req.headers.get('access-control-request-method'),
      requestHeaders: req.headers.get('access-control-request-headers'),
      status: res.status,
      allowOrigin: h('access-control-allow-origin'),
      allowCredentials: h('access-control-allow-credentials'),
      vary: h('vary'),
    });
    return res;
  });
  return { ...site, seen };
}

let chromium: Chromium | undefined;
let allowedSite: Site;
let otherSite: Site;
let listed: TestApp; // CORS_ORIGINS and CORS_IMAGE_ORIGINS: the allowed site and one more
let defaults: TestApp; // no CORS_ORIGINS: the JSON API for no one, images for everyone
let listedApi: Awaited<ReturnType<typeof serveRecorded>>;
let defaultApi: Awaited<ReturnType<typeof serveRecorded>>;
let imageId: string;
let defaultImageId: string;
let fromAllowed: Page;
let fromOther: Page;

beforeEach(() => {
  if (missingBrowser) throw new Error(missingBrowser);
});

beforeAll(async () => {
  if (missingBrowser) return;
  allowedSite = await listen(page('allowed site'));
  otherSite = await listen(page('other site'));
  const origins = `${allowedSite.url},https://partner.example`;
  // Unsigned transforms on, so an anonymous <img> may ask for w_64.
  listed = await testApp({ CORS_ORIGINS: origins, CORS_IMAGE_ORIGINS: origins, ALLOW_UNSIGNED_TRANSFORMS: 'true' });
  defaults = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true' });
  imageId = await listed.seed('dune-2mp.jpg');
  defaultImageId = await defaults.seed('dune-2mp.jpg');
  listedApi = await serveRecorded(listed);
  defaultApi = await serveRecorded(defaults);
  chromium = await launchChromium();
  fromAllowed = await (await chromium.browser.newContext()).newPage();
  fromOther = await (await chromium.browser.newContext()).newPage();
  await fromAllowed.goto(allowedSite.url);
  await fromOther.goto(otherSite.url);
}, 60_000);

/** What reached the server, for a reader who wants to see the exchange (like the dashboard test's screenshot). */
const EXCHANGE = '/tmp/imgpath-cors-requests.json';

afterAll(async () => {
  if (listedApi)
    fs.writeFileSync(
      EXCHANGE,
      JSON.stringify({ allowedSite: allowedSite.url, otherSite: otherSite.url, api: listedApi.url, requests: listedApi.seen }, null, 2),
    );
  await chromium?.close();
  for (const s of [listedApi, defaultApi, allowedSite, otherSite]) await s?.close();
  await listed?.cleanup();
  await defaults?.cleanup();
});

/** fetch() from the page: what its script can see, or the error the browser raised. */
function pageFetch(p: Page, url: string, init: Record<string, unknown> = {}) {
  return p.evaluate(
    async ([u, i]) => {
      try {
        const res = await fetch(u, i);
        const text = await res.text();
        return { ok: true as const, status: res.status, body: text, requestId: res.headers.get('x-request-id'), contentType: res.headers.get('content-type') };
      } catch (err) {
        return { ok: false as const, error: `${(err as Error).name}: ${(err as Error).message}` };
      }
    },
    [url, init] as const,
  );
}

/** Load an image in the page and read one pixel back through a canvas. */
function drawAndRead(p: Page, src: string, crossOrigin: string | null) {
  return p.evaluate(
    ([s, co]) =>
      new Promise<{ loaded: boolean; width?: number; pixel?: number[]; readError?: string }>((resolve) => {
        const img = new Image();
        if (co !== null) img.crossOrigin = co;
        img.onerror = () => resolve({ loaded: false });
        img.onload = () => {
          const canvas = document.createElement('canvas');
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          const ctx = canvas.getContext('2d');
          ctx.drawImage(img, 0, 0);
          try {
            resolve({ loaded: true, width: img.naturalWidth, pixel: [...ctx.getImageData(10, 10, 1, 1).data] });
          } catch (err) {
            resolve({ loaded: true, width: img.naturalWidth, readError: (err as Error).name });
          }
        };
        img.src = s;
      }),
    [src, crossOrigin] as const,
  );
}

const since = (seen: Seen[], from: number) => seen.slice(from);

describe("JSON API with CORS_ORIGINS naming the page's origin", () => {
  test('a simple GET is read by the allowed page', async () => {
    const before = listedApi.seen.length;
    const res = await pageFetch(fromAllowed, `${listedApi.url}/random.json?count=1`);
    expect(res).toMatchObject({ ok: true, status: 200, contentType: 'application/json' });
    expect(res.ok && JSON.parse(res.body).images[0].id).toBe(imageId);
    expect(res.ok && res.requestId).toMatch(/.+/); // an exposed header
    expect(since(listedApi.seen, before)).toEqual([
      expect.objectContaining({
        method: 'GET',
        origin: allowedSite.url,
        status: 200,
        allowOrigin: allowedSite.url,
        allowCredentials: 'true',
        vary: expect.stringMatching(/Origin/),
      }),
    ]);
  });

  test('a request with an API key header is preflighted, then answered', async () => {
    const before = listedApi.seen.length;
    const res = await pageFetch(fromAllowed, `${listedApi.url}/images?limit=5`, { headers: { 'X-API-Key': listed.adminKey } });
    expect(res).toMatchObject({ ok: true, status: 200 });
    expect(res.ok && JSON.parse(res.body).total).toBe(1);
    expect(since(listedApi.seen, before)).toEqual([
      expect.objectContaining({
        method: 'OPTIONS',
        path: '/images?limit=5',
        requestMethod: 'GET',
        requestHeaders: 'x-api-key',
        status: 204,
        allowOrigin: allowedSite.url,
      }),
      expect.objectContaining({ method: 'GET', path: '/images?limit=5', status: 200, allowOrigin: allowedSite.url }),
    ]);
  });

  test('a JSON POST with Authorization: Bearer is preflighted, then answered; credentials mode works', async () => {
    const before = listedApi.seen.length;
    const res = await pageFetch(fromAllowed, `${listedApi.url}/sign`, {
      method: 'POST',
      credentials: 'include',
      headers: { Authorization: `Bearer ${listed.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: imageId, options: 'w_300,f_webp', expiresIn: 600 }),
    });
    expect(res).toMatchObject({ ok: true, status: 200 });
    expect(res.ok && JSON.parse(res.body).url).toMatch(new RegExp(`/img/s--.+--/w_300,f_webp,exp_\\d+/${imageId}$`));
    expect(since(listedApi.seen, before)).toEqual([
      expect.objectContaining({
        method: 'OPTIONS',
        path: '/sign',
        requestMethod: 'POST',
        requestHeaders: 'authorization,content-type',
        status: 204,
        allowOrigin: allowedSite.url,
        allowCredentials: 'true',
      }),
      expect.objectContaining({ method: 'POST', path: '/sign', status: 200, allowOrigin: allowedSite.url }),
    ]);
  });

  test('an error is readable by the page, with its reason', async () => {
    const res = await pageFetch(fromAllowed, `${listedApi.url}/images`, { headers: { 'X-API-Key': 'imgp_not-a-key' } });
    expect(res).toMatchObject({ ok: true, status: 401 });
    expect(res.ok && JSON.parse(res.body).error.code).toBe('invalid_key');
  });

  test('a page on an origin not listed cannot read anything, and its preflighted request is never sent', async () => {
    const before = listedApi.seen.length;
    const simple = await pageFetch(fromOther, `${listedApi.url}/random.json`);
    expect(simple).toEqual({ ok: false, error: 'TypeError: Failed to fetch' });
    const keyed = await pageFetch(fromOther, `${listedApi.url}/images`, { headers: { 'X-API-Key': listed.adminKey } });
    expect(keyed).toEqual({ ok: false, error: 'TypeError: Failed to fetch' });
    expect(since(listedApi.seen, before)).toEqual([
      // The simple GET reaches the server (CORS guards the answer, not the request), without permission.
      expect.objectContaining({ method: 'GET', path: '/random.json', origin: otherSite.url, allowOrigin: null }),
      // The keyed one stops at its preflight: the key never left the browser.
      expect.objectContaining({ method: 'OPTIONS', path: '/images', origin: otherSite.url, status: 204, allowOrigin: null }),
    ]);
  });

  test('with CORS_ORIGINS unset, no other origin reads the API', async () => {
    expect(await pageFetch(fromAllowed, `${defaultApi.url}/random.json`)).toEqual({ ok: false, error: 'TypeError: Failed to fetch' });
  });
});

describe('<img crossorigin> drawn into a canvas and read back', () => {
  test('allowed origin: a rendition and a /random redirect are readable', async () => {
    for (const path of [`/img/w_64/${imageId}`, '/random']) {
      const r = await drawAndRead(fromAllowed, `${listedApi.url}${path}`, 'anonymous');
      expect({ path, loaded: r.loaded, readError: r.readError }).toEqual({ path, loaded: true, readError: undefined });
      expect(r.pixel![3]).toBe(255); // opaque JPEG pixels, actually read
    }
    const redirect = listedApi.seen.findLast((s) => s.path === '/random')!;
    expect(redirect).toMatchObject({ status: 302, allowOrigin: allowedSite.url, vary: expect.stringMatching(/Origin/) });
  });

  test('origin not listed: the crossorigin load fails, a plain <img> loads but taints the canvas', async () => {
    const src = `${listedApi.url}/img/w_64/${imageId}`;
    expect(await drawAndRead(fromOther, src, 'anonymous')).toEqual({ loaded: false });
    expect(await drawAndRead(fromOther, src, null)).toEqual({ loaded: true, width: 64, readError: 'SecurityError' });
  });

  test('by default (CORS_IMAGE_ORIGINS=*) any page may read images, with and without credentials mode', async () => {
    const r = await drawAndRead(fromOther, `${defaultApi.url}/img/w_64/${defaultImageId}`, 'anonymous');
    expect([r.loaded, r.width, r.readError, r.pixel?.[3]]).toEqual([true, 64, undefined, 255]);
    const last = defaultApi.seen.at(-1)!;
    expect(last).toMatchObject({ origin: otherSite.url, allowOrigin: '*', allowCredentials: null });
    expect(last.vary ?? '').not.toMatch(/Origin/);
    // use-credentials needs a named origin and Allow-Credentials: * never grants it.
    expect(await drawAndRead(fromOther, `${defaultApi.url}/img/w_65/${defaultImageId}`, 'use-credentials')).toEqual({ loaded: false });
  });
});
