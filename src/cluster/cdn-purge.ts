import { type Config, maskedUrl } from '../config.js';
import type { Logger } from '../log.js';
import { purgeQueue } from './purge-queue.js';

/**
 * Tells the CDN in front what to forget when an image is deleted, made private, renamed or
 * re-cropped, or a preset changes (PURGE_WEBHOOK_URL). Responses carry `Cache-Tag: img-{id}` (and
 * `preset-{name}` for a preset's renditions; `Surrogate-Key` with the same keys for Fastly), so a
 * CDN that purges by tag needs only the tags; one that purges by URL gets the URLs this server can
 * name for the image (src/library/cdn.ts).
 *
 * It runs on the node where the change was made (never once per node), after the change is
 * committed (and settled: see `settleMs`), off the request: a slow or failing CDN never fails or slows
 * a delete. Each call is tried up to 3 times with backoff, or after the CDN's Retry-After (a 4xx other
 * than 408/429 is not retried: the same call would be refused again), then logged. At most 100 wait,
 * owners served in turn, and a full queue folds the purges of the owner with the most waiting
 * (./purge-queue.ts): a tenant changing their images in a loop can neither push out nor hold back
 * anyone else's purge. Outcomes are counted for /metrics (`imgpath_cdn_purges_total{result}`).
 */

export type PurgeFormat = 'json' | 'cloudflare' | 'fastly' | 'purge';
export interface PurgeRequest {
  reason: 'image-deleted' | 'image-private' | 'image-renamed' | 'image-changed' | 'preset-changed' | 'preset-deleted';
  tags: string[];
  /** Absolute URLs (PUBLIC_URL + path). */
  urls: string[];
  /** Whose change (the image's owner; the presets'): purges are fair between owners. Not sent. */
  owner?: string;
}
/**
 * Purge requests by outcome since start: sent (every call answered 2xx), failed (a call gave up),
 * dropped (the queue was full and some of its URLs were left out; its tags were still sent).
 */
export interface PurgeStats {
  ok: number;
  failed: number;
  dropped: number;
  /** Waiting right now, the one being sent included. */
  queued: number;
}
export interface CdnPurger {
  purge(req: PurgeRequest): void;
  /** Resolves once everything queued so far was sent (or given up): tests and shutdown. */
  idle(): Promise<void>;
  stats(): PurgeStats;
}

export interface PurgeOptions {
  url: string;
  format: PurgeFormat;
  /** `Authorization: Bearer …` (json, cloudflare, purge); `Fastly-Key: …` (fastly). */
  token?: string;
  timeoutMs?: number;
  retryMs?: number;
  /**
   * Sent no sooner than this after the change: other nodes hear of it within a second (src/cluster/bus.ts),
   * and a CDN that refilled from a node that had not heard yet would keep the stale answer for a year.
   */
  settleMs?: number;
  log: Pick<Logger, 'warn'>;
}

/** Cloudflare takes at most 30 URLs (files) per call on Free/Pro/Business, and 30 tags on older accounts: 30 works everywhere. */
const CLOUDFLARE_BATCH = 30;
/** Fastly purges up to 256 surrogate keys in one batch call. */
const FASTLY_KEYS = 256;
const MAX_QUEUED = 100;
/** URLs one waiting purge keeps when others are folded into it (one purge names at most 100, src/library/cdn.ts). */
const MAX_FOLDED_URLS = 500;
const TRIES = 3;

/**
 * The purger PURGE_WEBHOOK_* describe, or none when PURGE_WEBHOOK_URL is unset. Alone (SQLite) the
 * change is everywhere once committed; with DATABASE_URL other nodes hear of it within a second.
 */
export function cdnPurgerOf(
  config: Pick<Config, 'PURGE_WEBHOOK_URL' | 'PURGE_WEBHOOK_FORMAT' | 'PURGE_WEBHOOK_TOKEN' | 'DATABASE_URL'>,
  log: Pick<Logger, 'warn'>,
) {
  if (!config.PURGE_WEBHOOK_URL) return undefined;
  const settleMs = config.DATABASE_URL ? 1000 : 0;
  return cdnPurger({ url: config.PURGE_WEBHOOK_URL, format: config.PURGE_WEBHOOK_FORMAT, token: config.PURGE_WEBHOOK_TOKEN, settleMs, log });
}

class PurgeCallError extends Error {
  constructor(
    message: string,
    /** Whether trying the same call again may succeed (network, timeout, 5xx, 408, 429). */
    readonly retry: boolean,
    /** The CDN's Retry-After (a 429 from a purge rate limit, say), in ms. */
    readonly waitMs = 0,
  ) {
    super(message);
  }
}

