import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Hono, type Context } from 'hono';
import type { Deps } from '../deps.js';

/**
 * `/openapi.json` and the interactive reference at `/docs`: Swagger UI from the swagger-ui-dist
 * package (its version pinned in package-lock.json), served by these routes with our own page
 * and start-up script, so the docs work with no internet and nothing from another origin runs.
 */

const OWN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');
const require = createRequire(import.meta.url);

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  gzip?: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** The package's files we serve; everything else in it (source maps, other bundles) stays out. */
const FROM_PACKAGE = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'];

/**
 * Read once per process (they are the installed package's files, the same for every app) and
 * on first use: a test app that never opens /docs does not read 2 MB. The paths are resolved
 * when the routes are built, so a missing package fails the start.
 */
let loaded: Map<string, Asset> | undefined;
function assets(files: Map<string, string>): Map<string, Asset> {
  if (loaded) return loaded;
  const out = new Map<string, Asset>();
  for (const [name, file] of files) {
    const body = fs.readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    out.set(name, { body, type: TYPES[path.extname(name)], etag });
  }
  return (loaded = out);
}

function assetFiles(): Map<string, string> {
  const pkgDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const files = new Map<string, string>([
    ['index.html', path.join(OWN_DIR, 'index.html')],
    ['init.js', path.join(OWN_DIR, 'init.js')],
    ...FROM_PACKAGE.map((name): [string, string] => [name, path.join(pkgDir, name)]),
  ]);
  for (const file of files.values()) {
    if (!fs.existsSync(file)) throw new Error(`docs: ${file} is missing (npm ci installs swagger-ui-dist)`);
  }
  return files;
}

/**
 * Scripts and styles from this server only. Swagger UI draws its icons from data: URIs and
 * sets styles through the DOM (which CSP allows), so no 'unsafe-inline' is needed. "Try it
 * out" calls the API: this origin, and PUBLIC_URL's when the document names it as the server.
 */
export function docsCsp(publicUrl?: string): string {
  const connect = ["'self'", ...(publicUrl ? [new URL(publicUrl).origin] : [])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function docsRoutes(deps: Deps, document: () => unknown) {
  const files = assetFiles();
  const headers = {
    'Content-Security-Policy': docsCsp(deps.config.PUBLIC_URL),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    // Revalidated on every load (cheap with the ETag): an upgrade never mixes old and new files.
    'Cache-Control': 'no-cache',
  };
  const app = new Hono();

  app.get('/openapi.json', function openapiDocument(c) {
    c.header('Cache-Control', 'no-cache');
    return c.json(document());
  });

  const serve = (name: string) =>
    function serveDocsAsset(c: Context) {
      const asset = assets(files).get(name)!;
      const h: Record<string, string> = { ...headers, ETag: asset.etag, 'Content-Type': asset.type, Vary: 'Accept-Encoding' };
      if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, h);
      // The bundle is 1.7 MB, 0.5 MB gzipped: compressed once, on first demand.
      if (asset.type.startsWith('text/') && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
        asset.gzip ??= gzipSync(asset.body);
        return c.body(new Uint8Array(asset.gzip), 200, { ...h, 'Content-Encoding': 'gzip' });
      }
      return c.body(new Uint8Array(asset.body), 200, h);
    };

  app.get('/docs', serve('index.html'));
  app.get('/docs/', (c) => c.redirect('/docs', 301));
  for (const name of files.keys()) {
    if (name !== 'index.html') app.get(`/docs/${name}`, serve(name));
  }
  return app;
}
