import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Deps } from '../deps.js';
import { CACHE_METRICS, seriesOf, type CacheMetricId, type StatMetric } from './cache-stats.js';

/**
 * Prometheus metrics of one app. Each app owns its `Registry` (never prom-client's global
 * one) so several apps in one test process do not collide. Request metrics are pushed by the
 * `observeRequests` middleware; cache and library numbers are pulled at scrape time.
 */
export interface Metrics {
  registry: Registry;
  /** The text exposition of every metric, with one fresh cache.stats() snapshot. */
  scrape(): Promise<string>;
  observeRequest(r: RequestObservation): void;
  observeRender(format: string, seconds: number): void;
}

export interface RequestObservation {
  method: string;
  /** The matched route pattern (`/img/*`), never the raw path: label values must stay few. */
  route: string;
  status: number;
  seconds: number;
  bytes: number;
  /** `memory` | `disk` | `miss` for image responses, `none` otherwise. */
  tier: string;
}

/** Where scrape-time numbers come from; `Deps` satisfies it. */
export type MetricsSource = Pick<Deps, 'cache' | 'repos' | 'log' | 'cdn'>;

/** The app's metrics, created on first use and kept in `deps.metrics`. */
export function metricsOf(deps: Deps): Metrics {
  return (deps.metrics ??= createMetrics(deps));
}

export function createMetrics(source: MetricsSource): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'imgpath_http_requests_total',
    help: 'HTTP requests by method, matched route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'imgpath_http_request_duration_seconds',
    help: 'Time from request to response headers, by method and matched route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'imgpath_bytes_served_total',
    help: 'Response body bytes sent, by cache tier of image responses (none for other responses)',
    labelNames: ['tier'] as const,
    registers: [registry],
  });
  const imageResponses = new Counter({
    name: 'imgpath_image_responses_total',
    help: 'Image responses by cache tier as told to the client (X-Cache); coalesced waiters count as miss',
    labelNames: ['tier'] as const,
    registers: [registry],
  });
  const render = new Histogram({
    name: 'imgpath_render_duration_seconds',
    help: 'Render time of cache misses, by output format',
    labelNames: ['format'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  new Gauge({
    name: 'imgpath_library_images',
    help: 'Images in the library',
    registers: [registry],
    async collect() {
      try {
        this.set(await source.repos.images.count());
      } catch {
        // A closed database shows up in /readyz; the scrape itself should still answer.
        this.reset();
      }
    },
  });

  const cache = registerCacheMetrics(registry, source);
  registerCdnMetrics(registry, source);

  return {
    registry,
    scrape() {
      cache.startScrape();
      return registry.metrics();
    },
    observeRequest(r) {
      const status = String(r.status);
      requests.inc({ method: r.method, route: r.route, status });
      duration.observe({ method: r.method, route: r.route }, r.seconds);
      if (r.bytes > 0) bytes.inc({ tier: r.tier }, r.bytes);
      if (r.tier !== 'none') imageResponses.inc({ tier: r.tier });
    },
    observeRender(format, seconds) {
      render.observe({ format }, seconds);
    },
  };
}

/** The purge hook's own counts (src/cluster/cdn-purge.ts), read at scrape time; no series without PURGE_WEBHOOK_URL. */
function registerCdnMetrics(registry: Registry, source: MetricsSource) {
  const { cdn } = source;
  if (!cdn) return;
  new Counter({
    name: 'imgpath_cdn_purges_total',
    help: 'CDN purges (PURGE_WEBHOOK_URL) by result: ok, failed (a call gave up after its tries), dropped (the queue was full: folded into another purge, some URLs left out, tags sent)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = cdn.stats();
      for (const result of ['ok', 'failed', 'dropped'] as const) this.inc({ result }, s[result]);
    },
  });
  new Gauge({
    name: 'imgpath_cdn_purge_queue',
    help: 'CDN purges waiting to be sent, the one being sent included',
    registers: [registry],
    collect() {
      this.set(cdn.stats().queued);
    },
  });
}

/**
 * Cache numbers are read from `cache.stats()` at scrape time (one call per scrape), so the hot
 * path pays nothing for them. The mapping of stat names to series lives in cache-stats.ts.
 */
function registerCacheMetrics(registry: Registry, source: MetricsSource) {
  // One stats() snapshot per scrape, so every series of a scrape agrees with the others.
  let snapshot: Record<string, number> | undefined;
  const stats = () => {
    if (!snapshot) {
      try {
        snapshot = source.cache.stats();
      } catch (err) {
        source.log.warn({ err }, 'cache stats failed during a metrics scrape');
        snapshot = {};
      }
    }
    return snapshot;
  };

  for (const [id, m] of Object.entries(CACHE_METRICS) as Array<[CacheMetricId, StatMetric]>) {
    const config = { name: m.name, help: m.help, labelNames: m.labelNames, registers: [registry] };
    if (m.type === 'counter') {
      new Counter({
        ...config,
        collect() {
          this.reset();
          for (const s of seriesOf(stats(), id)) this.inc(s.labels, s.value);
        },
      });
    } else {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          for (const s of seriesOf(stats(), id)) this.set(s.labels, s.value);
        },
      });
    }
  }
  new Gauge({
    name: 'imgpath_cache_stat',
    help: 'Every number reported by the rendition cache, by its own name (see src/cache/tiered.ts)',
    labelNames: ['name'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, value] of Object.entries(stats())) if (Number.isFinite(value)) this.set({ name }, value);
    },
  });
  return {
    startScrape() {
      snapshot = undefined;
    },
  };
}
