import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { hashWith, parseStored } from '../../src/auth/passwords.js';
import { users } from '../../src/db/schema.js';
import { asAdmin, authApp, errorOf, postJson, register, type AuthTestApp } from './helpers.js';

/**
 * Password hashing has its own bounded queue (src/auth/hash-queue.ts): a flood of logins can
 * neither run more than PASSWORD_HASH_CONCURRENCY hashes at once nor grow a wait list past
 * PASSWORD_HASH_QUEUE, and attempts are counted per address before they reach it.
 */

let t: AuthTestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** Holds one hashing slot with a job the test ends: the queue itself is real and unchanged. */
function holdSlot(app: AuthTestApp) {
  let release!: () => void;
  const held = app.deps.passwords.queue.run(() => new Promise<void>((r) => (release = r)));
  return {
    release: () => {
      release();
      return held;
    },
  };
}

const login = (app: AuthTestApp, username: string, password: string, ip = '10.0.0.1') =>
  postJson(app, '/auth/login', { username, password }, { 'X-Forwarded-For': ip });

describe('the password hashing queue', () => {
  it('never runs more than PASSWORD_HASH_CONCURRENCY hashes at once, whatever arrives', async () => {
    t = await authApp({ PASSWORD_HASH_CONCURRENCY: '2', PASSWORD_HASH_QUEUE: '100', TRUST_PROXY: 'true' });
    await register(t, 'ada');
    const q = t.deps.passwords.queue;
    const before = q.counters.started;
    // Known and unknown names alike (the dummy check for an unknown name is a hash too).
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => login(t!, i % 2 ? 'ada' : `nobody${i}`, `wrong guess ${i}`, `10.0.0.${i}`)));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(401));
    expect(q.counters.started - before).toBe(12);
    expect(q.counters.peakInFlight).toBeLessThanOrEqual(2);

    // Deterministically: with both slots taken, new checks wait, and none starts beside them.
    const a = holdSlot(t);
    const b = holdSlot(t);
    const waiting = Array.from({ length: 5 }, (_, i) => login(t!, 'ada', `guess ${i}`, `10.0.1.${i}`));
    await expect.poll(() => q.queued).toBe(5);
    expect(q.inFlight).toBe(2);
    await a.release();
    await b.release();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual(Array(5).fill(401));
    expect(q.counters.peakInFlight).toBe(2);
    expect(q.inFlight).toBe(0);
  });

  it('answers 503 with Retry-After and the JSON error past the wait list, for login and registration alike', async () => {
    t = await authApp({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '1', TRUST_PROXY: 'true' });
    await register(t, 'ada');
    const slot = holdSlot(t);
    const queued = login(t, 'ada', 'first guess', '10.0.0.1');
    await expect.poll(() => t!.deps.passwords.queue.queued).toBe(1);

    for (const res of [
      await login(t, 'ada', 'second guess', '10.0.0.2'),
      await postJson(t, '/auth/register', { username: 'grace', password: 'long enough password' }, { 'X-Forwarded-For': '10.0.0.3' }),
      await postJson(t, '/users', { username: 'carol', password: 'long enough password', role: 'admin' }, asAdmin(t)),
    ]) {
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const err = await errorOf(res);
      expect(err.code).toBe('overloaded');
      expect(err.message).toMatch(/Password checks are busy/);
    }
    expect(
      t.deps.db
        .select()
        .from(users)
        .all()
        .map((u) => u.username),
    ).toEqual(['ada']);
    await slot.release();
    expect((await queued).status).toBe(401);
    // Once drained, the same requests go through.
    expect((await login(t, 'ada', 'correct horse battery', '10.0.0.4')).status).toBe(200);
  });

  it('counts attempts per address before hashing: refused ones still count, and the limit stops them before the queue', async () => {
    t = await authApp({ RATE_LIMIT_LOGIN_PER_MIN: '3', PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '0', TRUST_PROXY: 'true' });
    const q = t.deps.passwords.queue;
    const slot = holdSlot(t);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await login(t, `name${i}`, 'a wrong guess', '10.6.6.6')).status);
    expect(statuses).toEqual([503, 503, 503]);
    expect(q.counters.rejected).toBe(3);
    // The budget is spent by the refused attempts: the next ones are 429 and never reach the queue.
    const limited = await login(t, 'name9', 'a wrong guess', '10.6.6.6');
    expect(limited.status).toBe(429);
    const signUp = await postJson(t, '/auth/register', { username: 'sneaky', password: 'long enough password' }, { 'X-Forwarded-For': '10.6.6.6' });
    expect(signUp.status).toBe(429);
    expect(q.counters.rejected).toBe(3);
    await slot.release();
    expect(q.counters.started).toBe(1); // only the held slot: not one hash ran for these five requests
    // Another address is unaffected.
    expect((await login(t, 'name0', 'a wrong guess', '10.7.7.7')).status).toBe(401);
  });
});

describe('the per-minute hashing budget (PASSWORD_HASHES_PER_MIN)', () => {
  it('bounds a flood from many addresses: past the budget, 503 with Retry-After before any hash runs', async () => {
    t = await authApp({ PASSWORD_HASHES_PER_MIN: '3', RATE_LIMIT_LOGIN_PER_MIN: '100', TRUST_PROXY: 'true' });
    const q = t.deps.passwords.queue;
    const statuses: number[] = [];
    // Every attempt from its own address, so no per-address limit applies: only the budget does.
    for (let i = 0; i < 6; i++) statuses.push((await login(t, `name${i}`, 'a wrong guess', `10.9.0.${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 503, 503, 503]);
    expect(q.counters.started).toBe(3);
    const refused = await login(t, 'name9', 'a wrong guess', '10.9.1.1');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await errorOf(refused)).toMatchObject({ code: 'overloaded' });
    expect(q.counters.started).toBe(3);
  });
});

describe('stored hashes', () => {
  it('made with another profile (the old N=2^17, p=1 default) still verify, and are re-hashed with the current one on login', async () => {
    t = await authApp();
    const oldHash = await hashWith('an old passphrase', { logN: 17, r: 8, p: 1 });
    const [row] = t.deps.db.insert(users).values({ username: 'elder', passwordHash: oldHash, role: 'user' }).returning().all();
    const stored = () => t!.deps.db.select().from(users).where(eq(users.id, row.id)).get()!.passwordHash;

    expect((await login(t, 'elder', 'not the passphrase')).status).toBe(401);
    expect(stored()).toBe(oldHash); // a failed attempt changes nothing

    expect((await login(t, 'elder', 'an old passphrase')).status).toBe(200);
    expect(parseStored(stored())?.params).toEqual(t.deps.passwords.params);
    expect(t.deps.passwords.params).toEqual({ logN: 14, r: 8, p: 1 });
    expect((await login(t, 'elder', 'an old passphrase')).status).toBe(200);
  });

  it('uses OWASP’s N=2^15, r=8, p=3 profile by default (32 MiB per hash)', async () => {
    t = await authApp({ SCRYPT_COST: '15', SCRYPT_PARALLELISM: '3' });
    const { loadConfig } = await import('../../src/config.js');
    const defaults = loadConfig({});
    expect([defaults.SCRYPT_COST, defaults.SCRYPT_PARALLELISM]).toEqual([15, 3]);
    await register(t, 'ada', 'correct horse battery');
    const hash = t.deps.db.select().from(users).where(eq(users.username, 'ada')).get()!.passwordHash;
    expect(hash).toMatch(/^scrypt\$15\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
    expect((await login(t, 'ada', 'correct horse battery')).status).toBe(200);
  });
});
