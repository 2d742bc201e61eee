import type { CachedRendition, Rendition, RenditionCache, RenditionMeta } from './types.js';

/** No storage, only miss coalescing: the baseline the tiered cache replaces. */
export class PassthroughCache implements RenditionCache {
  private readonly inflight = new Map<string, Promise<CachedRendition>>();

  fetch(key: string, _meta: RenditionMeta, render: () => Promise<Rendition>) {
    let p = this.inflight.get(key);
    if (!p) {
      const start = performance.now();
      p = render()
        .then((r) => ({ ...r, tier: 'miss' as const, renderMs: performance.now() - start }))
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  async purgeImage() {
    return 0;
  }

  async purgePreset() {
    return 0;
  }

  stats() {
    return {};
  }

  async close() {}
}
