import { LRUCache } from 'lru-cache';
import { RateLimitedError } from '../errors.js';

/**
 * Token buckets per subject (`key:…`, `user:…`, `ip:…`): `perMinute` requests may burst at once,
 * then they refill continuously. Buckets live in an LRU, so a flood of new subjects (spoofed
 * IPs) costs bounded memory; an evicted bucket was idle longest and simply starts full again.
 */

export interface RateDecision {
  ok: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds until one more request is allowed (Retry-After); 0 when `ok`. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly perMs: number;

  constructor(
    /** 0 disables the limit. */
    readonly perMinute: number,
    private readonly opts: { maxBuckets?: number; nowMs?: () => number } = {},
  ) {
    this.buckets = new LRUCache({ max: opts.maxBuckets ?? 50_000 });
    this.perMs = perMinute / 60_000;
  }

  get enabled() {
    return this.perMinute > 0;
  }

  /** Spend `cost` tokens from `subject`'s bucket if it has them. */
  take(subject: string, cost = 1): RateDecision {
    const limit = this.perMinute;
    if (!this.enabled) return { ok: true, limit, remaining: limit, resetSeconds: 0, retryAfterSeconds: 0 };
    const now = this.opts.nowMs?.() ?? Date.now();
    const b = this.buckets.get(subject) ?? { tokens: limit, atMs: now };
    b.tokens = Math.min(limit, b.tokens + Math.max(0, now - b.atMs) * this.perMs);
    b.atMs = now;
    const ok = b.tokens >= cost;
    if (ok) b.tokens -= cost;
    this.buckets.set(subject, b);
    return {
      ok,
      limit,
      remaining: Math.floor(b.tokens),
      resetSeconds: Math.ceil((limit - b.tokens) / this.perMs / 1000),
      retryAfterSeconds: ok ? 0 : Math.max(1, Math.ceil((cost - b.tokens) / this.perMs / 1000)),
    };
  }

  /** Forget a subject's history (e.g. after a successful login, the failures no longer count). */
  reset(subject: string) {
    this.buckets.delete(subject);
  }

  get size() {
    return this.buckets.size;
  }
}

/** The IETF draft's `RateLimit-*` fields, sent on every limited route, not only on 429. */
export function rateHeaders(d: RateDecision): Record<string, string> {
  return {
    'RateLimit-Limit': String(d.limit),
    'RateLimit-Remaining': String(d.remaining),
    'RateLimit-Reset': String(d.resetSeconds),
  };
}

/** Take a token or throw the 429 (with Retry-After and RateLimit-* headers). Returns the headers to send on success. */
export function enforce(limiter: RateLimiter, subject: string, cost = 1): Record<string, string> {
  if (!limiter.enabled) return {};
  const d = limiter.take(subject, cost);
  if (!d.ok) throw new RateLimitedError(d.retryAfterSeconds, rateHeaders(d));
  return rateHeaders(d);
}
