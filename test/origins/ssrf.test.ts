import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, testApp, type TestApp } from '../helpers/app.js';
import { solid, startOrigin, type OriginServer } from './origin-server.js';

/**
 * What each hostile or broken origin answer and each SSRF attempt gets, over real sockets:
 * `blog` is a test origin on 127.0.0.1 (named in ORIGINS_ALLOW_PRIVATE); every other origin
 * points at private addresses without that allowance and must be refused before connecting.
 */

let origin: OriginServer;
let t: TestApp;
let cat: Buffer;

beforeAll(async () => {
  origin = await startOrigin();
  cat = await solid(64, 48, 'jpeg');
  const p = origin.port;
  t = await testApp({
    ORIGINS: [
      `blog=${origin.url}/media/`,
      `local=${origin.url}/media/`,
      `named=http://localhost:${p}/media/`,
      `v6=http://[::1]:${p}/media/`,
      `mapped=http://[::ffff:127.0.0.1]:${p}/media/`,
      `zero=http://0.0.0.0:${p}/media/`,
      `decimal=http://2130706433:${p}/media/`,
      'ten=http://10.0.0.1/',
      'metadata=http://169.254.169.254/latest/',
      'cgnat=http://100.64.0.1/',
      'multicast=http://224.0.0.1/',
      'nat64=http://[64:ff9b::a00:1]/',
      `down=http://127.0.0.1:1/`,
    ].join(','),
    ORIGINS_ALLOW_PRIVATE: 'blog,down',
    ORIGIN_TIMEOUT_MS: '400',
    ORIGIN_MAX_MB: '1',
  });
  origin.file('/media/cat.jpg', cat);
  origin.file('/secret.jpg', cat);
  origin.route('/media/slow.jpg', async (_req, res) => {
    await new Promise((r) => setTimeout(r, 1500));
    res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(cat);
  });
  origin.route('/media/stall.jpg', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/jpeg' });
    res.write(cat.subarray(0, 100)); // headers and a first chunk, then nothing
  });
  origin.route('/media/huge-declared.jpg', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': String(50 * 1024 * 1024) });
    res.write(cat.subarray(0, 100));
  });
  origin.route('/media/huge-chunked.jpg', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/jpeg' });
    res.write(cat.subarray(0, 100));
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < 4 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
      if (sent < 4 * 1024 * 1024 && !res.destroyed)
        res.once('drain', () => {
          sent += chunk.length;
          pump();
        });
    };
    res.on('error', () => {});
    pump();
  });
  origin.route('/media/page.jpg', (_req, res) => void res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end('<!doctype html><title>hi</title>'));
  origin.route(
    '/media/broken.jpg',
    (_req, res) => void res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(Buffer.concat([cat.subarray(0, 200), Buffer.alloc(200)])),
  );
  origin.route('/media/error.jpg', (_req, res) => void res.writeHead(500).end('boom'));
  const redirect = (to: string) => (_req: http.IncomingMessage, res: http.ServerResponse) => void res.writeHead(302, { Location: to }).end();
  origin.route('/media/moved.jpg', redirect('/media/cat.jpg'));
  origin.route('/media/moved-relative.jpg', redirect('cat.jpg'));
  origin.route('/media/out-of-base.jpg', redirect('/secret.jpg'));
  origin.route('/media/dot-out.jpg', redirect('/media/../secret.jpg'));
  origin.route('/media/other-host.jpg', redirect(`http://localhost:${p}/media/cat.jpg`));
  origin.route('/media/metadata.jpg', redirect('http://169.254.169.254/latest/meta-data/'));
  origin.route('/media/userinfo.jpg', redirect(`http://evil@127.0.0.1:${p}/media/cat.jpg`));
  origin.route('/media/loop.jpg', redirect('/media/loop.jpg'));
});
afterAll(async () => {
  await t.cleanup();
  await origin.close();
});

async function answer(path: string) {
  const res = await t.request(path);
  const body = res.headers.get('content-type')?.startsWith('application/json') ? ((await res.json()) as { error?: { code: string } }) : undefined;
  return { status: res.status, code: body?.error?.code, res };
}

