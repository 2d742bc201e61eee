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
  /** The series of one method, route, status and tier, for a caller that records many of them (the hit memo). */
  requestSeries(method: string, route: string, status: number, tier: string): RequestSeries;
  observeRender(format: string, seconds: number): void;
}

/** Where one kind of request is counted: `observe` is a few additions. */
export interface RequestSeries {
  observe(seconds: number, bytes: number): void;
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
export type MetricsSource = Pick<Deps, 'cache' | 'repos' | 'log' | 'cdn'> & Partial<Pick<Deps, 'originals'>>;

/** The app's metrics, created on first use and kept in `deps.metrics`. */
export function metricsOf(deps: Deps): Metrics {
  return (deps.metrics ??= createMetrics(deps));
}

export function createMetrics(source: MetricsSource): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new RequestAggregate();
  new Counter({
    name: 'imgpath_http_requests_total',
    help: 'HTTP requests by method, matched route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of requests.series()) this.inc({ method: s.method, route: s.route, status: String(s.status) }, s.count);
    },
  });
  registry.registerMetric(durationHistogram(requests) as never);
  new Counter({
    name: 'imgpath_bytes_served_total',
    help: 'Response body bytes sent, by cache tier of image responses (none for other responses)',
    labelNames: ['tier'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of requests.series()) if (s.bytes > 0) this.inc({ tier: s.tier }, s.bytes);
    },
  });
  new Counter({
    name: 'imgpath_image_responses_total',
    help: 'Image responses by cache tier as told to the client (X-Cache); coalesced waiters count as miss',
    labelNames: ['tier'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of requests.series()) if (s.tier !== 'none') this.inc({ tier: s.tier }, s.count);
    },
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
  registerOriginalsMetrics(registry, source);

  return {
    registry,
    scrape() {
      cache.startScrape();
      return registry.metrics();
    },
    observeRequest(r) {
      requests.of(r.method, r.route, r.status, r.tier).observe(r.seconds, r.bytes);
    },
    requestSeries(method, route, status, tier) {
      return requests.of(method, route, status, tier);
    },
    observeRender(format, seconds) {
      render.observe({ format }, seconds);
    },
  };
}

/** The originals cache's counts (src/render/originals-cache.ts), read at scrape time. */
function registerOriginalsMetrics(registry: Registry, source: MetricsSource) {
  const { originals } = source;
  if (!originals) return;
  new Gauge({
    name: 'imgpath_originals_cache_bytes',
    help: 'Bytes held by the originals cache (ORIGINALS_CACHE_MB): originals, baseline copies and reductions',
    registers: [registry],
    collect() {
      this.set(originals.stats().bytes);
    },
  });
  new Counter({
    name: 'imgpath_originals_cache_total',
    help:
      'Originals cache events: reused (a miss read no original), copy_made / copy_failed (baseline copies of progressive JPEGs), ' +
      'reduction_made / reduction_used (renders started from an original kept decoded at 1/2, 1/4 or 1/8)',
    labelNames: ['event'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = originals.stats();
      const events = { reused: s.reused, copy_made: s.made, copy_failed: s.failed, reduction_made: s.reductionsMade, reduction_used: s.reductionsUsed };
      for (const [event, value] of Object.entries(events)) this.inc({ event }, value);
    },
  });
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

/** Upper bounds of the request duration histogram, in seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The duration histogram of one method and route (summed in observation order, as prom-client would). */
interface RouteDurations {
  labels: { method: string; route: string };
  /** Observations per bucket (not cumulative); the last one past every bound (+Inf). */
  buckets: Float64Array;
  sum: number;
  count: number;
}

class Series implements RequestSeries {
  count = 0;
  bytes = 0;
  constructor(
    readonly method: string,
    readonly route: string,
    readonly status: number,
    readonly tier: string,
    private readonly durations: RouteDurations,
  ) {}

  observe(seconds: number, bytes: number) {
    this.count++;
    if (bytes > 0) this.bytes += bytes;
    const d = this.durations;
    d.count++;
    d.sum += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    d.buckets[i]++;
  }
}

/**
 * Request observations summed per (method, route, status, tier) in plain numbers, read by the
 * registry at scrape time: prom-client's own inc/observe hash their label objects on every call,
 * which cost a cache hit ~5 µs for four series (issue 14). The exposition is the same.
 */
class RequestAggregate {
  private readonly byKey = new Map<string, Map<string, { durations: RouteDurations; series: Map<number, Map<string, Series>> }>>();
  private readonly all: Series[] = [];
  readonly durations: RouteDurations[] = [];

  of(method: string, route: string, status: number, tier: string): Series {
    let routes = this.byKey.get(method);
    if (!routes) this.byKey.set(method, (routes = new Map()));
    let r = routes.get(route);
    if (!r) {
      const durations = { labels: { method, route }, buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      this.durations.push(durations);
      routes.set(route, (r = { durations, series: new Map() }));
    }
    let tiers = r.series.get(status);
    if (!tiers) r.series.set(status, (tiers = new Map()));
    let s = tiers.get(tier);
    if (!s) {
      tiers.set(tier, (s = new Series(method, route, status, tier, r.durations)));
      this.all.push(s);
    }
    return s;
  }

  series(): readonly Series[] {
    return this.all;
  }
}

/**
 * `imgpath_http_request_duration_seconds` from the aggregate, in the shape prom-client's own
 * Histogram hands the registry (same lines, same label order), since prom-client has no way to
 * add a bucket's count at once.
 */
function durationHistogram(requests: RequestAggregate) {
  const name = 'imgpath_http_request_duration_seconds';
  const help = 'Time from request to response headers, by method and matched route';
  const exposition = () => {
    const values: Array<{ labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string }> = [];
    for (const h of requests.durations) {
      let acc = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        acc += h.buckets[i];
        values.push({ labels: { le }, sharedLabels: h.labels, value: acc, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: h.labels, value: h.count, metricName: `${name}_bucket` });
      values.push({ labels: {}, sharedLabels: h.labels, value: h.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: h.labels, value: h.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', aggregator: 'sum', values };
  };
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async getForPromString() {
      return exposition();
    },
    async get() {
      const data = exposition();
      return { ...data, values: data.values.map(({ sharedLabels, labels, ...v }) => ({ ...v, labels: { ...labels, ...sharedLabels } })) };
    },
    reset() {},
  };
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
