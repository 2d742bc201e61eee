import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { testApp, type TestApp } from '../helpers/app.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.cleanup();
});
async function app(env: Record<string, string> = {}, opts: Parameters<typeof testApp>[1] = {}) {
  const a = await testApp(env, opts);
  apps.push(a);
  return a;
}

/** The value of one series in a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(a: TestApp, headers: Record<string, string> = {}) {
  const res = await a.request('/metrics', { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('GET /metrics counts real requests', () => {
  test('requests by route pattern and status, cache tiers, render histogram, bytes, library size', async () => {
    const a = await app({ METRICS: 'public' });
    const id = await a.seed('dune-2mp.jpg');
    const url = `/img/w_320,f_webp/${id}?key=${a.adminKey}`;

    const miss = await a.request(url);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const hit = await a.request(url);
    expect(hit.headers.get('x-cache')).toBe('HIT-MEMORY');
    const missing = await a.request(`/img/w_320/nosuchimage?key=${a.adminKey}`);
    expect(missing.status).toBe(404);
    const bad = await a.request(`/img/w_0/${id}?key=${a.adminKey}`);
    expect(bad.status).toBe(400);
    expect((await a.request('/wp-login.php')).status).toBe(404);

    const text = await scrape(a);
    expect(sample(text, 'imgpath_http_requests_total{method="GET",route="/img/*",status="200"}')).toBe(2);
    expect(sample(text, 'imgpath_http_requests_total{method="GET",route="/img/*",status="404"}')).toBe(1);
    expect(sample(text, 'imgpath_http_requests_total{method="GET",route="/img/*",status="400"}')).toBe(1);
    // Unknown paths share one label value: a scanner cannot grow the series count.
    expect(sample(text, 'imgpath_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).not.toContain(id);
    expect(text).not.toContain('wp-login');
    expect(sample(text, 'imgpath_http_request_duration_seconds_count{method="GET",route="/img/*"}')).toBe(4);

    expect(sample(text, 'imgpath_cache_hits_total{tier="memory"}')).toBe(1);
    expect(sample(text, 'imgpath_cache_misses_total')).toBe(1);
    expect(sample(text, 'imgpath_renders_total{outcome="ok"}')).toBe(1);
    expect(sample(text, 'imgpath_render_queue_depth')).toBe(0);
    expect(sample(text, 'imgpath_render_rejections_total')).toBe(0);
    expect(sample(text, 'imgpath_cache_coalesced_total')).toBe(0);
    expect(sample(text, 'imgpath_cache_entries{tier="memory"}')).toBe(1);
    expect(sample(text, 'imgpath_render_duration_seconds_count{format="webp"}')).toBe(1);
    expect(sample(text, 'imgpath_image_responses_total{tier="miss"}')).toBe(1);
    expect(sample(text, 'imgpath_image_responses_total{tier="memory"}')).toBe(1);
    const body = Number(miss.headers.get('content-length'));
    expect(body).toBeGreaterThan(0);
    expect(sample(text, 'imgpath_bytes_served_total{tier="miss"}')).toBe(body);
    expect(sample(text, 'imgpath_bytes_served_total{tier="memory"}')).toBe(body);
    expect(sample(text, 'imgpath_library_images')).toBe(1);
    // Node process metrics come along for memory and event-loop dashboards.
    expect(text).toContain('process_resident_memory_bytes');
  });

  test('the originals cache: bytes held, misses that read no original, reductions made and used', async () => {
    // Read as from S3: an original on local disk is decoded from its file, never held in memory.
    const a = await app({ METRICS: 'public' }, { remoteOriginals: true });
    const id = await a.seed('dune-2mp.jpg');
    // 1680 px wide: w_120..w_180 shrink it 9x or more (1/8); the second such miss makes the reduction.
    for (const w of [120, 150, 180]) expect((await a.request(`/img/w_${w},f_webp/${id}?key=${a.adminKey}`)).status).toBe(200);
    const text = await scrape(a);
    expect(sample(text, 'imgpath_originals_cache_total{event="reused"}')).toBe(2);
    expect(sample(text, 'imgpath_originals_cache_total{event="reduction_made"}')).toBe(1);
    expect(sample(text, 'imgpath_originals_cache_total{event="reduction_used"}')).toBe(2);
    expect(sample(text, 'imgpath_originals_cache_total{event="copy_made"}')).toBe(0);
    // The original (its bytes) and one reduction of 210x131 RGB.
    expect(sample(text, 'imgpath_originals_cache_bytes')).toBe(a.deps.originals.stats().bytes);
    expect(a.deps.originals.stats().bytes).toBeGreaterThan(210 * 131 * 3);
  });

  test('concurrent misses for one rendition count one render and the rest as coalesced', async () => {
    const a = await app({ METRICS: 'public' });
    const id = await a.seed('dune-2mp.jpg');
    const url = `/img/w_500,f_jpg/${id}?key=${a.adminKey}`;
    const all = await Promise.all(Array.from({ length: 4 }, () => a.request(url)));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const text = await scrape(a);
    expect(sample(text, 'imgpath_cache_misses_total')).toBe(1);
    expect(sample(text, 'imgpath_cache_coalesced_total')).toBe(3);
    expect(sample(text, 'imgpath_renders_total{outcome="ok"}')).toBe(1);
  });

  test('each app has its own registry: two apps in one process do not share counters', async () => {
    const a = await app({ METRICS: 'public' });
    const b = await app({ METRICS: 'public' });
    for (let i = 0; i < 3; i++) await a.request('/healthz');
    expect(sample(await scrape(a), 'imgpath_http_requests_total{method="GET",route="/healthz",status="200"}')).toBe(3);
    expect(sample(await scrape(b), 'imgpath_http_requests_total{method="GET",route="/healthz",status="200"}')).toBeUndefined();
  });
});

describe('METRICS access', () => {
  test('admin (the default) needs an admin API key', async () => {
    const a = await app();
    const none = await a.request('/metrics');
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const deliverKey = (await a.deps.keys.create({ scopes: ['deliver'], name: 'cdn' })).key;
    expect((await a.request('/metrics', { headers: { 'X-API-Key': deliverKey } })).status).toBe(403);
    expect((await a.request('/metrics', { headers: { 'X-API-Key': 'imgp_not_a_real_key_at_all' } })).status).toBe(401);
    await scrape(a, { Authorization: `Bearer ${a.adminKey}` });
    await scrape(a, { 'X-API-Key': a.adminKey });
  });

  test('off answers 404', async () => {
    const a = await app({ METRICS: 'off' });
    const res = await a.request('/metrics', { headers: { 'X-API-Key': a.adminKey } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('metrics_off');
  });
});

describe('METRICS_PORT', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  test('serves /metrics on its own port (same access rule) and not on the main one', async () => {
    const a = await app();
    const metricsPort = await freePort();
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS: 'admin',
      METRICS_PORT: String(metricsPort),
      DATA_DIR: path.join(a.dir, 'server-data'),
      CACHE_DIR: path.join(a.dir, 'server-cache'),
      LOG_LEVEL: 'silent',
      IMPORT_SAMPLES: 'false',
      INBOX_DIR: 'off',
      ADMIN_API_KEY: 'imgp_test_admin_key_0123456789',
    });
    running = await startServer(config);
    const main = running.url.replace('localhost', '127.0.0.1');
    expect((await fetch(`${main}/healthz`)).status).toBe(200);
    const onMain = await fetch(`${main}/metrics`, { headers: { 'X-API-Key': 'imgp_test_admin_key_0123456789' } });
    expect(onMain.status).toBe(404);
    const anonymous = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const own = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { Authorization: 'Bearer imgp_test_admin_key_0123456789' } });
    expect(own.status).toBe(200);
    const text = await own.text();
    expect(sample(text, 'imgpath_http_requests_total{method="GET",route="/healthz",status="200"}')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/img/x`)).status).toBe(404);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
