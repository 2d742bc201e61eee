import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { listen, sample, SAMPLES, testApp, type TestApp } from '../helpers/app.js';

/**
 * The dashboard in a real Chromium (Debian's package, installed by scripts/install-test-deps.sh)
 * against the real app on a real socket: what a person clicking through it would see.
 */

// The page-side callbacks below run in Chromium; the project compiles without the DOM library.
declare const document: { querySelector(selector: string): any; querySelectorAll(selector: string): Iterable<any> };
declare const sessionStorage: { length: number };

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/imgpath-dashboard.png';
// Playwright gives every launch a fresh temporary --user-data-dir of its own (and refuses one in args).
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let t: TestApp;
let site: Awaited<ReturnType<typeof listen>>;
let browserServer: BrowserServer | undefined;
let browser: Browser | undefined;
let page: Page;
const problems: string[] = [];
const requestedUrls: string[] = [];

const missingBrowser = fs.existsSync(CHROMIUM)
  ? undefined
  : `Chromium is missing at ${CHROMIUM}: run "bash scripts/install-test-deps.sh" as root (it runs apt-get install chromium) — the dashboard browser test needs it`;

// Each test fails with the reason (a beforeAll error would only mark them skipped).
beforeEach(() => {
  if (missingBrowser) throw new Error(missingBrowser);
});

beforeAll(async () => {
  if (missingBrowser) return;
  t = await testApp();
  await t.seed('dune-2mp.jpg', { tags: ['desert'] });
  await t.seed('sunset-12mp.jpg', { tags: ['sky'], collection: 'holidays' });
  await t.seed('dragonfly-alpha.png', { visibility: 'private', tags: ['insect'] });
  site = await listen(t.app.fetch);
  browserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: ARGS, headless: true });
  browser = await chromium.connect(browserServer.wsEndpoint());
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => /Content.Security.Policy|Refused to/i.test(msg.text()) && problems.push(`CSP: ${msg.text()}`));
  page.on('request', (req) => requestedUrls.push(req.url()));
});

afterAll(async () => {
  const pid = browserServer?.process().pid;
  await browser?.close().catch(() => {});
  const closed = await browserServer?.close().then(
    () => true,
    () => false,
  );
  // Only when close() failed: after a clean close the pid may already belong to someone else.
  if (closed === false && pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await site?.close();
  await t?.cleanup();
});

interface ImageAnswer {
  focalPoint: { x: number; y: number } | null;
  tags: string[];
}
const imageAnswer = async (id: string) => (await (await t.request(`/images/${id}`, { headers: { 'X-API-Key': t.adminKey } })).json()) as ImageAnswer;

const tiles = () => page.locator('#grid li[data-id]');

/** Every tile shows its real 240×240 thumbnail (a blob: URL), not only the placeholder. */
async function thumbnailsLoaded(count: number) {
  await page.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll('#grid li[data-id] img')];
    return (
      imgs.length === n &&
      imgs.every((img: { complete: boolean; src: string; naturalWidth: number }) => img.complete && img.src.startsWith('blob:') && img.naturalWidth === 240)
    );
  }, count);
}

