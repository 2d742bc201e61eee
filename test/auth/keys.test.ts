import { afterEach, describe, expect, it } from 'vitest';
import { flushUsage } from '../../src/auth/state.js';
import { apiKeys } from '../../src/db/schema.js';
import { authApp, bearer, createAdmin, errorOf, postJson, register, type AuthTestApp } from './helpers.js';

let t: AuthTestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

interface NewKey {
  id: string;
  key: string;
  prefix: string;
  scopes: string[];
}

async function createKey(t: AuthTestApp, headers: Record<string, string>, body: Record<string, unknown> = {}) {
  const res = await postJson(t, '/keys', body, headers);
  expect(res.status).toBe(201);
  return (await res.json()) as NewKey;
}

async function listKeys(t: AuthTestApp, headers: Record<string, string>) {
  const res = await t.request('/keys', { headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { keys: Array<Record<string, unknown>> }).keys;
}

describe('API keys owned by users', () => {
  it('shows a new key once; listings carry its prefix and never the secret or its hash', async () => {
    t = await authApp();
    await createAdmin(t, 'root'); // an admin exists; ada is not one, so she sees only her keys
    const { token } = await register(t, 'ada');
    const k = await createKey(t, bearer(token), { name: 'website', scopes: ['deliver', 'upload'] });
    expect(k.key).toMatch(/^imgp_[\w-]{32}$/);
    expect(k.key.startsWith(k.prefix)).toBe(true);
    const listed = await listKeys(t, bearer(token));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: k.id,
      name: 'website',
      prefix: k.prefix,
      scopes: ['deliver', 'upload'],
      revokedAt: null,
      usage: { requests: 0, renders: 0, bytesServed: 0 },
    });
    const raw = JSON.stringify(listed);
    expect(raw).not.toContain(k.key);
    expect(raw).not.toContain(
      t.deps.db
        .select()
        .from(apiKeys)
        .all()
        .find((r) => r.id === k.id)!.hash,
    );
    expect(Object.keys(listed[0])).not.toContain('hash');
  });

  it('lets only admins mint admin-scoped keys', async () => {
    t = await authApp();
    const admin = await createAdmin(t, 'ada');
    const user = await register(t, 'bob');
    const denied = await postJson(t, '/keys', { scopes: ['admin'] }, bearer(user.token));
    expect(denied.status).toBe(403);
    expect((await errorOf(denied)).code).toBe('admin_required');
    expect((await createKey(t, bearer(admin.token), { scopes: ['admin'] })).scopes).toEqual(['admin']);
    // An admin may make a key for someone else; a user may not.
    expect((await postJson(t, '/keys', { userId: admin.user.id }, bearer(user.token))).status).toBe(403);
    const forBob = await createKey(t, bearer(admin.token), { userId: user.user.id });
    expect((await listKeys(t, bearer(user.token))).map((k) => k.id)).toEqual([forBob.id]);
  });

  it('shows users their own keys and admins every key', async () => {
    t = await authApp();
    const admin = await createAdmin(t, 'ada');
    const bob = await register(t, 'bob');
    const carol = await register(t, 'carol');
    const bobs = await createKey(t, bearer(bob.token));
    const carols = await createKey(t, bearer(carol.token));
    expect((await listKeys(t, bearer(bob.token))).map((k) => k.id)).toEqual([bobs.id]);
    const all = (await listKeys(t, bearer(admin.token))).map((k) => k.id);
    expect(all).toEqual(expect.arrayContaining([bobs.id, carols.id]));
    // Someone else's key is a 404, not a 403: its id is not confirmed.
    expect((await t.request(`/keys/${carols.id}`, { method: 'DELETE', headers: bearer(bob.token) })).status).toBe(404);
    expect((await t.request(`/keys/${carols.id}/rotate`, { method: 'POST', headers: bearer(bob.token) })).status).toBe(404);
  });

  it('stops a revoked key on the very next request', async () => {
    t = await authApp();
    const { token } = await register(t, 'ada');
    const k = await createKey(t, bearer(token));
    expect((await t.request('/auth/me', { headers: { 'X-API-Key': k.key } })).status).toBe(200);
    expect((await t.request(`/keys/${k.id}`, { method: 'DELETE', headers: bearer(token) })).status).toBe(204);
    for (const headers of [{ 'X-API-Key': k.key }, bearer(k.key)]) {
      const res = await t.request('/auth/me', { headers });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe('invalid_key');
    }
    expect((await t.request(`/auth/me?key=${k.key}`)).status).toBe(401);
    expect((await listKeys(t, bearer(token))).find((r) => r.id === k.id)!.revokedAt).toEqual(expect.any(Number));
    // Revoked keys cannot be rotated back to life.
    expect((await t.request(`/keys/${k.id}/rotate`, { method: 'POST', headers: bearer(token) })).status).toBe(404);
  });

  it('rotates in one call: same id and scopes, the old secret dead at once', async () => {
    t = await authApp();
    const { token } = await register(t, 'ada');
    const k = await createKey(t, bearer(token), { scopes: ['upload'] });
    const res = await t.request(`/keys/${k.id}/rotate`, { method: 'POST', headers: bearer(token) });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as NewKey;
    expect(rotated).toMatchObject({ id: k.id, scopes: ['upload'] });
    expect(rotated.key).not.toBe(k.key);
    expect((await t.request('/auth/me', { headers: { 'X-API-Key': k.key } })).status).toBe(401);
    expect((await t.request('/auth/me', { headers: { 'X-API-Key': rotated.key } })).status).toBe(200);
  });

  it('does not let a non-admin key manage keys (a leaked delivery key cannot mint more)', async () => {
    t = await authApp();
    const { token } = await register(t, 'ada');
    const k = await createKey(t, bearer(token));
    const headers = { 'X-API-Key': k.key };
    expect((await postJson(t, '/keys', {}, headers)).status).toBe(403);
    expect((await t.request('/keys', { headers })).status).toBe(403);
    expect((await t.request(`/keys/${k.id}/rotate`, { method: 'POST', headers })).status).toBe(403);
    // …but it may read its own usage.
    expect((await t.request(`/keys/${k.id}/usage`, { headers })).status).toBe(200);
    expect((await t.request('/keys')).status).toBe(401);
  });

  it('validates the body: unknown scope, empty scopes, bad id', async () => {
    t = await authApp();
    const h = { 'X-API-Key': t.adminKey };
    expect((await postJson(t, '/keys', { scopes: ['root'] }, h)).status).toBe(400);
    expect((await postJson(t, '/keys', { scopes: [] }, h)).status).toBe(400);
    expect((await postJson(t, '/keys', { userId: 4242 }, h)).status).toBe(400);
    expect((await t.request('/keys/nope/usage', { headers: h })).status).toBe(404);
  });
});

describe('usage counters', () => {
  it('counts requests, renders (misses only) and bytes per key, batched and readable through the API', async () => {
    t = await authApp();
    const { token } = await register(t, 'ada');
    const k = await createKey(t, bearer(token));
    const id = await t.seed('dune-2mp.jpg');
    const headers = { 'X-API-Key': k.key };
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      const res = await t.request(`/img/w_120/${id}`, { headers });
      expect(res.status).toBe(200);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    // Not written per request: the row is unchanged until the batch is flushed.
    expect(
      t.deps.db
        .select()
        .from(apiKeys)
        .all()
        .find((r) => r.id === k.id)!.requests,
    ).toBe(0);
    const res = await t.request(`/keys/${k.id}/usage`, { headers: bearer(token) });
    const usage = (await res.json()) as { requests: number; renders: number; bytesServed: number; lastUsedAt: number };
    expect(usage).toMatchObject({ requests: 3, renders: 1, bytesServed: bytes });
    expect(usage.lastUsedAt).toBe(t.clock.now);
    await flushUsage(t.deps);
    const listed = (await listKeys(t, bearer(token))).find((r) => r.id === k.id)!;
    expect(listed.usage).toEqual({ requests: 3, renders: 1, bytesServed: bytes });
  });
});
