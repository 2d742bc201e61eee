/**
 * How the rendition cache's `stats()` numbers (names owned by src/cache/tiered.ts) become
 * Prometheus series. Keys not listed here are still exported raw as `imgpath_cache_stat{name}`,
 * so a stat added to the cache shows up without touching this file.
 */

export interface StatMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: string[];
}

export const CACHE_METRICS = {
  hits: { name: 'imgpath_cache_hits_total', help: 'Rendition cache hits by tier', type: 'counter', labelNames: ['tier'] },
  misses: { name: 'imgpath_cache_misses_total', help: 'Rendition cache misses (renders asked for)', type: 'counter', labelNames: [] },
  coalesced: { name: 'imgpath_cache_coalesced_total', help: 'Requests that joined a render or disk read already in flight', type: 'counter', labelNames: [] },
  evictions: { name: 'imgpath_cache_evictions_total', help: 'Renditions evicted to stay within a tier budget', type: 'counter', labelNames: ['tier'] },
  renders: { name: 'imgpath_renders_total', help: 'Renders finished, by outcome (ok, error, timeout)', type: 'counter', labelNames: ['outcome'] },
  rejections: {
    name: 'imgpath_render_rejections_total',
    help: 'Misses refused with 503 (render queue full or no slot in time)',
    type: 'counter',
    labelNames: [],
  },
  queue: { name: 'imgpath_render_queue_depth', help: 'Renders waiting for a render slot', type: 'gauge', labelNames: [] },
  inflight: { name: 'imgpath_renders_in_flight', help: 'Renders running now', type: 'gauge', labelNames: [] },
  bytes: { name: 'imgpath_cache_bytes', help: 'Bytes held by each cache tier', type: 'gauge', labelNames: ['tier'] },
  entries: { name: 'imgpath_cache_entries', help: 'Renditions held by each cache tier', type: 'gauge', labelNames: ['tier'] },
} satisfies Record<string, StatMetric>;

export type CacheMetricId = keyof typeof CACHE_METRICS;

/** stats() key -> series. */
export const CACHE_STAT_SERIES: Record<string, { metric: CacheMetricId; labels?: Record<string, string> }> = {
  hits_memory: { metric: 'hits', labels: { tier: 'memory' } },
  hits_disk: { metric: 'hits', labels: { tier: 'disk' } },
  hits_shared: { metric: 'hits', labels: { tier: 'shared' } },
  misses: { metric: 'misses' },
  coalesced: { metric: 'coalesced' },
  memory_evictions: { metric: 'evictions', labels: { tier: 'memory' } },
  disk_evictions: { metric: 'evictions', labels: { tier: 'disk' } },
  shared_evictions: { metric: 'evictions', labels: { tier: 'shared' } },
  renders: { metric: 'renders', labels: { outcome: 'ok' } },
  render_errors: { metric: 'renders', labels: { outcome: 'error' } },
  render_timeouts: { metric: 'renders', labels: { outcome: 'timeout' } },
  rejected: { metric: 'rejections' },
  queue_depth: { metric: 'queue' },
  in_flight: { metric: 'inflight' },
  memory_bytes: { metric: 'bytes', labels: { tier: 'memory' } },
  disk_bytes: { metric: 'bytes', labels: { tier: 'disk' } },
  shared_bytes: { metric: 'bytes', labels: { tier: 'shared' } },
  memory_entries: { metric: 'entries', labels: { tier: 'memory' } },
  disk_entries: { metric: 'entries', labels: { tier: 'disk' } },
  shared_entries: { metric: 'entries', labels: { tier: 'shared' } },
};

/** The values of one metric from a stats() snapshot; non-finite or negative numbers are skipped. */
export function seriesOf(stats: Record<string, number>, metric: CacheMetricId) {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const [key, value] of Object.entries(stats)) {
    const s = CACHE_STAT_SERIES[key];
    if (s?.metric === metric && Number.isFinite(value) && value >= 0) out.push({ labels: s.labels ?? {}, value });
  }
  return out;
}
