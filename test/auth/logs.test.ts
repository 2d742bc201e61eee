import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { authApp, bearer, postJson, type AuthTestApp } from './helpers.js';

/** Every credential that crossed the app during a busy session, checked against every log line. */

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let t: AuthTestApp;
afterAll(() => t.cleanup());

describe('logs', () => {
  it('never contain an API key, a token or a password', async () => {
    t = await authApp({}, { log: createLogger({ LOG_LEVEL: 'trace' }, sink) });
    const secrets: string[] = [t.adminKey];
    const password = 'my very secret passphrase';
    secrets.push(password);

    const reg = (await (await postJson(t, '/auth/register', { username: 'ada', password })).json()) as { token: string; user: { id: number } };
    secrets.push(reg.token);
    await postJson(t, '/auth/login', { username: 'ada', password: 'wrong-but-also-secret' });
    secrets.push('wrong-but-also-secret');
    const login = (await (await postJson(t, '/auth/login', { username: 'ada', password })).json()) as { token: string };
    secrets.push(login.token);

    const created = (await (await postJson(t, '/keys', { scopes: ['deliver'] }, bearer(login.token))).json()) as { id: string; key: string };
    secrets.push(created.key);
    const rotated = (await (await t.request(`/keys/${created.id}/rotate`, { method: 'POST', headers: bearer(login.token) })).json()) as { key: string };
    secrets.push(rotated.key);

    const id = await t.seed('dune-2mp.jpg', { visibility: 'private', ownerId: reg.user.id }); // ada's: she is a plain user
    await t.request(`/img/w_100/${id}`, { headers: { 'X-API-Key': rotated.key } });
    await t.request(`/img/w_110/${id}?key=${rotated.key}`);
    await t.request(`/img/w_120/${id}`, { headers: bearer(rotated.key) });
    await t.request(`/img/w_130/${id}?key=${created.key}`); // the old, rotated-away secret: a 401
    const policy = (await (await postJson(t, '/sign', { id, policy: { width: { max: 500 } } }, bearer(login.token))).json()) as { token: string };
    secrets.push(policy.token);
    await t.request(`/img/w_140/${id}?token=${policy.token}`);
    await t.request(`/img/w_150/${id}?token=${policy.token.slice(0, -3)}xyz`);
    await t.request('/auth/me', { headers: { Authorization: `Bearer ${login.token}`, 'X-Request-Id': 'probe-1' } });

    // The capture works and saw the interesting events…
    const all = lines.join('\n');
    expect(all).toContain('"msg":"login failed"');
    expect(all).toContain('"msg":"api key created"');
    expect(all).toContain(created.id);
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(10);
    // …and not one secret, nor any recognisable piece of one.
    for (const s of secrets) {
      expect(all, `secret ${s.slice(0, 8)}… leaked`).not.toContain(s);
      expect(all).not.toContain(s.slice(-16));
    }
  });
});
