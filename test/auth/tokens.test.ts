import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_AUDIENCE, SESSION_AUDIENCE, issuePolicyToken } from '../../src/auth/tokens.js';
import { authApp, bearer, errorOf, register, type AuthTestApp } from './helpers.js';

/**
 * Forged and re-signed tokens. Each must be a 401 and grant nothing: the checks are made
 * against /auth/me (session) and a private image (policy), where a wrongly accepted token shows.
 */

let t: AuthTestApp;
let session: string;
let userId: number;
let privateId: string;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function handMade(header: Record<string, unknown>, payload: Record<string, unknown>, key?: string | Uint8Array, hmac = 'sha256') {
  const head = `${b64(header)}.${b64(payload)}`;
  const sig = key === undefined ? '' : createHmac(hmac, key).update(head).digest('base64url');
  return `${head}.${sig}`;
}

const claims = () => ({ sub: String(userId), iss: 'imgpath', aud: SESSION_AUDIENCE, iat: t.clock.now, exp: t.clock.now + 600 });

beforeAll(async () => {
  t = await authApp();
  const s = await register(t, 'ada');
  session = s.token;
  userId = s.user.id;
  const owner = await register(t, 'owner');
  privateId = await t.seed('dune-2mp.jpg', { visibility: 'private', ownerId: owner.user.id });
});
afterAll(() => t.cleanup());

const me = (token: string) => t.request('/auth/me', { headers: bearer(token) });

describe('session tokens', () => {
  it('accepts the real one', async () => {
    expect((await me(session)).status).toBe(200);
  });

  it.each<[string, () => string | Promise<string>]>([
    ['alg none, no signature', () => handMade({ alg: 'none', typ: 'JWT' }, claims())],
    ['alg none with a stray signature', () => `${handMade({ alg: 'none' }, claims())}c2ln`],
    ['HS256 signed with the wrong secret', () => handMade({ alg: 'HS256' }, claims(), 'not-the-server-secret-at-all-0123456789')],
    ['HS512 signed with the right secret', () => handMade({ alg: 'HS512' }, claims(), t.deps.secrets.jwtSecret, 'sha512')],
    ['HS384 signed with the right secret', () => handMade({ alg: 'HS384' }, claims(), t.deps.secrets.jwtSecret, 'sha384')],
    ['RS256 header, HMAC signature with the secret (key confusion)', () => handMade({ alg: 'RS256' }, claims(), t.deps.secrets.jwtSecret)],
    [
      'a real RS256 token from an attacker key',
      async () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      },
    ],
    [
      'payload edited, signature kept (role/sub swap)',
      () => {
        const [h, , s] = session.split('.');
        return `${h}.${b64({ ...claims(), sub: '999' })}.${s}`;
      },
    ],
    ['truncated signature', () => session.slice(0, -6)],
    ['wrong issuer', () => handMade({ alg: 'HS256' }, { ...claims(), iss: 'someone-else' }, t.deps.secrets.jwtSecret)],
    ['unknown audience', () => handMade({ alg: 'HS256' }, { ...claims(), aud: 'imgpath:other' }, t.deps.secrets.jwtSecret)],
    ['both audiences at once', () => handMade({ alg: 'HS256' }, { ...claims(), aud: [SESSION_AUDIENCE, POLICY_AUDIENCE] }, t.deps.secrets.jwtSecret)],
    ['no expiry', () => handMade({ alg: 'HS256' }, { ...claims(), exp: undefined }, t.deps.secrets.jwtSecret)],
    ['not valid yet (nbf in the future)', () => handMade({ alg: 'HS256' }, { ...claims(), nbf: t.clock.now + 3600 }, t.deps.secrets.jwtSecret)],
    ['garbage', () => 'definitely.not.ajwt'],
  ])('rejects %s with 401', async (_name, make) => {
    const res = await me(await make());
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toMatch(/^invalid_token$|^token_expired$/);
  });

  it('rejects an expired session with token_expired', async () => {
    const saved = t.clock.now;
    t.clock.now += t.deps.config.JWT_TTL_SECONDS + 60;
    try {
      const res = await me(session);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe('token_expired');
    } finally {
      t.clock.now = saved;
    }
  });

  it('is refused in ?token= on the management API (image delivery only; test/auth/credential-lifetime.test.ts covers every route)', async () => {
    const res = await t.request(`/auth/me?token=${session}`);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('token_in_url');
  });
});

describe('session and policy tokens cannot stand in for each other', () => {
  it('a policy token does not log anyone in', async () => {
    const { token } = await issuePolicyToken(t.deps, { ids: [privateId] }, 600, { kind: 'user', userId });
    const res = await me(token);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('policy_token_not_allowed');
    expect((await t.request('/keys', { headers: bearer(token) })).status).toBe(403);
  });

  it('a session token re-labelled as policy (aud swapped, same signature) is rejected', async () => {
    const [h, p, s] = session.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${b64({ ...payload, aud: POLICY_AUDIENCE, pol: { ids: [privateId] } })}.${s}`;
    expect((await t.request(`/img/w_100/${privateId}?token=${forged}`)).status).toBe(401);
  });

  it('a policy with widened claims but the old signature is rejected', async () => {
    const { token } = await issuePolicyToken(t.deps, { ids: [privateId], width: { min: 100, max: 200 } }, 600, { kind: 'user', userId });
    expect((await t.request(`/img/w_150/${privateId}?token=${token}`)).status).toBe(200);
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const widened = `${h}.${b64({ ...payload, pol: { ids: [privateId], width: { min: 1, max: 8000 } } })}.${s}`;
    expect((await t.request(`/img/w_1000/${privateId}?token=${widened}`)).status).toBe(401);
  });

  it('an expired policy token is 401 token_expired', async () => {
    const { token } = await issuePolicyToken(t.deps, { ids: [privateId] }, 60, { kind: 'user', userId });
    const saved = t.clock.now;
    t.clock.now += 3600;
    try {
      const res = await t.request(`/img/${privateId}?token=${token}`);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe('token_expired');
    } finally {
      t.clock.now = saved;
    }
  });

  it('a policy token with claims that fail validation is rejected', async () => {
    const bad = handMade(
      { alg: 'HS256' },
      { sub: 'x', iss: 'imgpath', aud: POLICY_AUDIENCE, exp: t.clock.now + 600, pol: { admin: true } },
      t.deps.secrets.jwtSecret,
    );
    expect((await t.request(`/img/${privateId}?token=${bad}`)).status).toBe(401);
  });
});
