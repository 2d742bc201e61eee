import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig, maskedConfig } from '../../src/config.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth } from './helpers.js';

/**
 * The CDN purge hook wired to the library (issue 13 item 5): the real app on a real SQLite, a real
 * HTTP receiver on 127.0.0.1 standing in for Cloudflare, Fastly, Varnish or a custom webhook.
 */

const PUBLIC = 'https://img.example.com';

interface Call {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
let receiver: http.Server;
let hook: string;
let calls: Call[] = [];
/** Statuses to answer, in order; 200 once empty. */
let plan: number[] = [];
beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(plan.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(() => {
  receiver.closeAllConnections();
  receiver.close();
});

let t: TestApp | undefined;
beforeEach(() => {
  calls = [];
  plan = [];
});
afterEach(async () => {
  await t?.deps.cdn?.idle();
  await t?.cleanup();
  t = undefined;
});

async function app(env: Record<string, string> = {}) {
  t = await testApp({ PUBLIC_URL: PUBLIC, PURGE_WEBHOOK_URL: `${hook}/purge`, ...env });
  return t;
}
const JSON_BODY = { 'Content-Type': 'application/json' };
const patch = (a: TestApp, id: string, body: unknown) =>
  a.request(`/images/${id}`, { method: 'PATCH', headers: { ...auth(a.adminKey), ...JSON_BODY }, body: JSON.stringify(body) });
const savePreset = (a: TestApp, name: string, options: string) =>
  a.request('/presets', { method: 'POST', headers: { ...auth(a.adminKey), ...JSON_BODY }, body: JSON.stringify({ name, options }) });
const remove = (a: TestApp, id: string) => a.request(`/images/${id}`, { method: 'DELETE', headers: auth(a.adminKey) });
/** Waits for the purges queued so far. */
const sent = async (a: TestApp) => {
  await a.deps.cdn!.idle();
  return calls;
};

describe('CDN purge hook: which library changes call it', () => {
  it('json: a delete sends one POST with the reason, the image tag, its public URLs and the bearer token', async () => {
    const a = await app({ PURGE_WEBHOOK_TOKEN: 'hook-secret' });
    const id = await a.seed('dune-2mp.jpg', { publicId: 'desert/dune' });
    expect((await remove(a, id)).status).toBe(204);
    const [call, ...more] = await sent(a);
    expect(more).toEqual([]);
    expect(call).toMatchObject({ method: 'POST', url: '/purge' });
    expect(call!.headers.authorization).toBe('Bearer hook-secret');
    expect(call!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(call!.body);
    expect(body.reason).toBe('image-deleted');
    expect(body.tags).toEqual([`img-${id}`]);
    // The original and /info under both names first, then the example renditions (signed: they need a key).
    expect(body.urls.slice(0, 4).sort()).toEqual(
      [`${PUBLIC}/img/${id}`, `${PUBLIC}/img/desert/dune`, `${PUBLIC}/info/${id}`, `${PUBLIC}/info/desert/dune`].sort(),
    );
    expect(body.urls.every((u: string) => u.startsWith(`${PUBLIC}/`))).toBe(true);
    expect(body.urls.some((u: string) => /\/img\/s--[^/]+--\/w_200,h_200,c_fill\/desert\/dune$/.test(u))).toBe(true);
  });

  it('cloudflare: purge_cache calls with the URLs as files (30 a call), then the tags; fastly: the tag as Surrogate-Key with Fastly-Key', async () => {
    const cf = await app({ PURGE_WEBHOOK_FORMAT: 'cloudflare', PURGE_WEBHOOK_TOKEN: 'cf-token' });
    const id = await cf.seed('dune-2mp.jpg');
    await remove(cf, id);
    const bodies = (await sent(cf)).map((c) => JSON.parse(c.body));
    expect(calls.every((c) => c.method === 'POST' && c.url === '/purge' && c.headers.authorization === 'Bearer cf-token')).toBe(true);
    expect(bodies.at(-1)).toEqual({ tags: [`img-${id}`] });
    const files = bodies.slice(0, -1).flatMap((b) => b.files);
    expect(bodies.slice(0, -1).every((b) => b.files.length <= 30)).toBe(true);
    expect(files).toEqual(expect.arrayContaining([`${PUBLIC}/img/${id}`, `${PUBLIC}/info/${id}`]));
    await cf.cleanup();
    calls = [];

    const fastly = await app({ PURGE_WEBHOOK_FORMAT: 'fastly', PURGE_WEBHOOK_TOKEN: 'fastly-token' });
    const other = await fastly.seed('dune-2mp.jpg');
    // Fastly files responses under Surrogate-Key, so the keys are sent there too.
    const res = await fastly.request(`/img/${other}`);
    expect(res.headers.get('surrogate-key')).toBe(`img-${other}`);
    expect(res.headers.get('cache-tag')).toBe(`img-${other}`);
    expect((await fastly.request(`/info/${other}`)).headers.get('surrogate-key')).toBe(`img-${other}`);
    await remove(fastly, other);
    const [call, ...more] = await sent(fastly);
    expect(more).toEqual([]);
    expect(call).toMatchObject({ method: 'POST', url: '/purge', body: '' });
    expect(call!.headers['fastly-key']).toBe('fastly-token');
    expect(call!.headers['surrogate-key']).toBe(`img-${other}`);
  });

  it('purge (Varnish, nginx): one PURGE per public URL at the proxy, path kept', async () => {
    const a = await app({ PURGE_WEBHOOK_FORMAT: 'purge', PURGE_WEBHOOK_URL: `${hook}/` });
    const id = await a.seed('dune-2mp.jpg');
    await remove(a, id);
    const lines = (await sent(a)).map((c) => `${c.method} ${c.url}`);
    expect(lines).toEqual(expect.arrayContaining([`PURGE /img/${id}`, `PURGE /info/${id}`]));
    expect(lines.every((l) => l.startsWith('PURGE /'))).toBe(true);
    // Without a token no Authorization is invented.
    expect(calls[0]!.headers.authorization).toBeUndefined();
  });

  it('made private: purged; back to public, or a tags/collection edit (no answer changes): no call', async () => {
    const a = await app();
    const id = await a.seed('dune-2mp.jpg');
    expect((await patch(a, id, { tags: ['sand'], collection: 'trips' })).status).toBe(200);
    expect(a.deps.cdn!.stats()).toMatchObject({ ok: 0, queued: 0 });
    expect((await patch(a, id, { visibility: 'private' })).status).toBe(200);
    expect(JSON.parse((await sent(a))[0]!.body)).toMatchObject({ reason: 'image-private', tags: [`img-${id}`] });
    expect((await patch(a, id, { visibility: 'public' })).status).toBe(200);
    expect((await patch(a, id, { visibility: 'public', tags: ['dune'] })).status).toBe(200);
    expect(a.deps.cdn!.stats()).toEqual({ ok: 1, failed: 0, dropped: 0, queued: 0 });
    expect(calls).toHaveLength(1);
  });

  it('a new focal point re-crops g_auto renditions: purged; a rename purges the old name (now a 301) and the new one', async () => {
    const a = await app();
    const id = await a.seed('dune-2mp.jpg', { publicId: 'old/name' });
    const focal = await a.request(`/images/${id}/focal-point`, {
      method: 'PUT',
      headers: { ...auth(a.adminKey), ...JSON_BODY },
      body: JSON.stringify({ x: 0.2, y: 0.3 }),
    });
    expect(focal.status).toBe(200);
    expect(JSON.parse((await sent(a))[0]!.body)).toMatchObject({ reason: 'image-changed', tags: [`img-${id}`] });
    calls = [];
    // The 301 a CDN may keep is tagged too, so this purge also reaches it.
    expect((await patch(a, id, { publicId: 'new/name' })).status).toBe(200);
    const redirect = await a.request('/img/old/name');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('cache-tag')).toBe(`img-${id}`);
    const body = JSON.parse((await sent(a))[0]!.body);
    expect(body).toMatchObject({ reason: 'image-renamed', tags: [`img-${id}`] });
    expect(body.urls).toEqual(expect.arrayContaining([`${PUBLIC}/img/old/name`, `${PUBLIC}/img/new/name`, `${PUBLIC}/info/old/name`]));
    expect(body.urls).not.toContain(`${PUBLIC}/img/${id}`);
    // Giving a name to an image that had none stops no URL: no call.
    calls = [];
    const fresh = await a.seed('friends-portrait.jpg');
    expect((await patch(a, fresh, { publicId: 'friends' })).status).toBe(200);
    expect(a.deps.cdn!.stats().queued).toBe(0);
  });

  it('presets: renditions carry preset-{name}; replacing or deleting one purges that tag and its known URLs; creating one does not', async () => {
    const a = await app();
    const id = await a.seed('dune-2mp.jpg');
    expect((await savePreset(a, 'card', 'w_120')).status).toBe(201);
    expect(a.deps.cdn!.stats().queued).toBe(0);
    const res = await a.request(`/img/t_card/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-tag')).toBe(`img-${id},preset-card`);
    await a.deps.cache.settle?.();
    expect((await savePreset(a, 'card', 'w_80')).status).toBe(200);
    const changed = JSON.parse((await sent(a))[0]!.body);
    expect(changed).toEqual({ reason: 'preset-changed', tags: ['preset-card'], urls: [`${PUBLIC}/img/t_card/${id}`] });
    calls = [];
    expect((await a.request('/presets/card', { method: 'DELETE', headers: auth(a.adminKey) })).status).toBe(204);
    expect(JSON.parse((await sent(a))[0]!.body)).toMatchObject({ reason: 'preset-deleted', tags: ['preset-card'] });
  });

  it('a watermark image is tagged on the renditions that show it, so deleting or hiding the logo reaches them', async () => {
    const a = await app({ ALLOW_UNSIGNED_TRANSFORMS: 'true' });
    const id = await a.seed('dune-2mp.jpg');
    const logo = await a.seed('dragonfly-alpha.png');
    const res = await a.request(`/img/w_300,wm_${logo}/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-tag')).toBe(`img-${id},img-${logo}`);
  });
});

describe('CDN purge hook: failures never reach the user', () => {
  it('a CDN answering 500 is tried 3 times then given up (logged and counted); the delete still answers 204 at once', async () => {
    const a = await app();
    const id = await a.seed('dune-2mp.jpg');
    plan = [500, 500, 500];
    const t0 = performance.now();
    expect((await remove(a, id)).status).toBe(204);
    // The call takes ~1.5 s of backoff, none of it in the request.
    expect(performance.now() - t0).toBeLessThan(800);
    expect(await sent(a)).toHaveLength(3);
    expect(a.deps.cdn!.stats()).toEqual({ ok: 0, failed: 1, dropped: 0, queued: 0 });
    const metrics = await (await a.request('/metrics', { headers: auth(a.adminKey) })).text();
    expect(metrics).toContain('imgpath_cdn_purges_total{result="failed"} 1');
    expect(metrics).toContain('imgpath_cdn_purges_total{result="ok"} 0');
    expect(metrics).toContain('imgpath_cdn_purge_queue 0');
  });

  it('a receiver that is down: the same (connection refused is retried, then given up)', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const a = await app({ PURGE_WEBHOOK_URL: `http://127.0.0.1:${port}/purge` });
    const id = await a.seed('dune-2mp.jpg');
    const t0 = performance.now();
    expect((await remove(a, id)).status).toBe(204);
    expect(performance.now() - t0).toBeLessThan(800);
    expect((await a.request(`/images/${id}`, { headers: auth(a.adminKey) })).status).toBe(404);
    await a.deps.cdn!.idle();
    expect(a.deps.cdn!.stats()).toMatchObject({ ok: 0, failed: 1 });
  });

  it('no PURGE_WEBHOOK_URL: no purger, no calls, no purge metrics, no Surrogate-Key', async () => {
    const a = (t = await testApp({ PUBLIC_URL: PUBLIC }));
    expect(a.deps.cdn).toBeUndefined();
    const id = await a.seed('dune-2mp.jpg');
    const res = await a.request(`/img/${id}`);
    expect(res.headers.get('surrogate-key')).toBeNull();
    await patch(a, id, { visibility: 'private' });
    await remove(a, id);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual([]);
    expect(await (await a.request('/metrics', { headers: auth(a.adminKey) })).text()).not.toContain('imgpath_cdn_purge');
  });
});

describe('CDN purge hook: configuration', () => {
  const base = { PURGE_WEBHOOK_URL: 'https://api.cloudflare.com/client/v4/zones/z/purge_cache', PUBLIC_URL: PUBLIC };
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return undefined;
    } catch (err) {
      return (err as ConfigError).issues.join('\n');
    }
  };
  it('fails the start on a hook that could never work', () => {
    expect(problem({ ...base })).toBeUndefined();
    expect(problem({ ...base, PUBLIC_URL: '' })).toMatch(/^PUBLIC_URL: required with PURGE_WEBHOOK_URL/);
    expect(problem({ ...base, PURGE_WEBHOOK_FORMAT: 'cloudflare' })).toMatch(/^PURGE_WEBHOOK_TOKEN: required with PURGE_WEBHOOK_FORMAT=cloudflare/);
    expect(problem({ ...base, PURGE_WEBHOOK_FORMAT: 'fastly' })).toMatch(/^PURGE_WEBHOOK_TOKEN: required with PURGE_WEBHOOK_FORMAT=fastly/);
    expect(problem({ ...base, PURGE_WEBHOOK_FORMAT: 'akamai' })).toMatch(/^PURGE_WEBHOOK_FORMAT: /);
    expect(problem({ PURGE_WEBHOOK_TOKEN: 'x' })).toMatch(/^PURGE_WEBHOOK_TOKEN: set, but PURGE_WEBHOOK_URL is unset/);
    expect(problem({ PURGE_WEBHOOK_FORMAT: 'purge' })).toMatch(/^PURGE_WEBHOOK_FORMAT: set, but PURGE_WEBHOOK_URL is unset/);
    expect(problem({ ...base, PURGE_WEBHOOK_URL: 'ftp://cdn.example.com/' })).toMatch(/^PURGE_WEBHOOK_URL: expected an http/);
  });

  it('a password in the URL is refused at start (fetch refuses it and would log it with every purge), and never echoed', () => {
    const said = problem({ ...base, PURGE_WEBHOOK_FORMAT: 'purge', PURGE_WEBHOOK_URL: 'http://purger:s3cret-pw@varnish.internal:6081/' });
    expect(said).toMatch(/^PURGE_WEBHOOK_URL: .*PURGE_WEBHOOK_TOKEN/);
    expect(said).not.toContain('s3cret-pw');
  });

  it('a secret in the URL query is masked by `imgpath config`', () => {
    const shown = maskedConfig(loadConfig({ ...base, PURGE_WEBHOOK_URL: 'https://hooks.example.com/purge?zone=z&token=s3cret-q' }));
    expect(shown.PURGE_WEBHOOK_URL).toBe('https://hooks.example.com/purge?zone=z&token=[redacted]');
  });
});
