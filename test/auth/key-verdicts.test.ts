import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys, KEY_STATE_TTL_SECONDS } from '../../src/auth/keys.js';
import { sqliteKeysRepo } from '../../src/repos/sqlite/keys.js';
import { authApp, errorOf, postJson, type AuthTestApp } from './helpers.js';

/**
 * Issue 14 item 1: a key's verdict is remembered between requests (a keyed cache hit reads no
 * key row), for at most KEY_STATE_TTL_SECONDS and never past a change to the database: however a
 * key is revoked, it stops within that bound (in fact on the next request).
 */

let t: AuthTestApp;
let imageId: string;

beforeAll(async () => {
  t = await authApp();
  imageId = await t.seed('dune-2mp.jpg', { visibility: 'private' });
});
afterAll(() => t.cleanup());

async function newKey() {
  const res = await postJson(t, '/keys', { scopes: ['deliver'] }, { 'X-API-Key': t.adminKey });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

const hit = (key: string) => t.request(`/img/w_64/${imageId}?key=${key}`);

async function expectStopsWithinBound(key: string) {
  // Requests within the bound: the first refusal must come before KEY_STATE_TTL_SECONDS have passed.
  const start = t.clock.now;
  let status = 200;
  while (status === 200 && t.clock.now - start <= KEY_STATE_TTL_SECONDS) {
    const res = await hit(key);
    status = res.status;
    if (status !== 200) expect((await errorOf(res)).code).toBe('invalid_key');
    else t.clock.now += 1;
  }
  expect(status).toBe(401);
  return t.clock.now - start;
}

describe('cached key verdicts', () => {
  it('a key verified once keeps working without a key lookup per request', async () => {
    const k = await newKey();
    for (let i = 0; i < 3; i++) expect((await hit(k.key)).status).toBe(200);
  });

  it('a key revoked through the API stops on the next request', async () => {
    const k = await newKey();
    expect((await hit(k.key)).status).toBe(200);
    expect((await t.request(`/keys/${k.id}`, { method: 'DELETE', headers: { 'X-API-Key': t.adminKey } })).status).toBe(204);
    expect(await expectStopsWithinBound(k.key)).toBe(0);
  });

  it('a key revoked by another process (own connection to the database file) stops within the bound', async () => {
    const k = await newKey();
    expect((await hit(k.key)).status).toBe(200);
    const other = new Database(t.deps.db.$client.name);
    try {
      other.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(t.clock.now, k.id);
    } finally {
      other.close();
    }
    expect(await expectStopsWithinBound(k.key)).toBeLessThanOrEqual(KEY_STATE_TTL_SECONDS);
  });

  it('a key revoked through another ApiKeys on the same connection (the CLI in-process) stops within the bound', async () => {
    const k = await newKey();
    expect((await hit(k.key)).status).toBe(200);
    await new ApiKeys(sqliteKeysRepo(t.deps.db), () => t.clock.now).revoke(k.id);
    expect(await expectStopsWithinBound(k.key)).toBeLessThanOrEqual(KEY_STATE_TTL_SECONDS);
  });

  it('a previous secret in its rotation grace stops on the second its grace ends, though cached', async () => {
    const k = await newKey();
    const res = await postJson(t, `/keys/${k.id}/rotate`, { graceSeconds: 2 }, { 'X-API-Key': t.adminKey });
    expect(res.status).toBe(200);
    expect((await hit(k.key)).status).toBe(200); // the old secret, now cached
    t.clock.now += 2;
    expect((await hit(k.key)).status).toBe(401);
  });
});
