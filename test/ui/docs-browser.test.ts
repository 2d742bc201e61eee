import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { listen, testApp, type TestApp } from '../helpers/app.js';
import { launchChromium, missingBrowser, type Chromium } from '../helpers/chromium.js';

/**
 * /docs in Chromium with every request to anywhere but 127.0.0.1 aborted: the reference must
 * render from our own routes alone, under its Content-Security-Policy, with no violation.
 */

declare const document: any;

let t: TestApp;
let site: Awaited<ReturnType<typeof listen>>;
let chromium: Chromium | undefined;
let page: Page;
const blocked: string[] = [];
const problems: string[] = [];
const requested: string[] = [];

beforeEach(() => {
  if (missingBrowser) throw new Error(missingBrowser);
});

beforeAll(async () => {
  if (missingBrowser) return;
  t = await testApp();
  site = await listen(t.app.fetch);
  chromium = await launchChromium();
  const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
  // The outside world is gone: only this machine's loopback answers.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    blocked.push(url.href);
    return route.abort('internetdisconnected');
  });
  page = await context.newPage();
  page.on('request', (req) => requested.push(req.url()));
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
}, 60_000);

afterAll(async () => {
  await chromium?.close();
  await site?.close();
  await t?.cleanup();
});

test('/docs lists every operation of /openapi.json with nothing from the network', async () => {
  const res = await page.goto(`${site.url}/docs`);
  expect(res!.status()).toBe(200);
  expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'/);
  const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
  const operationIds = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));

  await page.waitForSelector('.opblock', { timeout: 20_000 });
  await expect.poll(() => page.locator('.opblock').count()).toBe(operationIds.length);
  // Swagger UI shows each operation's id (displayOperationId): the generated ones are there.
  const shown = await page.locator('.opblock .opblock-summary-operation-id').allTextContents();
  expect(shown.sort()).toEqual([...operationIds].sort());
  expect(await page.textContent('.info .title')).toContain('imgpath');
  // Expanding one shows its error responses with the shared error schema.
  await page.locator('#operations-images-getImagesById .opblock-summary-control').click();
  await page.waitForSelector('#operations-images-getImagesById .responses-table');
  expect(await page.locator('#operations-images-getImagesById .response[data-code="404"]').count()).toBe(1);

  // "Try it out" reaches the API through the document's server ("/"), within connect-src 'self'.
  const health = page.locator('[id$="-getHealthz"].opblock');
  await health.locator('.opblock-summary-control').click();
  await health.locator('button.try-out__btn').click();
  await health.locator('button.execute').click();
  await expect.poll(() => health.locator('.live-responses-table tbody .response-col_status').first().textContent()).toContain('200');
  expect(await health.locator('.live-responses-table .microlight').first().textContent()).toContain('"status"');
  await page.screenshot({ path: '/tmp/imgpath-docs.png' }); // for a human to look at
  expect(blocked).toEqual([]);
  expect(requested.filter((u) => !u.startsWith(site.url))).toEqual([]);
  expect(problems).toEqual([]);
  expect(await page.evaluate(() => document.querySelectorAll('script[src^="http"], link[href^="http"]').length)).toBe(0);
});
