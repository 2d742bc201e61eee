import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { listen, testApp, type TestApp } from '../helpers/app.js';
import { launchChromium, missingBrowser, type Chromium } from '../helpers/chromium.js';

/**
 * Client hints as Debian's Chromium sends them: a page on another 127.0.0.1 port (another
 * origin, as a site in front of an image server is) opts in with `<meta http-equiv="Delegate-CH">`
 * or with `Accept-CH` + `Permissions-Policy` headers, and lays out `<img sizes>` at known CSS
 * widths. imgpath, on its own socket, records the hints that reached it and the width it sent;
 * the test compares both with the layout the page measured. Plain http on loopback is a secure
 * context, so Chromium sends hints there (no --unsafely-treat-insecure-origin-as-secure needed).
 */

// The page-side callbacks below run in Chromium; the project compiles without the DOM library.
declare const document: any;
declare const window: any;

interface Seen {
  slot: string;
  secChWidth: string | null;
  width: string | null;
  secChDpr: string | null;
  dpr: string | null;
  status: number;
  delivered?: number;
  vary: string | null;
  contentDpr: string | null;
  etag: string | null;
}

interface Laid {
  slot: string;
  cssWidth: number;
  naturalWidth: number;
  dpr: number;
}

const STEPS = [160, 320, 480, 640, 800, 1024, 1280, 1600, 1920, 2560, 3840];
const stepUp = (w: number) => STEPS.find((s) => s >= w) ?? STEPS[STEPS.length - 1];

let chromium: Chromium | undefined;
let t: TestApp;
let id: string;
let images: Awaited<ReturnType<typeof listen>>;
let site: Awaited<ReturnType<typeof listen>>;
const seen: Seen[] = [];

beforeEach(() => {
  if (missingBrowser) throw new Error(missingBrowser);
});

/** The page: one <img> per slot, each at a known CSS width, its `sizes` saying the same. */
function page(opt: 'delegate' | 'headers' | 'none', imgOrigin: string): Response {
  const src = (options: string, slot: string) => `${imgOrigin}/img/${options}/${id}?slot=${slot}`;
  const meta =
    opt === 'delegate'
      ? `<meta http-equiv="Delegate-CH" content="sec-ch-width ${imgOrigin}; sec-ch-dpr ${imgOrigin}; width ${imgOrigin}; dpr ${imgOrigin}">`
      : '';
  const headers: Record<string, string> = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };
  if (opt === 'headers') {
    headers['Accept-CH'] = 'Sec-CH-Width, Sec-CH-DPR, Width, DPR';
    headers['Permissions-Policy'] = `ch-width=(self "${imgOrigin}"), ch-dpr=(self "${imgOrigin}")`;
  }
  const html = `<!doctype html><html><head>${meta}<style>body{margin:0} img{display:block}</style></head><body>
<img data-slot="fixed300" sizes="300px" style="width:300px" src="${src('w_auto', 'fixed300')}">
<img data-slot="fixed301" sizes="301px" style="width:301px" src="${src('w_auto', 'fixed301')}">
<img data-slot="fixed310" sizes="310px" style="width:310px" src="${src('w_auto', 'fixed310')}">
<img data-slot="half" sizes="(max-width: 600px) 100vw, 50vw" style="width:50vw" src="${src('w_auto,q_70', 'half')}">
<img data-slot="card" sizes="180px" style="width:180px" src="${src('w_auto,h_120,c_fill,dpr_auto', 'card')}">
<img data-slot="nosizes" style="width:200px" src="${src('w_auto:200,dpr_auto', 'nosizes')}">
</body></html>`;
  return new Response(html, { headers });
}

beforeAll(async () => {
  if (missingBrowser) return;
  // An anonymous <img> asks for w_auto: unsigned transforms on (a signed URL works the same way).
  t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0' });
  id = await t.seed('dune-2mp.jpg'); // 1680 px wide: every step up to 1600 is a downscale
  images = await listen(async (req) => {
    const res = await t.app.fetch(req);
    const url = new URL(req.url);
    const h = (name: string) => req.headers.get(name);
    const entry: Seen = {
      slot: url.searchParams.get('slot') ?? url.pathname,
      secChWidth: h('sec-ch-width'),
      width: h('width'),
      secChDpr: h('sec-ch-dpr'),
      dpr: h('dpr'),
      status: res.status,
      vary: res.headers.get('vary'),
      contentDpr: res.headers.get('content-dpr'),
      etag: res.headers.get('etag'),
    };
    if (res.status === 200) entry.delivered = (await sharp(Buffer.from(await res.clone().arrayBuffer())).metadata()).width;
    seen.push(entry);
    return res;
  });
  site = await listen((req) => {
    const opt = new URL(req.url).pathname.slice(1);
    if (opt === 'delegate' || opt === 'headers' || opt === 'none') return page(opt, images.url);
    return new Response('no', { status: 404 });
  });
  chromium = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chromium?.close();
  await site?.close();
  await images?.close();
  await t?.cleanup();
});