/** Cloudflare's purge budget refills per minute: a Retry-After is honoured up to this, never longer (it holds the queue). */
const MAX_RETRY_AFTER_MS = 60_000;

function retryAfterMs(res: Response): number {
  const raw = res.headers.get('retry-after');
  if (!raw) return 0;
  const ms = /^\d+$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chunks = <T>(list: T[], size: number) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

export function cdnPurger(o: PurgeOptions): CdnPurger {
  const queue = purgeQueue(MAX_QUEUED, MAX_FOLDED_URLS);
  const counts = { ok: 0, failed: 0, dropped: 0 };
  let running: Promise<void> | undefined;
  let sending = 0;
  const auth: Record<string, string> = !o.token ? {} : o.format === 'fastly' ? { 'fastly-key': o.token } : { authorization: `Bearer ${o.token}` };

  const send = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...auth, ...headers },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
      redirect: 'error',
    }).then(
      async (res) => {
        await res.arrayBuffer().catch(() => {});
        // A PURGE of something the proxy never cached answers 404: nothing left to forget.
        if (res.ok || (method === 'PURGE' && res.status === 404)) return;
        throw new PurgeCallError(
          `${method} ${maskedUrl(url)} answered ${res.status}`,
          res.status >= 500 || res.status === 408 || res.status === 429,
          retryAfterMs(res),
        );
      },
      (err: Error) => {
        throw new PurgeCallError(`${method} ${maskedUrl(url)}: ${err.cause instanceof Error ? err.cause.message : err.message}`, true);
      },
    );

  const calls = (req: PurgeRequest): Array<() => Promise<void>> => {
    switch (o.format) {
      case 'json':
        return [() => send('POST', o.url, { reason: req.reason, tags: req.tags, urls: req.urls })];
      case 'purge': {
        // Varnish / nginx: a PURGE of the same path at the proxy's own address.
        const base = new URL(o.url);
        return req.urls.map((u) => () => send('PURGE', new URL(new URL(u).pathname + new URL(u).search, base).href));
      }
      case 'fastly':
        // Every response carries its keys in Surrogate-Key, so the keys reach every URL Fastly holds.
        return chunks(req.tags, FASTLY_KEYS).map((keys) => () => send('POST', o.url, undefined, { 'surrogate-key': keys.join(' ') }));
      case 'cloudflare':
        return [
          ...chunks(req.urls, CLOUDFLARE_BATCH).map((files) => () => send('POST', o.url, { files })),
          ...chunks(req.tags, CLOUDFLARE_BATCH).map((tags) => () => send('POST', o.url, { tags })),
        ];
    }
  };

  /** True once the call succeeded; false when it gave up (logged). */
  const attempt = async (call: () => Promise<void>, req: PurgeRequest) => {
    for (let i = 0; ; i++) {
      try {
        await call();
        return true;
      } catch (err) {
        const { message, retry, waitMs } = err as PurgeCallError;
        if (!retry || i === TRIES - 1) {
          o.log.warn({ err: message, reason: req.reason, tags: req.tags.slice(0, 20), tries: i + 1 }, `CDN purge failed after ${i + 1} ${i ? 'tries' : 'try'}`);
          return false;
        }
        await sleep(Math.max((o.retryMs ?? 500) * 2 ** i, waitMs));
      }
    }
  };

  const drain = async () => {
    for (let req = queue.next(); req; req = queue.next()) {
      const at = req.at;
      sending = 1;
      const early = at + (o.settleMs ?? 0) - Date.now();
      if (early > 0) await sleep(early);
      let ok = true;
      for (const call of calls(req)) if (!(await attempt(call, req))) ok = false;
      counts[ok ? 'ok' : 'failed']++;
      sending = 0;
    }
    running = undefined;
  };

  return {
    purge(req) {
      if (!req.tags.length && !req.urls.length) return;
      const cut = queue.add({ reason: req.reason, tags: req.tags, urls: req.urls, owner: req.owner ?? '', at: Date.now() });
      if (cut) {
        counts.dropped++;
        o.log.warn({ reason: req.reason, owner: req.owner, urls: cut }, 'CDN purge queue full: purges folded, some URLs left out (their tags are sent)');
      }
      running ??= drain();
    },
    async idle() {
      while (running) await running;
    },
    stats: () => ({ ...counts, queued: queue.size + sending }),
  };
}