describe('the dashboard in Chromium', () => {
  test("a wrong key is refused with the server's message", async () => {
    await page.goto(`${site.url}/dashboard`);
    await page.fill('#key-form input[name=key]', 'imgp_not-a-real-key');
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#signin-error')).toContain('Invalid or revoked API key');
    expect(await page.isVisible('#library')).toBe(false);
  });

  test('signs in with an API key and shows the library with real thumbnails', async () => {
    await page.fill('#key-form input[name=key]', t.adminKey);
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#who')).toBe('API key');
    await thumbnailsLoaded(3);
    expect(await page.textContent('#page-info')).toBe('Page 1 of 1 · 3 images');
    const privateTile = tiles().filter({ hasText: 'dragonfly-alpha.png' });
    expect(await privateTile.locator('.badge').textContent()).toBe('private');
    // The key stays in this tab across a reload, and never travels in a URL.
    await page.reload();
    await thumbnailsLoaded(3);
    expect(requestedUrls.filter((u) => u.includes(t.adminKey))).toEqual([]);
  });

  test('filters by tag', async () => {
    await page.fill('#filters input[name=tag]', 'desert');
    await page.click('#filters button');
    await thumbnailsLoaded(1);
    expect(await tiles().textContent()).toContain('dune-2mp.jpg');
    await page.fill('#filters input[name=tag]', '');
    await page.click('#filters button');
    await thumbnailsLoaded(3);
  });

  let uploadedId = '';
  test('uploads through the file input: new, duplicate and a refused file each say so', async () => {
    await page.setInputFiles('#upload-files', path.join(SAMPLES, 'friends-portrait.jpg'));
    await expect.poll(() => page.textContent('#uploads li.ok .status')).toMatch(/^new · 2056×3088 jpeg · /);
    uploadedId = (await page.textContent('#uploads li.ok .status'))!.split(' · ').pop()!;
    await thumbnailsLoaded(4);
    expect(await tiles().first().getAttribute('data-id')).toBe(uploadedId); // newest first

    await page.setInputFiles('#upload-files', [
      { name: 'friends-portrait.jpg', mimeType: 'image/jpeg', buffer: sample('friends-portrait.jpg') },
      { name: 'notes <b>.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image at all') },
    ]);
    await expect.poll(() => page.locator('#uploads li').count()).toBe(2);
    await expect.poll(() => page.textContent('#uploads li.duplicate .status')).toBe(`already in the library (${uploadedId})`);
    await expect.poll(() => page.textContent('#uploads li.failed .status')).toMatch(/\(415 \w+\)$/);
    // The file name is shown as text, not parsed as markup.
    expect(await page.textContent('#uploads li.failed .name')).toBe('notes <b>.txt');
    await thumbnailsLoaded(4);
  });

  test('opens the image, sets the focal point and edits its tags', async () => {
    await tiles().filter({ hasText: 'friends-portrait.jpg' }).locator('button').click();
    await expect.poll(() => page.textContent('#d-title')).toBe('friends-portrait.jpg');
    await page.waitForFunction(() => document.querySelector('#d-image')!.classList.contains('loaded'));
    expect(await page.textContent('#d-meta')).toContain('2056 × 3088');

    const box = (await page.locator('#d-image').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.3);
    await expect.poll(() => page.textContent('#d-status')).toMatch(/^Focal point set/);
    const afterFocal = await imageAnswer(uploadedId);
    expect(afterFocal.focalPoint!.x).toBeCloseTo(0.25, 1);
    expect(afterFocal.focalPoint!.y).toBeCloseTo(0.3, 1);
    expect(await page.isVisible('#d-marker')).toBe(true);

    await page.fill('#d-edit input[name=tags]', 'family, portrait');
    await page.click('#d-edit button:not([type])');
    await expect.poll(() => page.textContent('#d-status')).toBe('Saved.');
    const afterEdit = await imageAnswer(uploadedId);
    expect(afterEdit.tags).toEqual(['family', 'portrait']);
  });

  test('builds w_300,f_webp, previews it at 300 px wide and signs it', async () => {
    await page.fill('#builder input[name=w]', '300');
    await page.selectOption('#builder select[name=f]', 'webp');
    await expect.poll(() => page.inputValue('#b-url')).toBe(`${site.url}/img/w_300,f_webp/${uploadedId}`);
    await page.waitForFunction(() => {
      const img = document.querySelector('#b-preview')!;
      return img.complete && img.naturalWidth === 300 && document.querySelector('#b-info')!.textContent!.includes('image/webp');
    });
    expect(await page.textContent('#b-info')).toMatch(/^300 × 451 · image\/webp · /); // 3088 × 300 / 2056, rounded

    await page.click('#b-sign');
    await expect.poll(() => page.inputValue('#b-signed')).toMatch(new RegExp(`^${site.url}/img/s--[\\w-]+\\.[\\w-]+--/w_300,f_webp/${uploadedId}$`));
    // The signed URL works for anyone, with no key: what a page would embed.
    const signed = await fetch(await page.inputValue('#b-signed'));
    expect(signed.status).toBe(200);
    expect(signed.headers.get('content-type')).toBe('image/webp');
    await page.screenshot({ path: SCREENSHOT });
  });

  test('deletes the image after confirming, and it is gone', async () => {
    page.once('dialog', (d) => void d.accept());
    await page.click('#d-delete');
    await page.waitForFunction(() => !document.querySelector('#detail')!.open);
    await thumbnailsLoaded(3);
    expect(await page.locator(`#grid li[data-id="${uploadedId}"]`).count()).toBe(0);
    expect((await t.request(`/images/${uploadedId}`, { headers: { 'X-API-Key': t.adminKey } })).status).toBe(404);
  });

  test('signs out, then in with a username and password', async () => {
    // Admins are made with the admin key (registration only ever makes plain users).
    const reg = await t.request('/users', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': t.adminKey },
      body: JSON.stringify({ username: 'ada', password: 'correct horse battery', role: 'admin' }),
    });
    expect(reg.status).toBe(201);
    await page.click('#sign-out');
    expect(await page.isVisible('#signin')).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await page.fill('#login-form input[name=username]', 'ada');
    await page.fill('#login-form input[name=password]', 'wrong password');
    await page.click('#login-form button');
    // A password check is a scrypt hash (~0.5 s, seconds on a loaded 2-core CI box): wait for it, not for poll's 1 s default.
    await expect.poll(() => page.textContent('#signin-error'), { timeout: 20_000 }).toContain('Invalid username or password');

    await page.fill('#login-form input[name=password]', 'correct horse battery');
    await page.click('#login-form button');
    await expect.poll(() => page.textContent('#who'), { timeout: 20_000 }).toBe('Signed in as ada (admin)');
    await thumbnailsLoaded(3); // an admin sees the whole library, private images included
  });

  test('ran without script errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
