import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserServer } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { listen, testApp, type TestApp } from '../helpers/app.js';

/**
 * imgpath/client as users get it: `npm run build` into a temp dist/, next to a copy of the
 * real package.json (so its `exports` map is what resolves `imgpath/client`), linked into a
 * temp app's node_modules. Plain `node` (no tsx) imports it by package name and talks to a
 * real server; esbuild bundles the browser entry, which then runs in real Chromium.
 */

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'client-test-secret-0123456789';
const CHROMIUM = '/usr/bin/chromium';
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

// Page-side code runs in Chromium; the project compiles without the DOM library.
declare const document: { createElement(tag: string): any; body: { append(el: unknown): void } };
declare const window: { imgpath: typeof import('../../src/client/browser.js') };

let tmp: string;
let appDir: string;
let t: TestApp;
let site: Awaited<ReturnType<typeof listen>>;
let privateId: string;
let publicId: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'imgpath-client-'));
  const pkg = path.join(tmp, 'pkg');
  appDir = path.join(tmp, 'app');
  await fsp.mkdir(path.join(appDir, 'node_modules'), { recursive: true });
  await fsp.writeFile(path.join(appDir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  // The npm script itself, pointed at a temp dist so the working tree is never touched.
  await exec('npm', ['run', 'build', '--', '--outDir', path.join(pkg, 'dist')], { cwd: ROOT });
  await fsp.copyFile(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  await fsp.symlink(pkg, path.join(appDir, 'node_modules', 'imgpath'), 'dir');

  t = await testApp({ SIGNING_KEYS: `k1:${SECRET}` });
  privateId = await t.seed('dune-2mp.jpg', { visibility: 'private' });
  publicId = await t.seed('dragonfly-alpha.png', { visibility: 'public' });
  site = await listen(t.app.fetch);
});

afterAll(async () => {
  await site?.close();
  await t?.cleanup();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Run an ES module in the temp app with plain node: no tsx, no vitest, no loader flags. */
async function runNode(source: string, env: Record<string, string>): Promise<any> {
  const file = path.join(appDir, `run-${Math.random().toString(36).slice(2)}.mjs`);
  await fsp.writeFile(file, source);
  const { stdout } = await exec(process.execPath, [file], { cwd: appDir, env: { PATH: process.env.PATH ?? '', ...env } });
  return JSON.parse(stdout);
}

async function fetchImage(url: string) {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, body: body.toString() };
  const meta = await sharp(body).metadata();
  return { status: res.status, format: meta.format, width: meta.width, height: meta.height };
}

describe('imgpath/client from plain node', () => {
  let out: Record<string, any>;

  beforeAll(async () => {
    out = await runNode(
      `
      import { BadOptionError, createImgpath, createSigner, formatOptions, requestPolicyToken, signUrl } from 'imgpath/client';
      const { BASE, KEY, PRIVATE_ID, PUBLIC_ID, SECRET } = process.env;
      const signer = createSigner({ kid: 'k1', secret: SECRET, expiresIn: 3600, now: () => 1_700_000_000 });
      const signed = createImgpath({ baseUrl: BASE, signer });
      const out = {};
      out.signed = signed.url(PRIVATE_ID, { w: 120, f: 'webp' });
      out.signedExt = signed.url(PRIVATE_ID, { w: 80 }, { ext: 'png' });
      out.signedSrcset = signed.srcset(PRIVATE_ID, { c: 'fill', ar: { w: 1, h: 1 } }, { widths: [64, 128] });
      out.signUrl = signUrl({ baseUrl: BASE, kid: 'k1', secret: SECRET, id: PRIVATE_ID, options: 'w_100,f_jpg' });
      out.loader = createImgpath({ baseUrl: BASE, signer: createSigner({ kid: 'k1', secret: SECRET }) }).loader({ src: PUBLIC_ID, width: 256, quality: 60 });
      out.canonical = formatOptions({ w: 300, dpr: 2, q: 'auto', c: 'fit', e_blur: 5 });
      const { token } = await requestPolicyToken({ baseUrl: BASE, credential: KEY, ids: [PRIVATE_ID], policy: { width: { min: 50, max: 400 }, formats: ['webp'] }, expiresIn: 600 });
      const tokened = createImgpath({ baseUrl: BASE, token }, { f: 'webp' });
      out.tokenSrcset = tokened.srcset(PRIVATE_ID, undefined, { widths: [100, 200] });
      out.tooWide = tokened.url(PRIVATE_ID, { w: 800 });
      try { signed.url(PUBLIC_ID, { w: 0 }); } catch (e) { out.bad = { instance: e instanceof BadOptionError, status: e.status, json: e.toJSON() }; }
      try { await requestPolicyToken({ baseUrl: BASE, credential: 'imgp_nope', ids: [PRIVATE_ID], policy: {} }); } catch (e) { out.refused = { name: e.name, status: e.status, code: e.code }; }
      console.log(JSON.stringify(out));
      `,
      { BASE: site.url, KEY: t.adminKey, PRIVATE_ID: privateId, PUBLIC_ID: publicId, SECRET },
    );
  });

  it('signs exactly as the server signs (the same signature code, built)', () => {
    const path = signedImagePath(privateId, 'f_webp,w_120', { kid: 'k1', secret: SECRET }, { expiresAt: 1_700_003_600 });
    expect(out.signed).toBe(`${site.url}${path}`);
  });

  it('makes signed URLs a real server accepts without any credential, and refuses when tampered with', async () => {
    // out.signed was signed at a fixed past "now" (to compare strings), so it has expired: sign fresh ones to fetch.
    const fresh = await runNode(
      `
      import { createImgpath, createSigner } from 'imgpath/client';
      const c = createImgpath({ baseUrl: process.env.BASE, signer: createSigner({ kid: 'k1', secret: process.env.SECRET, expiresIn: 600 }) });
      console.log(JSON.stringify({ url: c.url(process.env.ID, { w: 120, f: 'webp' }), ext: c.url(process.env.ID, { w: 80 }, { ext: 'png' }) }));
      `,
      { BASE: site.url, SECRET, ID: privateId },
    );
    expect(await fetchImage(fresh.url)).toMatchObject({ status: 200, format: 'webp', width: 120 });
    expect(await fetchImage(fresh.ext)).toMatchObject({ status: 200, format: 'png', width: 80 });
    expect(await fetchImage(out.signUrl)).toMatchObject({ status: 200, format: 'jpeg', width: 100 });
    const tampered = fresh.url.replace('w_120', 'w_121');
    expect((await fetchImage(tampered)).status).toBe(403);
  });

  it('srcset entries are signed per width and render at that width', async () => {
    const entries = (out.signedSrcset as string).split(', ').map((e) => e.split(' '));
    expect(entries.map(([, d]) => d)).toEqual(['64w', '128w']);
    for (const [url, d] of entries) {
      expect(url).toMatch(new RegExp(`/img/s--k1\\.[\\w-]{43}--/c_fill,h_${parseInt(d, 10)},w_${parseInt(d, 10)},exp_\\d+/${privateId}$`));
    }
  });

  it('writes the canonical grammar: sorted, defaults dropped, dpr folded into w_', () => {
    expect(out.canonical).toBe('e_blur:5,w_600');
  });

  it('a policy token from the server (requestPolicyToken) covers a whole srcset, within its policy', async () => {
    const entries = (out.tokenSrcset as string).split(', ').map((e) => e.split(' '));
    for (const [url, d] of entries) {
      expect(url).toContain('?token=');
      expect(await fetchImage(url)).toMatchObject({ status: 200, format: 'webp', width: parseInt(d, 10) });
    }
    expect((await fetchImage(out.tooWide)).status).toBe(403);
    expect(out.refused).toEqual({ name: 'ImgpathRequestError', status: 401, code: 'invalid_key' });
  });

  it('the next/image loader gives a URL of the width asked for', async () => {
    expect(out.loader).toContain('q_60');
    expect(await fetchImage(out.loader)).toMatchObject({ status: 200, width: 256 });
  });

  it('refuses what the server would refuse, with the server error', () => {
    expect(out.bad).toEqual({
      instance: true,
      status: 400,
      json: {
        error: {
          code: 'bad_option',
          message: 'Expected integer between 1 and 8192 for w but received "0"',
          option: 'w',
          allowed: 'integer between 1 and 8192',
        },
      },
    });
  });

  it('ships types: a TypeScript project without @types/node compiles against dist/*.d.ts', async () => {
    const file = path.join(appDir, 'consumer.ts');
    await fsp.writeFile(
      file,
      `import { createImgpath, type ImageOptions } from 'imgpath/client';
       import { createImgpath as browserBuilder } from 'imgpath/client/browser';
       const o: ImageOptions = { w: 300, c: 'fill', g: 'auto', f: 'avif' };
       export const a: string = createImgpath({ baseUrl: '' }).url('x', o);
       export const b: string = browserBuilder({ baseUrl: '' }).srcset('x', o, { widths: [1] });
       // @ts-expect-error: c_cover is not a crop mode
       export const c = createImgpath({ baseUrl: '' }).url('x', { c: 'cover' });
      `,
    );
    const tsconfig = {
      compilerOptions: { noEmit: true, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023', 'dom'], types: [] },
      files: ['consumer.ts'],
    };
    await fsp.writeFile(path.join(appDir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    await exec(tsc, ['-p', appDir], { cwd: appDir }).catch((e: { stdout: string }) => {
      throw new Error(`the consumer does not compile:\n${e.stdout}`);
    });
  });
});

describe('imgpath/client in a browser bundle', () => {
  let bundle: string;
  let inputs: string[];

  beforeAll(async () => {
    const entry = path.join(appDir, 'page.js');
    await fsp.writeFile(entry, `import * as imgpath from 'imgpath/client';\nwindow.imgpath = imgpath;\n`);
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: appDir,
    });
    bundle = result.outputFiles[0].text;
    inputs = Object.keys(result.metafile.inputs);
  });

  it('resolves imgpath/client to the browser entry: no signer, no node: imports', () => {
    expect(inputs.some((i) => i.endsWith('dist/client/browser.js'))).toBe(true);
    expect(inputs.filter((i) => /dist\/client\/index\.js|dist\/auth\/|^node:/.test(i))).toEqual([]);
    expect(bundle).not.toMatch(/node:|require\(/);
  });

  it('runs in Chromium: an <img srcset> built with a policy token loads the private image', async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: run "bash scripts/install-test-deps.sh" as root`);
    const res = await fetch(`${site.url}/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t.adminKey },
      body: JSON.stringify({ id: privateId, policy: { width: { max: 400 } }, expiresIn: 600 }),
    });
    const { token } = (await res.json()) as { token: string };
    let server: BrowserServer | undefined;
    let browser: Browser | undefined;
    try {
      server = await chromium.launchServer({ executablePath: CHROMIUM, args: ARGS, headless: true });
      browser = await chromium.connect(server.wsEndpoint());
      const page = await (await browser.newContext({ viewport: { width: 400, height: 300 }, deviceScaleFactor: 1 })).newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.setContent('<!doctype html><html><body></body></html>');
      await page.addScriptTag({ content: bundle });
      const seen = await page.evaluate(
        async ({ base, id, token }) => {
          const { createImgpath, formatOptions } = window.imgpath;
          const img = document.createElement('img');
          img.sizes = '150px';
          img.srcset = createImgpath({ baseUrl: base, token }, { f: 'webp' }).srcset(id, { c: 'fill', ar: { w: 1, h: 1 } }, { widths: [150, 300] });
          document.body.append(img);
          await img.decode();
          let refused = '';
          try {
            formatOptions({ w: 300, c: 'cover' as never });
          } catch (e) {
            refused = (e as Error).message;
          }
          return {
            currentSrc: img.currentSrc as string,
            width: img.naturalWidth as number,
            height: img.naturalHeight as number,
            refused,
            signer: 'createSigner' in window.imgpath,
          };
        },
        { base: site.url, id: privateId, token },
      );
      expect(errors).toEqual([]);
      expect(seen.currentSrc).toContain('w_150');
      expect(seen).toMatchObject({ width: 150, height: 150, signer: false });
      expect(seen.refused).toBe('Expected one of fit, limit, fill, scale, pad, crop, thumb for c but received "cover"');
    } finally {
      await browser?.close().catch(() => {});
      await server?.close().catch(() => {});
    }
  });
});
