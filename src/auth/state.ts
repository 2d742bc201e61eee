import type { Context } from 'hono';
import type { Deps } from '../deps.js';
import { isAdmin, type Principal } from './principal.js';
import { RateLimiter, enforce } from './ratelimit.js';
import { UsageCounters } from './usage.js';
import { Users } from './users.js';

/**
 * Live auth state of one app: rate-limit buckets and unflushed usage counters. Made by
 * `createDeps` (deps.auth), so every app, and every test app, starts with fresh buckets.
 */
export interface AuthState {
  users: Users;
  api: RateLimiter;
  miss: RateLimiter;
  login: RateLimiter;
  usage: UsageCounters;
}

export function createAuthState(deps: Pick<Deps, 'repos' | 'config' | 'clock' | 'passwords'>): AuthState {
  const { config } = deps;
  return {
    users: new Users(deps.repos.users, deps.passwords),
    api: new RateLimiter(config.RATE_LIMIT_API_PER_MIN),
    miss: new RateLimiter(config.RATE_LIMIT_MISS_PER_MIN),
    login: new RateLimiter(config.RATE_LIMIT_LOGIN_PER_MIN),
    usage: new UsageCounters(deps.repos.usage, deps.clock),
  };
}

/** Write pending usage counters now (before reading them, and on shutdown). */
export function flushUsage(deps: Pick<Deps, 'auth'>): Promise<void> {
  return deps.auth.usage.flush();
}

/** Who a request is charged to: the key, else the user, else the client address. */
export interface RequestScope {
  subject: string;
  keyId?: string;
  /** Admins (operators and their scripts) are not throttled. */
  exempt: boolean;
}

export function scopeFor(p: Principal, ip: string): RequestScope {
  const exempt = isAdmin(p);
  if (p.kind === 'key') return { subject: `key:${p.keyId}`, keyId: p.keyId, exempt };
  if (p.kind === 'user') return { subject: `user:${p.userId}`, exempt };
  return { subject: `ip:${ip}`, exempt };
}

/** The client's address: the socket peer, or the last X-Forwarded-For hop when TRUST_PROXY is on. */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const hops = c.req
      .header('x-forwarded-for')
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    if (hops?.length) return hops[hops.length - 1];
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

/**
 * The delivery path takes this hook when it asks the cache for a rendition and calls it only
 * when the cache really renders (a miss; hits never count): it throttles the caller per
 * RATE_LIMIT_MISS_PER_MIN and counts the render against their key. `scope` is who the request
 * (or the task) is charged to, passed down as a value: an AsyncLocalStorage carried it before,
 * and its async hooks cost every request in the process a quarter of a cache hit (issue 14).
 * Without a scope (the CLI, the server's own work) the hook does nothing.
 */
export function cacheMissCharge(deps: Pick<Deps, 'auth'>, scope: RequestScope | undefined): () => void {
  if (!scope) return () => {};
  return () => {
    const state = deps.auth;
    if (!scope.exempt) enforce(state.miss, scope.subject);
    if (scope.keyId) state.usage.render(scope.keyId);
  };
}
