import type { Logger } from '../log.js';

/**
 * Tells the CDN in front what to forget when an image is deleted or made private, or a preset
 * changes (PURGE_WEBHOOK_URL). Responses carry `Cache-Tag: img-{id}` (and `preset-{name}` for a
 * preset's renditions), so a CDN that purges by tag needs only the tags; one that purges by URL gets
 * every delivery URL this server knows was rendered for the image.
 *
 * It runs on the node where the change was made (never once per node), after the change is
 * committed, off the request: a slow or failing CDN never fails or slows a delete. Each call is tried
 * up to 3 times with backoff, then logged; at most 100 wait (the oldest are dropped, with a warning).
 */

export type PurgeFormat = 'json' | 'cloudflare' | 'purge';
export interface PurgeRequest {
  reason: 'image-deleted' | 'image-private' | 'image-renamed' | 'preset-changed';
  tags: string[];
  /** Absolute URLs (PUBLIC_URL + path). */
  urls: string[];
}
export interface CdnPurger {
  purge(req: PurgeRequest): void;
  /** Resolves once everything queued so far was sent (or given up): tests and shutdown. */
  idle(): Promise<void>;
}

export interface PurgeOptions {
  url: string;
  format: PurgeFormat;
  /** Sent as `Authorization: Bearer …` (json, cloudflare). */
  token?: string;
  timeoutMs?: number;
  retryMs?: number;
  log: Pick<Logger, 'warn'>;
}

/** Cloudflare purges at most 30 URLs per call on every plan. */
const CLOUDFLARE_FILES = 30;
const MAX_QUEUED = 100;

export function cdnPurger(o: PurgeOptions): CdnPurger {
  const queue: PurgeRequest[] = [];
  let running: Promise<void> | undefined;
  const send = (method: string, url: string, body?: unknown) =>
    fetch(url, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
      redirect: 'error',
    }).then(async (res) => {
      await res.arrayBuffer().catch(() => {});
      // A PURGE of something the proxy never cached answers 404: nothing left to forget.
      if (!res.ok && !(method === 'PURGE' && res.status === 404)) throw new Error(`${method} ${url} answered ${res.status}`);
    });

  const calls = (req: PurgeRequest): Array<() => Promise<void>> => {
    if (o.format === 'json') return [() => send('POST', o.url, req)];
    if (o.format === 'purge') {
      // Varnish / nginx: a PURGE of the same path at the proxy's own address.
      const base = new URL(o.url);
      return req.urls.map((u) => () => send('PURGE', new URL(new URL(u).pathname + new URL(u).search, base).href));
    }
    const out: Array<() => Promise<void>> = [];
    for (let i = 0; i < req.urls.length; i += CLOUDFLARE_FILES) {
      const files = req.urls.slice(i, i + CLOUDFLARE_FILES);
      out.push(() => send('POST', o.url, { files }));
    }
    // Purge by tag is an Enterprise feature at Cloudflare: a refusal is logged, the URLs are gone anyway.
    if (req.tags.length) out.push(() => send('POST', o.url, { tags: req.tags }));
    return out;
  };

  const attempt = async (call: () => Promise<void>, req: PurgeRequest) => {
    for (let i = 0; ; i++) {
      try {
        return await call();
      } catch (err) {
        if (i === 2) {
          o.log.warn({ err: (err as Error).message, reason: req.reason, tags: req.tags }, 'CDN purge failed after 3 tries');
          return;
        }
        await new Promise((r) => setTimeout(r, (o.retryMs ?? 500) * 2 ** i));
      }
    }
  };

  const drain = async () => {
    for (let req = queue.shift(); req; req = queue.shift()) {
      for (const call of calls(req)) await attempt(call, req);
    }
    running = undefined;
  };

  return {
    purge(req) {
      if (!req.tags.length && !req.urls.length) return;
      if (queue.length >= MAX_QUEUED) {
        const dropped = queue.shift()!;
        o.log.warn({ reason: dropped.reason, tags: dropped.tags }, 'CDN purge queue full: the oldest purge was dropped');
      }
      queue.push(req);
      running ??= drain();
    },
    async idle() {
      while (running) await running;
    },
  };
}
