import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema.js';
import { asAdmin, authApp, bearer, createAdmin, errorOf, postJson, register, type AuthTestApp } from './helpers.js';

let t: AuthTestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('POST /auth/register', () => {
  it('never makes an admin: the first registrant of a fresh server is a plain user like the next', async () => {
    t = await authApp();
    const first = await register(t, 'ada');
    const second = await register(t, 'Grace');
    expect(first.user).toMatchObject({ username: 'ada', role: 'user' });
    expect(second.user).toMatchObject({ username: 'grace', role: 'user' });
    expect(first.token.split('.')).toHaveLength(3);
    const me = await t.request('/auth/me', { headers: bearer(first.token) });
    expect(await me.json()).toMatchObject({ admin: false });
    // Nor can a registrant ask for the role: the field is not part of the registration body.
    const sneaky = await postJson(t, '/auth/register', { username: 'mallory', password: 'long enough password', role: 'admin' });
    expect(sneaky.status).toBe(201);
    expect(((await sneaky.json()) as { user: { role: string } }).user.role).toBe('user');
  });

  it('is off by default in production: 403 for anonymous callers, open to an admin key', async () => {
    t = await authApp({ NODE_ENV: 'production' });
    expect(t.deps.config.ALLOW_REGISTRATION).toBe(false);
    const res = await postJson(t, '/auth/register', { username: 'mallory', password: 'long enough password' });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('registration_closed');
    const byAdmin = await register(t, 'bob', 'long enough password', asAdmin(t));
    expect(byAdmin.user.role).toBe('user');
  });

  it('is on by default in development and test, and ALLOW_REGISTRATION=true opens it in production', async () => {
    for (const [env, open] of [
      [{ NODE_ENV: 'development' }, true],
      [{ NODE_ENV: 'test' }, true],
      [{ NODE_ENV: 'production', ALLOW_REGISTRATION: 'true' }, true],
    ] as const) {
      const a = await authApp(env);
      try {
        expect(a.deps.config.ALLOW_REGISTRATION).toBe(open);
        expect((await postJson(a, '/auth/register', { username: 'ada', password: 'long enough password' })).status).toBe(201);
      } finally {
        await a.cleanup();
      }
    }
  });

  it('stores only a scrypt hash of the password', async () => {
    t = await authApp();
    await register(t, 'ada', 'my secret passphrase');
    const row = t.deps.db.select().from(users).where(eq(users.username, 'ada')).get()!;
    expect(row.passwordHash).toMatch(/^scrypt\$14\$8\$1\$[\w-]+\$[\w-]+$/); // the test profile (authApp lowers the cost)
    expect(row.passwordHash).not.toContain('my secret passphrase');
  });

  it('answers 409 for a taken username, whatever its case', async () => {
    t = await authApp();
    await register(t, 'ada');
    const res = await postJson(t, '/auth/register', { username: 'ADA', password: 'another password' });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe('conflict');
  });

  it.each([
    ['ab', 'too short'],
    ['has space', 'space'],
    ['-leading', 'leading dash'],
    ['ünïcode', 'non-ascii'],
    ['a'.repeat(33), 'too long'],
  ])('rejects the username %j (%s) with 400', async (username) => {
    t ??= await authApp();
    const res = await postJson(t, '/auth/register', { username, password: 'long enough password' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_username');
  });

  it('rejects a short password and a missing field with 400', async () => {
    t = await authApp();
    expect((await postJson(t, '/auth/register', { username: 'ada', password: 'short' })).status).toBe(400);
    const res = await postJson(t, '/auth/register', { username: 'ada' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('validation_failed');
    expect((await t.request('/auth/register', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' })).status).toBe(400);
  });

  it('is closed by ALLOW_REGISTRATION=false, except for admins', async () => {
    t = await authApp({ ALLOW_REGISTRATION: 'false' });
    const res = await postJson(t, '/auth/register', { username: 'mallory', password: 'long enough password' });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('registration_closed');
    const byAdmin = await register(t, 'bob', 'long enough password', { 'X-API-Key': t.adminKey });
    expect(byAdmin.user.role).toBe('user');
  });
});

describe('POST /users (admins make users with a role)', () => {
  it('lets an admin key create an admin, who can log in as one', async () => {
    t = await authApp({ NODE_ENV: 'production' });
    const admin = await createAdmin(t, 'Boss');
    expect(admin.user).toMatchObject({ username: 'boss', role: 'admin' });
    const me = await t.request('/auth/me', { headers: bearer(admin.token) });
    expect(await me.json()).toMatchObject({ kind: 'user', admin: true });
    // That admin may make more users, plain by default.
    const res = await postJson(t, '/users', { username: 'carol', password: 'long enough password' }, bearer(admin.token));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ username: 'carol', role: 'user' });
  });

  it('refuses anyone else: 401 anonymous, 403 a plain user or a non-admin key', async () => {
    t = await authApp();
    const body = { username: 'eve', password: 'long enough password', role: 'admin' };
    expect((await postJson(t, '/users', body)).status).toBe(401);
    const user = await register(t, 'ada');
    const asUser = await postJson(t, '/users', body, bearer(user.token));
    expect(asUser.status).toBe(403);
    expect((await errorOf(asUser)).code).toBe('admin_required');
    const key = (await t.deps.keys.create({ scopes: ['upload', 'deliver'], name: 'site' })).key;
    expect((await postJson(t, '/users', body, { 'X-API-Key': key })).status).toBe(403);
    expect(t.deps.db.select().from(users).where(eq(users.username, 'eve')).get()).toBeUndefined();
  });

  it('validates like registration: 409 for a taken name, 400 for a bad role', async () => {
    t = await authApp();
    await register(t, 'ada');
    expect((await postJson(t, '/users', { username: 'ADA', password: 'long enough password' }, asAdmin(t))).status).toBe(409);
    expect((await postJson(t, '/users', { username: 'zed', password: 'long enough password', role: 'root' }, asAdmin(t))).status).toBe(400);
  });
});

describe('POST /auth/login and GET /auth/me', () => {
  it('returns a session JWT that identifies the user', async () => {
    t = await authApp();
    await register(t, 'ada', 'correct horse battery');
    const res = await postJson(t, '/auth/login', { username: 'Ada', password: 'correct horse battery' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; tokenType: string; expiresAt: number };
    expect(body.tokenType).toBe('Bearer');
    expect(body.expiresAt).toBe(t.clock.now + t.deps.config.JWT_TTL_SECONDS);
    const me = await t.request('/auth/me', { headers: bearer(body.token) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: 'user', admin: false, user: { username: 'ada', role: 'user' }, key: null });
  });

  it('answers the same 401 for a wrong password and an unknown user', async () => {
    t = await authApp();
    await register(t, 'ada', 'correct horse battery');
    const wrongPassword = await postJson(t, '/auth/login', { username: 'ada', password: 'wrong horse battery' });
    const unknownUser = await postJson(t, '/auth/login', { username: 'nobody', password: 'correct horse battery' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(await wrongPassword.json()).toEqual(await unknownUser.json());
  });

  it('describes an API key caller too, and refuses anonymous callers', async () => {
    t = await authApp();
    const me = await t.request('/auth/me', { headers: { 'X-API-Key': t.adminKey } });
    expect(await me.json()).toMatchObject({ kind: 'key', admin: true, user: null, key: { scopes: ['admin', 'upload', 'deliver'] } });
    expect((await t.request('/auth/me')).status).toBe(401);
  });

  it('stops a session of a deleted user at once', async () => {
    t = await authApp();
    const { token, user } = await register(t, 'ada');
    t.deps.db.delete(users).where(eq(users.id, user.id)).run();
    const res = await t.request('/auth/me', { headers: bearer(token) });
    expect(res.status).toBe(401);
  });

  it('rate-limits brute force: the attempt past RATE_LIMIT_LOGIN_PER_MIN is a 429 with Retry-After', async () => {
    t = await authApp({ RATE_LIMIT_LOGIN_PER_MIN: '5' });
    await register(t, 'ada', 'correct horse battery'); // spends one token of the address's budget
    const statuses: number[] = [];
    let last!: Response;
    for (let i = 0; i < 6; i++) {
      last = await postJson(t, '/auth/login', { username: 'ada', password: `guess-number-${i}` });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last.headers.get('ratelimit-limit')).toBe('5');
    expect(last.headers.get('ratelimit-remaining')).toBe('0');
    expect((await errorOf(last)).code).toBe('rate_limited');
    // Even the right password waits out the limit: the attacker learns nothing from a 429.
    expect((await postJson(t, '/auth/login', { username: 'ada', password: 'correct horse battery' })).status).toBe(429);
  });

  it('limits attempts per username as well as per address', async () => {
    t = await authApp({ RATE_LIMIT_LOGIN_PER_MIN: '3', TRUST_PROXY: 'true' });
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await postJson(t, '/auth/login', { username: 'victim', password: 'guess-guess' }, from(`10.0.0.${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Another name from a fresh address is unaffected.
    expect((await postJson(t, '/auth/login', { username: 'other', password: 'guess-guess' }, from('10.0.1.1'))).status).toBe(401);
  });
});

describe('OpenAPI', () => {
  it('documents every accounts route', async () => {
    t = await authApp();
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/auth/register', '/auth/login', '/auth/me', '/users', '/keys', '/keys/{id}', '/keys/{id}/rotate', '/keys/{id}/usage', '/sign']),
    );
    expect(Object.keys(doc.paths['/keys/{id}'])).toEqual(['delete']);
  });
});
