import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { createLogger, flushLogger, redactUrl } from '../../src/log.js';
import { testApp, type TestApp } from '../helpers/app.js';

/** A pino destination that keeps every line, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw += chunk.toString();
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { stream, lines, raw: () => raw };
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('request log lines', () => {
  test('one JSON line per request with id, method, route, status, duration, cache tier and bytes', async () => {
    const out = capture();
    t = await testApp({}, { deps: { log: createLogger({ LOG_LEVEL: 'info' }, out.stream) } });
    const id = await t.seed('dune-2mp.jpg');
    const res = await t.request(`/img/w_200,f_webp/${id}`, { headers: { 'X-API-Key': t.adminKey, 'X-Request-Id': 'edge-42' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('edge-42');

    const requests = out.lines.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      reqId: 'edge-42',
      method: 'GET',
      route: '/img/*',
      url: `/img/w_200,f_webp/${id}`,
      status: 200,
      cache: 'miss',
      bytes: Number(res.headers.get('content-length')),
      level: 30,
    });
    expect(typeof requests[0].ms).toBe('number');
  });

  test('a request id is generated when missing or unsafe, and errors carry one too', async () => {
    const out = capture();
    t = await testApp({}, { deps: { log: createLogger({ LOG_LEVEL: 'info' }, out.stream) } });
    const res = await t.request('/img/w_200/nosuch', { headers: { 'X-Request-Id': `forged" "status":200 ${'x'.repeat(200)}` } });
    expect(res.status).toBe(404);
    const reqId = res.headers.get('x-request-id');
    expect(reqId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.lines.find((l) => l.msg === 'request')).toMatchObject({ reqId, status: 404, route: '/img/*' });
  });

  test('probes log at debug only, so they do not drown real traffic at info', async () => {
    const out = capture();
    t = await testApp({}, { deps: { log: createLogger({ LOG_LEVEL: 'info' }, out.stream) } });
    expect((await t.request('/healthz')).status).toBe(200);
    expect(out.lines.filter((l) => l.msg === 'request')).toHaveLength(0);
  });
});

describe('secrets never reach the log', () => {
  test('?key=, ?token=, Authorization and X-API-Key values are redacted, in the URL too', async () => {
    const out = capture();
    t = await testApp({}, { deps: { log: createLogger({ LOG_LEVEL: 'trace' }, out.stream) } });
    const id = await t.seed('dune-2mp.jpg');
    const key = t.adminKey;
    await t.request(`/img/w_100/${id}?key=${key}&x=1`);
    await t.request(`/images?token=${key}&limit=5`, { headers: { Authorization: `Bearer ${key}` } });
    await t.request(`/images`, { headers: { 'X-API-Key': key } });
    await t.request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@b.c', password: 'hunter2-hunter2' }),
    });

    const text = out.raw();
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(5, 25));
    expect(text).not.toContain('hunter2');
    const urls = out.lines.filter((l) => l.msg === 'request').map((l) => l.url);
    expect(urls).toContain(`/img/w_100/${id}?key=[redacted]&x=1`);
    expect(urls).toContain('/images?token=[redacted]&limit=5');
  });

  test('a signed URL is logged with its kid and without its signature, whether it verifies or not', async () => {
    const out = capture();
    t = await testApp({ SIGNING_KEYS: 'k7:log-signing-secret-0123456789' }, { deps: { log: createLogger({ LOG_LEVEL: 'info' }, out.stream) } });
    const id = await t.seed('dune-2mp.jpg', { visibility: 'private' });
    const good = signedImagePath(id, 'w_100', t.deps.secrets.signingKeys[0]);
    const publicOnly = signedImagePath(id, 'w_101', t.deps.secrets.signingKeys[0], { reach: 'public' });
    const forged = signedImagePath(id, 'w_102', { kid: 'k7', secret: 'not-the-secret-0123456789' });
    expect((await t.request(`${good}?x=1`)).status).toBe(200);
    expect((await t.request(publicOnly)).status).toBe(404);
    expect((await t.request(forged)).status).toBe(403);
    expect((await t.request(`${good}.json`)).status).toBe(200);
    const text = out.raw();
    for (const path of [good, publicOnly, forged]) expect(text).not.toContain(/s--k7\.([^/]+)--/.exec(path)![1]);
    const urls = out.lines.filter((l) => l.msg === 'request').map((l) => l.url);
    expect(urls).toEqual([
      `/img/s--k7.[redacted]--/w_100/${id}?x=1`,
      `/img/s--k7.[redacted]--/w_101/${id}`,
      `/img/s--k7.[redacted]--/w_102/${id}`,
      `/img/s--k7.[redacted]--/w_100/${id}.json`,
    ]);
  });

  test('fields named like secrets are censored wherever a module logs them', () => {
    const out = capture();
    const log = createLogger({ LOG_LEVEL: 'info' }, out.stream);
    log.info(
      {
        password: 'p1',
        key: 'k1',
        token: 't1',
        headers: { authorization: 'Bearer a1', 'x-api-key': 'x1' },
        user: { password: 'p2', secret: 's2' },
        config: { JWT_SECRET: 'j1', ADMIN_API_KEY: 'ad1' },
      },
      'oops',
    );
    const line = out.raw();
    for (const secret of ['p1', 'k1', 't1', 'a1', 'x1', 'p2', 's2', 'j1', 'ad1']) expect(line).not.toContain(`"${secret}`);
    expect(line).toContain('[redacted]');
  });

  test.each([
    ['/img/a?key=abc', '/img/a?key=[redacted]'],
    ['/img/a?KEY=abc&w=1', '/img/a?KEY=[redacted]&w=1'],
    ['/random?token=eyJ.x.y&seed=3', '/random?token=[redacted]&seed=3'],
    ['/x?api_key=1&access_token=2&password=3', '/x?api_key=[redacted]&access_token=[redacted]&password=[redacted]'],
    ['/x?%6Bey=abc', '/x?%6Bey=[redacted]'],
    ['/x?keys=abc', '/x?keys=abc'],
    ['/img/w_300/abc', '/img/w_300/abc'],
    ['/img/s--k1.AbC-_x--/w_300/abc', '/img/s--k1.[redacted]--/w_300/abc'],
    ['/img/s--k1.AbC--/w_300/abc?key=z', '/img/s--k1.[redacted]--/w_300/abc?key=[redacted]'],
    ['/img/s--nodot--/abc', '/img/s--[redacted]--/abc'],
    ['/img/s--k1.x.y--/@cdn/a--b/c.jpg', '/img/s--k1.[redacted]--/@cdn/a--b/c.jpg'],
    ['/img/w_300/s--k1.x--/abc', '/img/w_300/s--k1.x--/abc'],
  ])('redactUrl(%s)', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('LOG_FILE', () => {
  const lineNumbers = async (file: string) =>
    (await fs.readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { i: number }).i);

  test('writes JSON lines to the file it names, rotating to {file}.1, {file}.2 … with no line lost or repeated', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-log-'));
    const file = path.join(dir, 'logs', 'imgpath.log');
    const console = capture();
    const log = createLogger({ LOG_LEVEL: 'info', LOG_FILE: file, LOG_FILE_MAX_MB: 1, LOG_FILE_COUNT: 2 }, console.stream);
    const filler = 'x'.repeat(1000);
    for (let i = 0; i < 2500; i++) log.info({ i, filler }, 'line');
    await flushLogger(log, 10_000);
    // Writes are asynchronous, also the tail a rotated-away destination still flushes into `.1`
    // after the new file took over: wait until every file has its lines (or give up after 10 s).
    const written = async () => (await Promise.all([`${file}.2`, `${file}.1`, file].map((f) => lineNumbers(f).catch((): number[] => [])))).flat();
    for (let tries = 0; tries < 200; tries++) {
      const lines = await written();
      if (lines.at(-1) === 2499 && lines.every((n, k) => n === lines[0]! + k)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(console.lines).toHaveLength(2500);
    // ~2.6 MB at 1 MB a file: the active file, .1 and .2 (LOG_FILE_COUNT), the oldest dropped.
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual(['imgpath.log', 'imgpath.log.1', 'imgpath.log.2']);
    const [older, old, current] = await Promise.all([`${file}.2`, `${file}.1`, file].map(lineNumbers));
    const all = [...older, ...old, ...current];
    expect(all.at(-1)).toBe(2499);
    expect(all).toEqual(Array.from({ length: all.length }, (_, k) => all[0] + k)); // in order, contiguous across files
    for (const f of [`${file}.2`, `${file}.1`]) expect((await fs.stat(f)).size).toBeLessThanOrEqual(1024 * 1024 + 2000);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
