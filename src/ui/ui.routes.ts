import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import type { Deps } from '../deps.js';

/**
 * The web dashboard: one HTML page, two ES modules and a stylesheet, served as they are (no
 * build step, nothing from another origin). The page talks to the same JSON API as any client.
 */

const ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Only our own files run; thumbnails arrive as data: placeholders and blob: URLs made from
 * authenticated fetches, so img-src needs those two and nothing else.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  // Revalidate every load (cheap with the ETag) so a server upgrade never mixes old and new files.
  'Cache-Control': 'no-cache',
};

interface Asset {
  body: string;
  type: string;
  etag: string;
}

/** Read once at start-up: a missing file fails the boot, not a request. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of fs.readdirSync(ASSETS_DIR)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = fs.readFileSync(path.join(ASSETS_DIR, name), 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  if (!assets.has('index.html')) throw new Error(`dashboard: ${ASSETS_DIR}/index.html is missing`);
  return assets;
}

export function uiRoutes(_deps: Deps) {
  const assets = loadAssets();
  const app = new Hono();

  const serveAsset = (name: string) =>
    function serveDashboardAsset(c: Context) {
      const asset = assets.get(name)!;
      const headers = { ...SECURITY_HEADERS, ETag: asset.etag, 'Content-Type': asset.type };
      if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
      return c.body(asset.body, 200, headers);
    };

  app.get('/dashboard', serveAsset('index.html'));
  app.get('/dashboard/', (c) => c.redirect('/dashboard', 301));
  for (const name of assets.keys()) {
    if (name !== 'index.html') app.get(`/dashboard/${name}`, serveAsset(name));
  }
  return app;
}
