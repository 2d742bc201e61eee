import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cdnPurger, type PurgeOptions } from '../../src/cluster/cdn-purge.js';

interface Seen {
  method: string;
  url: string;
  auth?: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}
let server: http.Server;
let base: string;
let seen: Seen[] = [];
/** Statuses to answer, in order (with headers, optionally); 200 once empty. 0 = never answer (a hung CDN). */
let plan: Array<number | [number, Record<string, string>]> = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body, headers: req.headers });
      const [status, headers] = [plan.shift() ?? 200].flat() as [number, Record<string, string>?];
      if (status === 0) return;
      res.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
  plan = [];
});

function purger(extra: Partial<PurgeOptions> = {}) {
  const warnings: Array<Record<string, unknown>> = [];
  const p = cdnPurger({
    url: `${base}/hook`,
    format: 'json',
    retryMs: 10,
    log: { warn: (o: object) => warnings.push(o as Record<string, unknown>) } as never,
    ...extra,
  });
  return { p, warnings };
}
const urls = (n: number) => Array.from({ length: n }, (_, i) => `https://img.example.com/img/w_${i + 1}/abc123`);

describe('CDN purge hook (PURGE_WEBHOOK_URL, issue 13 item 5)', () => {
  it('json: one POST with the reason, tags and URLs, and the bearer token', async () => {
    const { p } = purger({ token: 'sekrit' });
    p.purge({ reason: 'image-deleted', tags: ['img-abc123'], urls: urls(2) });
    await p.idle();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/hook', auth: 'Bearer sekrit' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ reason: 'image-deleted', tags: ['img-abc123'], urls: urls(2) });
  });

  it('purge: one PURGE per URL at the proxy address, path and query kept; 404 (never cached) is fine', async () => {
    const { p, warnings } = purger({ format: 'purge', url: `${base}/` });
    plan = [404, 200];
    p.purge({
      reason: 'image-private',
      tags: ['img-abc123'],
      urls: ['https://img.example.com/img/w_300/abc123', 'https://img.example.com/img/w_9/abc123?key=k'],
    });
    await p.idle();
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['PURGE /img/w_300/abc123', 'PURGE /img/w_9/abc123?key=k']);
    expect(warnings).toEqual([]);
  });

  it('cloudflare: files in calls of at most 30, then the tags', async () => {
    const { p } = purger({ format: 'cloudflare', token: 'cf' });
    p.purge({ reason: 'preset-changed', tags: ['preset-thumb'], urls: urls(65) });
    await p.idle();
    const bodies = seen.map((s) => JSON.parse(s.body));
    expect(bodies.map((b) => b.files?.length ?? `tags:${b.tags}`)).toEqual([30, 30, 5, 'tags:preset-thumb']);
    expect(bodies.flatMap((b) => b.files ?? [])).toEqual(urls(65));
    expect(seen.every((s) => s.auth === 'Bearer cf')).toBe(true);
  });

  it('retries a failing CDN, gives up after 3 tries with a warning, and goes on with the next purge', async () => {
    const { p, warnings } = purger();
    plan = [500, 503, 200, 500, 500, 500, 200];
    p.purge({ reason: 'image-deleted', tags: ['img-a'], urls: [] });
    p.purge({ reason: 'image-deleted', tags: ['img-b'], urls: [] });
    p.purge({ reason: 'image-deleted', tags: ['img-c'], urls: [] });
    await p.idle();
    expect(seen.map((s) => JSON.parse(s.body).tags[0])).toEqual(['img-a', 'img-a', 'img-a', 'img-b', 'img-b', 'img-b', 'img-c']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ tags: ['img-b'] });
  });

  it('a secret in the hook URL (?token=) never reaches the log', async () => {
    const { p, warnings } = purger({ url: `${base}/hook?token=s3cret-q` });
    plan = [403];
    p.purge({ reason: 'image-deleted', tags: ['img-a'], urls: [] });
    await p.idle();
    expect(seen[0]!.url).toBe('/hook?token=s3cret-q');
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain('s3cret-q');
  });

  it('a CDN that never answers times out instead of holding the queue', async () => {
    const { p, warnings } = purger({ timeoutMs: 100 });
    plan = [0, 0, 0];
    p.purge({ reason: 'image-deleted', tags: ['img-hung'], urls: [] });
    p.purge({ reason: 'image-deleted', tags: ['img-next'], urls: [] });
    await p.idle();
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(seen.at(-1)!.body).tags).toEqual(['img-next']);
  });

  it('keeps at most 100 waiting, folding the newest instead of dropping the oldest: every tag is still sent; an empty purge sends nothing', async () => {
    const { p, warnings } = purger({ timeoutMs: 2000 });
    plan = [0];
    p.purge({ reason: 'image-deleted', tags: [], urls: [] });
    for (let i = 0; i < 102; i++) p.purge({ reason: 'image-deleted', tags: [`img-${i}`], urls: [] });
    // the first is in flight (hung), 101 more arrived for 100 places: two folded into one
    expect(p.stats().queued).toBe(101);
    server.closeAllConnections();
    await p.idle();
    expect(new Set(seen.flatMap((s) => JSON.parse(s.body).tags))).toEqual(new Set(Array.from({ length: 102 }, (_, i) => `img-${i}`)));
    expect(warnings).toEqual([]);
    expect(p.stats()).toMatchObject({ ok: 101, failed: 0, dropped: 0 });
  }, 20_000);

  it("fair between owners: one owner's flood neither pushes out nor holds back another's purge", async () => {
    const { p } = purger({ timeoutMs: 2000 });
    plan = [0];
    p.purge({ reason: 'image-changed', tags: ['img-m0'], urls: [], owner: 'user:2' });
    for (let i = 1; i <= 60; i++) p.purge({ reason: 'image-changed', tags: [`img-m${i}`], urls: [], owner: 'user:2' });
    p.purge({ reason: 'image-deleted', tags: ['img-leaked'], urls: urls(3), owner: 'library' });
    for (let i = 61; i <= 300; i++) p.purge({ reason: 'image-changed', tags: [`img-m${i}`], urls: [], owner: 'user:2' });
    // The same image again joins its waiting purge: no new place, nothing sent twice.
    p.purge({ reason: 'image-private', tags: ['img-m5'], urls: [], owner: 'user:2' });
    expect(p.stats().queued).toBeLessThanOrEqual(101);
    server.closeAllConnections();
    await p.idle();
    const bodies = seen.map((s) => JSON.parse(s.body));
    // in flight, retried, then the other owner's turn
    expect(bodies.slice(0, 3).map((b) => b.tags)).toEqual([['img-m0'], ['img-m0'], ['img-leaked']]);
    expect(bodies[2]).toEqual({ reason: 'image-deleted', tags: ['img-leaked'], urls: urls(3) });
    const tags = bodies.flatMap((b) => b.tags);
    expect(new Set(tags).size).toBe(302);
    expect(tags.filter((t) => t === 'img-m5')).toHaveLength(1);
    expect(bodies.find((b) => b.tags.includes('img-m5')).reason).toBe('image-private');
  }, 20_000);

  it('a folded purge keeps its URLs up to 500, the more severe change first; the cut is counted and logged', async () => {
    const { p, warnings } = purger({ timeoutMs: 2000 });
    plan = [0];
    const own = (i: number, n: number) => Array.from({ length: n }, (_, j) => `https://img.example.com/img/w_${j + 1}/m${i}`);
    p.purge({ reason: 'image-changed', tags: ['img-first'], urls: [], owner: 'user:2' });
    for (let i = 0; i < 100; i++) p.purge({ reason: 'image-changed', tags: [`img-m${i}`], urls: own(i, 100), owner: 'user:2' });
    p.purge({ reason: 'image-deleted', tags: ['img-gone'], urls: own(999, 100), owner: 'user:2' });
    for (let i = 100; i < 110; i++) p.purge({ reason: 'image-changed', tags: [`img-m${i}`], urls: own(i, 100), owner: 'user:2' });
    expect(p.stats().dropped).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ owner: 'user:2' });
    server.closeAllConnections();
    await p.idle();
    const bodies = seen.map((s) => JSON.parse(s.body));
    const gone = bodies.find((b) => b.tags.includes('img-gone'));
    expect(gone.reason).toBe('image-deleted');
    expect(gone.urls.slice(0, 100)).toEqual(own(999, 100));
    expect(gone.urls.length).toBeLessThanOrEqual(500);
    expect(new Set(bodies.flatMap((b) => b.tags)).size).toBe(112);
  }, 20_000);

  it('fastly: the tags as one Surrogate-Key batch (256 at most) with Fastly-Key, no body; URLs are not needed', async () => {
    const { p } = purger({ format: 'fastly', token: 'fk' });
    const tags = Array.from({ length: 300 }, (_, i) => `img-${i}`);
    p.purge({ reason: 'image-deleted', tags, urls: urls(3) });
    await p.idle();
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST']);
    expect(seen[0]!.headers['fastly-key']).toBe('fk');
    expect(seen[0]!.auth).toBeUndefined();
    expect(seen[0]!.body).toBe('');
    expect(seen.map((s) => String(s.headers['surrogate-key']).split(' ').length)).toEqual([256, 44]);
    expect(seen.flatMap((s) => String(s.headers['surrogate-key']).split(' '))).toEqual(tags);
  });

  it('cloudflare: tags in calls of at most 30 too', async () => {
    const { p } = purger({ format: 'cloudflare', token: 'cf' });
    p.purge({ reason: 'preset-changed', tags: Array.from({ length: 31 }, (_, i) => `preset-p${i}`), urls: [] });
    await p.idle();
    expect(seen.map((s) => JSON.parse(s.body).tags.length)).toEqual([30, 1]);
  });

  it('a refusal that would repeat (401, 403, 400) is not retried; 429 is; every outcome is counted', async () => {
    const { p, warnings } = purger();
    plan = [403, 429, 200];
    p.purge({ reason: 'image-deleted', tags: ['img-refused'], urls: [] });
    p.purge({ reason: 'image-deleted', tags: ['img-limited'], urls: [] });
    await p.idle();
    expect(seen.map((s) => JSON.parse(s.body).tags[0])).toEqual(['img-refused', 'img-limited', 'img-limited']);
    expect(warnings).toEqual([expect.objectContaining({ tags: ['img-refused'], tries: 1 })]);
    expect(p.stats()).toEqual({ ok: 1, failed: 1, dropped: 0, queued: 0 });
  });

  it('waits settleMs after the change before calling (other nodes hear of it within a second)', async () => {
    const { p } = purger({ settleMs: 300 });
    const t0 = performance.now();
    p.purge({ reason: 'image-deleted', tags: ['img-a'], urls: [] });
    p.purge({ reason: 'image-deleted', tags: ['img-b'], urls: [] });
    expect(p.stats().queued).toBe(2);
    await p.idle();
    const took = performance.now() - t0;
    // Measured from each change, not one after the other: two purges take one settle, not two.
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(550);
    expect(seen).toHaveLength(2);
  });

  it("a 429 is retried after the CDN's Retry-After, not the shorter backoff", async () => {
    const { p } = purger({ retryMs: 10 });
    plan = [[429, { 'retry-after': '1' }], 200];
    const t0 = performance.now();
    p.purge({ reason: 'image-deleted', tags: ['img-a'], urls: [] });
    await p.idle();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
    expect(seen).toHaveLength(2);
    expect(p.stats()).toMatchObject({ ok: 1, failed: 0 });
  });
});