describe('an allowed origin', () => {
  it('serves a file, and its errors map to one status each', async () => {
    expect((await answer('/img/@blog/cat.jpg')).status).toBe(200);
    expect(await answer('/img/@blog/missing.jpg')).toMatchObject({ status: 404, code: 'image_not_found' });
    expect(await answer('/img/@nope/cat.jpg')).toMatchObject({ status: 404, code: 'unknown_origin' });
    expect(await answer('/img/@blog/error.jpg')).toMatchObject({ status: 502, code: 'origin_unavailable' });
    expect(await answer('/img/@down/cat.jpg')).toMatchObject({ status: 502, code: 'origin_unavailable' });
    expect(await answer('/img/@blog/page.jpg')).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect((await answer('/img/@blog/broken.jpg')).status).toBeGreaterThanOrEqual(415);
    expect(await answer('/img/@blog/huge-declared.jpg')).toMatchObject({ status: 413, code: 'too_large' });
    expect(await answer('/img/@blog/huge-chunked.jpg')).toMatchObject({ status: 413, code: 'too_large' });
  });

  it('gives up after ORIGIN_TIMEOUT_MS, slow headers or a stalled body alike', async () => {
    const started = Date.now();
    const slow = await answer('/img/@blog/slow.jpg');
    expect(slow).toMatchObject({ status: 504, code: 'origin_timeout' });
    expect(slow.res.headers.get('retry-after')).toBe('5');
    expect(await answer('/img/@blog/stall.jpg')).toMatchObject({ status: 504, code: 'origin_timeout' });
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('follows same-origin redirects under the base only', async () => {
    expect((await answer('/img/@blog/moved.jpg')).status).toBe(200);
    expect((await answer('/img/@blog/moved-relative.jpg')).status).toBe(200);
    expect(await answer('/img/@blog/out-of-base.jpg')).toMatchObject({ status: 502, code: 'origin_redirect_refused' });
    expect(await answer('/img/@blog/dot-out.jpg')).toMatchObject({ status: 502, code: 'origin_redirect_refused' });
    expect(await answer('/img/@blog/other-host.jpg')).toMatchObject({ status: 502, code: 'origin_redirect_refused' });
    expect(await answer('/img/@blog/metadata.jpg')).toMatchObject({ status: 502, code: 'origin_redirect_refused' });
    expect(await answer('/img/@blog/userinfo.jpg')).toMatchObject({ status: 502, code: 'origin_redirect_refused' });
    expect(await answer('/img/@blog/loop.jpg')).toMatchObject({ status: 502, code: 'origin_redirect_loop' });
    expect(origin.hits.get('/media/loop.jpg')).toBe(4); // the first request and 3 redirects
    expect(origin.hits.get('/secret.jpg')).toBeUndefined();
  });
});

describe('origins not allowed private addresses', () => {
  it.each(['local', 'named', 'v6', 'mapped', 'zero', 'decimal', 'ten', 'metadata', 'cgnat', 'multicast', 'nat64'])(
    '@%s is refused before any connection',
    async (name) => {
      const before = origin.connections();
      const started = Date.now();
      expect(await answer(`/img/@${name}/cat.jpg`)).toMatchObject({ status: 502, code: 'origin_address_refused' });
      expect(origin.connections()).toBe(before);
      expect(Date.now() - started).toBeLessThan(300); // refused, not timed out
    },
  );
});

describe('paths that try to leave the origin', () => {
  // Sent raw over a socket, so nothing between the client and imgpath normalises them first.
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    server = await listen(t.app.fetch);
  });
  afterAll(() => server.close());

  function raw(path: string): Promise<{ status: number; code?: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${server.url}/`, { path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, code: body.startsWith('{') ? JSON.parse(body).error?.code : undefined }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it.each([
    ['/img/@blog/..%2fsecret.jpg', 400],
    ['/img/@blog/..%2Fsecret.jpg', 400],
    ['/img/@blog/%2e%2e%2fsecret.jpg', 400],
    ['/img/@blog/..%5csecret.jpg', 400],
    ['/img/@blog/%252e%252e/secret.jpg', 400],
    ['/img/@blog//127.0.0.1/secret.jpg', 400],
    ['/img/@blog/cat.jpg%3F/../../secret.jpg', 404], // %3F is literal; the URL parser removes the dot segments first
    ['/img/@blog/cat%00.jpg', 400],
    ['/img/@blog/../secret.jpg', 404], // normalised to /img/secret.jpg: a library id, not found
    ['/img/@blog/%2e%2e/secret.jpg', 404],
    ['/img/@blog/..\\secret.jpg', 400], // Node's HTTP parser refuses a raw backslash (the segment check would too)
    ['/img/@blog/@127.0.0.1/secret.jpg', 404], // fetched as /media/%40127.0.0.1/secret.jpg from the origin host
    ['/img/@blog/x:y@localhost/secret.jpg', 404],
  ])('%s → %i, and the origin never sees /secret.jpg', async (path, status) => {
    const r = await raw(path);
    expect(r.status).toBe(status);
    if (status === 400 && !path.includes('\\')) expect(r.code).toBe('bad_origin_path');
    expect(origin.hits.get('/secret.jpg')).toBeUndefined();
  });

  it('keeps an @ in the path a path character', () => {
    expect(origin.hits.get('/media/%40127.0.0.1/secret.jpg')).toBe(1);
    expect(origin.hits.get('/media/x%3Ay%40localhost/secret.jpg')).toBe(1);
  });
});