/** Load the page at this device scale factor; what the page laid out, and what reached imgpath. */
async function visit(opt: 'delegate' | 'headers' | 'none', deviceScaleFactor: number) {
  const context = await chromium!.browser.newContext({ deviceScaleFactor, viewport: { width: 1000, height: 800 } });
  try {
    const tab = await context.newPage();
    seen.length = 0;
    await tab.goto(`${site.url}/${opt}`);
    await tab.waitForFunction(() => [...document.images].every((img: any) => img.complete && img.naturalWidth > 0), undefined, { timeout: 20_000 });
    const laid: Laid[] = await tab.evaluate(() =>
      [...document.images].map((img: any) => ({
        slot: img.dataset.slot,
        cssWidth: img.getBoundingClientRect().width,
        naturalWidth: img.naturalWidth,
        dpr: window.devicePixelRatio,
      })),
    );
    const bySlot = new Map(seen.map((s) => [s.slot, s]));
    return { laid: new Map(laid.map((l) => [l.slot, l])), seen: bySlot };
  } finally {
    await context.close();
  }
}

describe.each([
  ['<meta http-equiv="Delegate-CH">', 'delegate' as const],
  ['Accept-CH + Permissions-Policy headers', 'headers' as const],
])('a page opting in with %s', (_name, opt) => {
  test.each([1, 2, 1.5])('at DPR %s, imgpath receives the layout width in device pixels and delivers its step', async (dsf) => {
    const { laid, seen: got } = await visit(opt, dsf);
    for (const slot of ['fixed300', 'fixed301', 'fixed310', 'half']) {
      const l = laid.get(slot)!;
      const s = got.get(slot)!;
      expect(l.dpr).toBe(dsf);
      // What Chromium sent: the sizes width (= the CSS layout width) times the DPR, rounded up.
      const devicePx = Math.ceil(l.cssWidth * dsf);
      expect({ slot, secChWidth: s.secChWidth, width: s.width, secChDpr: s.secChDpr }).toEqual({
        slot,
        secChWidth: String(devicePx),
        width: String(devicePx),
        secChDpr: String(dsf),
      });
      // What imgpath sent back: that width rounded up to its step; and the page decoded exactly that.
      expect({ slot, delivered: s.delivered, natural: l.naturalWidth }).toEqual({ slot, delivered: stepUp(devicePx), natural: stepUp(devicePx) });
      expect(s.vary).toBe('Sec-CH-Width, Width');
    }
    // 301 and 310 CSS px round to one step (320, or 640 at 2x): one cache entry, one ETag.
    expect(got.get('fixed310')!.etag).toBe(got.get('fixed301')!.etag);

    // w_auto,h_120,c_fill,dpr_auto at 180 CSS px: width from the hint, height times the DPR step.
    const card = got.get('card')!;
    expect(Number(card.secChWidth)).toBe(Math.ceil(180 * dsf));
    expect(card.delivered).toBe(stepUp(Math.ceil(180 * dsf)));
    expect(card.vary).toBe('Sec-CH-Width, Width, Sec-CH-DPR, DPR');
    expect(Number(card.contentDpr)).toBeCloseTo(stepUp(Math.ceil(180 * dsf)) / 180, 2);
    // Chromium honours Content-DPR: the image's intrinsic width is its CSS slot again, not its pixels.
    expect(laid.get('card')!.naturalWidth).toBe(180);

    // No sizes attribute: Chromium sends the DPR but no width, so w_auto:200 is a CSS width times the DPR step.
    const nosizes = got.get('nosizes')!;
    expect([nosizes.secChWidth, nosizes.secChDpr]).toEqual([null, String(dsf)]);
    expect(nosizes.delivered).toBe(200 * dsf);
    expect(nosizes.contentDpr).toBe(String(dsf));
    expect(laid.get('nosizes')!.naturalWidth).toBe(200);
  });
});

test('a page that does not opt in sends no hints: w_auto falls back, still answering Vary', async () => {
  const { laid, seen: got } = await visit('none', 2);
  for (const slot of ['fixed300', 'half']) {
    const s = got.get(slot)!;
    expect([s.secChWidth, s.width, s.secChDpr, s.dpr]).toEqual([null, null, null, null]);
    expect(s.delivered).toBe(1280);
    expect(laid.get(slot)!.naturalWidth).toBe(1280);
    expect(s.vary).toBe('Sec-CH-Width, Width');
  }
  expect(got.get('nosizes')!.delivered).toBe(200);
});
