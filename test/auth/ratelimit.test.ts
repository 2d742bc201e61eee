import { afterEach, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { RateLimiter } from '../../src/auth/ratelimit.js';
import { authApp, bearer, errorOf, register, type AuthTestApp } from './helpers.js';

let t: AuthTestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('RateLimiter (token bucket)', () => {
  it('allows the budget at once, then refills continuously', () => {
    let now = 0;
    const rl = new RateLimiter(3, { nowMs: () => now });
    expect([1, 2, 3, 4].map(() => rl.take('a').ok)).toEqual([true, true, true, false]);
    const refused = rl.take('a');
    expect(refused).toMatchObject({ ok: false, limit: 3, remaining: 0, retryAfterSeconds: 20, resetSeconds: 60 });
    expect(rl.take('b').ok).toBe(true); // subjects are independent
    now += 20_000;
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('a').ok).toBe(false);
  });

  it('keeps at most maxBuckets subjects (bounded memory under spoofed addresses)', () => {
    const rl = new RateLimiter(1, { maxBuckets: 100 });
    for (let i = 0; i < 10_000; i++) rl.take(`ip:${i}`);
    expect(rl.size).toBe(100);
  });

  it('0 disables the limit', () => {
    const rl = new RateLimiter(0);
    expect(Array.from({ length: 100 }, () => rl.take('a').ok).every(Boolean)).toBe(true);
  });
});

describe('management API limit (RATE_LIMIT_API_PER_MIN)', () => {
  it('answers 429 with Retry-After and RateLimit-* headers per user, and leaves others alone', async () => {
    t = await authApp({ RATE_LIMIT_API_PER_MIN: '3' });
    const ada = await register(t, 'ada');
    const bob = await register(t, 'bob');
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.request('/keys', { headers: bearer(ada.token) });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      remaining.push(res.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await t.request('/keys', { headers: bearer(ada.token) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('20');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    expect((await errorOf(limited)).code).toBe('rate_limited');
    expect((await t.request('/keys', { headers: bearer(bob.token) })).status).toBe(200);
  });

  it('charges a key by its id, anonymous callers by address, and never admins', async () => {
    t = await authApp({ RATE_LIMIT_API_PER_MIN: '2', TRUST_PROXY: 'true' });
    const key = (await t.deps.keys.create({ scopes: ['deliver'] })).key;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await t.request('/keys/x/usage', { headers: { 'X-API-Key': key } })).status);
    expect(statuses).toEqual([403, 403, 429]);
    const anon = (ip: string) => t!.request('/auth/me', { headers: { 'X-Forwarded-For': `198.51.100.1, ${ip}` } });
    expect([(await anon('10.0.0.1')).status, (await anon('10.0.0.1')).status, (await anon('10.0.0.1')).status]).toEqual([401, 401, 429]);
    expect((await anon('10.0.0.2')).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await t.request('/keys', { headers: { 'X-API-Key': t.adminKey } })).status).toBe(200);
  });

  it('does not count delivery requests', async () => {
    t = await authApp({ RATE_LIMIT_API_PER_MIN: '1' });
    const id = await t.seed('dune-2mp.jpg');
    for (let i = 0; i < 3; i++) {
      const res = await t.request(`/img/${id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

describe('cache-miss limit (RATE_LIMIT_MISS_PER_MIN)', () => {
  it('counts renders only: cache hits are never limited', async () => {
    t = await authApp({ RATE_LIMIT_MISS_PER_MIN: '2' });
    const id = await t.seed('dune-2mp.jpg');
    const headers = { 'X-API-Key': (await t.deps.keys.create({ scopes: ['deliver'] })).key };
    expect((await t.request(`/img/w_100/${id}`, { headers })).status).toBe(200);
    expect((await t.request(`/img/w_110/${id}`, { headers })).status).toBe(200);
    const limited = await t.request(`/img/w_120/${id}`, { headers });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-limit')).toBe('2');
    expect(limited.headers.get('cache-control')).toBe('no-store');
    // Already rendered: hits, served however often.
    for (let i = 0; i < 5; i++) expect((await t.request(`/img/w_100/${id}`, { headers })).status).toBe(200);
    // Another caller has its own budget; the render the first caller was refused was never cached.
    const other = { 'X-API-Key': (await t.deps.keys.create({ scopes: ['deliver'] })).key };
    expect((await t.request(`/img/w_120/${id}`, { headers: other })).status).toBe(200);
  });

  it('limits anonymous signed-URL misses per address', async () => {
    t = await authApp({ RATE_LIMIT_MISS_PER_MIN: '1', TRUST_PROXY: 'true', SIGNING_KEYS: 'k1:first-secret-0123456789' });
    const id = await t.seed('dune-2mp.jpg');
    const k = { kid: 'k1', secret: 'first-secret-0123456789' };
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    expect((await t.request(signedImagePath(id, 'w_50', k), { headers: from('10.1.1.1') })).status).toBe(200);
    expect((await t.request(signedImagePath(id, 'w_60', k), { headers: from('10.1.1.1') })).status).toBe(429);
    expect((await t.request(signedImagePath(id, 'w_60', k), { headers: from('10.1.1.2') })).status).toBe(200);
  });
});
