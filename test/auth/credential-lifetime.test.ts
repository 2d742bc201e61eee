import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { ApiKeys, KEY_STATE_TTL_SECONDS, MAX_ROTATION_GRACE_SECONDS, parseDuration } from '../../src/auth/keys.js';
import { sqliteKeysRepo } from '../../src/repos/sqlite/keys.js';
import { signedImagePath } from '../../src/auth/signature.js';
import { issueSession } from '../../src/auth/tokens.js';
import { users } from '../../src/db/schema.js';
import { authApp, bearer, errorOf, postJson, type AuthTestApp } from './helpers.js';

/**
 * Issue 10 item 7: every credential lives exactly as long as it should, over HTTP on a real app.
 * Time is the injected clock (t.clock.now), never a sleep: revocation, rotation with and without
 * grace, and expiry, for API keys (header, Bearer, ?key=), session JWTs, policy tokens and signed
 * URLs; Cache-Control for each credential kind against anonymous callers; ?token= refused on the
 * whole management API; /random-image/{key} counted like every key use.
 */

const YEAR = 31_536_000;
let t: AuthTestApp;
const admin = () => ({ 'X-API-Key': t.adminKey });
let adaId: number;
let adminUserId: number;
let privateId: string; // ada's
let publicId: string;
let wmPrivateId: string; // a private image of someone else, used as a watermark

interface NewKey {
  id: string;
  key: string;
  previousValidUntil?: number | null;
}

/** A user row made directly: registration rules are not what this file tests. */
function makeUser(username: string, role: 'admin' | 'user') {
  return t.deps.db.insert(users).values({ username, passwordHash: 'not-a-login', role }).returning().get().id;
}

async function adaKey(): Promise<NewKey> {
  const res = await postJson(t, '/keys', { userId: adaId, scopes: ['deliver'] }, admin());
  expect(res.status).toBe(201);
  return (await res.json()) as NewKey;
}

async function policyToken(headers: Record<string, string>, id = privateId, expiresIn = 600): Promise<string> {
  const res = await postJson(t, '/sign', { id, policy: {}, expiresIn }, headers);
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function rotate(id: string, body?: Record<string, unknown>) {
  const res = body ? await postJson(t, `/keys/${id}/rotate`, body, admin()) : await t.request(`/keys/${id}/rotate`, { method: 'POST', headers: admin() });
  expect(res.status).toBe(200);
  return (await res.json()) as NewKey;
}

const revoke = async (id: string) => expect((await t.request(`/keys/${id}`, { method: 'DELETE', headers: admin() })).status).toBe(204);

/** The ways an API key travels. */
const keyWays = (key: string): Array<[string, string, RequestInit]> => [
  ['X-API-Key', '', { headers: { 'X-API-Key': key } }],
  ['Bearer', '', { headers: bearer(key) }],
  ['?key=', `?key=${key}`, {}],
];

async function img(path: string, query = '', init: RequestInit = {}) {
  return t.request(`/img/${path}${query}`, init);
}

async function expectRefused(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect((await errorOf(res)).code).toBe(code);
}

function cacheControl(res: Response) {
  const cc = res.headers.get('cache-control') ?? '';
  const maxAge = cc.match(/max-age=(\d+)/)?.[1];
  return { scope: cc.split(',')[0].trim(), maxAge: maxAge === undefined ? undefined : Number(maxAge), immutable: cc.includes('immutable'), raw: cc };
}

beforeAll(async () => {
  t = await authApp();
  adaId = makeUser('ada', 'user');
  adminUserId = makeUser('root', 'admin');
  const bobId = makeUser('bob', 'user');
  privateId = await t.seed('dune-2mp.jpg', { visibility: 'private', ownerId: adaId });
  publicId = await t.seed('friends-portrait.jpg');
  wmPrivateId = await t.seed('dragonfly-alpha.png', { visibility: 'private', ownerId: bobId });
});
afterAll(() => t.cleanup());

describe('revocation ends every credential it backs', () => {
  it('an API key, however it travels, from the next request on', async () => {
    const k = await adaKey();
    for (const [, q, init] of keyWays(k.key)) expect((await img(`w_64/${privateId}`, q, init)).status).toBe(200);
    await revoke(k.id);
    for (const [, q, init] of keyWays(k.key)) await expectRefused(await img(`w_64/${privateId}`, q, init), 401, 'invalid_key');
  });

  it('every policy token the key minted, at once (the cached key state is dropped)', async () => {
    const k = await adaKey();
    const token = await policyToken({ 'X-API-Key': k.key });
    expect((await img(`w_64/${privateId}`, `?token=${token}`)).status).toBe(200); // now cached
    await revoke(k.id);
    await expectRefused(await img(`w_64/${privateId}`, `?token=${token}`), 401, 'token_revoked');
    await expectRefused(await img(`w_64/${privateId}`, '', { headers: bearer(token) }), 401, 'token_revoked');
  });

  it('a revocation made by another process (the CLI) within KEY_STATE_TTL_SECONDS', async () => {
    const k = await adaKey();
    const token = await policyToken({ 'X-API-Key': k.key });
    expect((await img(`w_64/${privateId}`, `?token=${token}`)).status).toBe(200);
    // Another process: its own ApiKeys on the same database, so this process's cache is not told.
    await new ApiKeys(sqliteKeysRepo(t.deps.db), () => t.clock.now).revoke(k.id);
    await expectRefused(await img(`w_64/${privateId}`, `?key=${k.key}`), 401, 'invalid_key'); // keys are read per request
    expect((await img(`w_64/${privateId}`, `?token=${token}`)).status).toBe(200); // the token's key state is cached…
    t.clock.now += KEY_STATE_TTL_SECONDS;
    await expectRefused(await img(`w_64/${privateId}`, `?token=${token}`), 401, 'token_revoked'); // …for at most this long
  });

  it('a signed URL whose signing secret is withdrawn from SIGNING_KEYS', async () => {
    const [current] = t.deps.secrets.signingKeys;
    const old = { kid: 'old', secret: 'an-old-signing-secret-0123456789' };
    const both = createApp({ ...t.deps, secrets: { ...t.deps.secrets, signingKeys: [current, old] } });
    const path = signedImagePath(privateId, 'w_64', old);
    expect((await both.request(path)).status).toBe(200);
    // The operator drops `old` (SIGNING_KEYS=current only): its URLs die, the current secret's live on.
    await expectRefused(await t.request(path), 403, 'bad_signature');
    expect((await t.request(signedImagePath(privateId, 'w_64', current))).status).toBe(200);
  });
});

describe('a password change ends what the password backed', () => {
  it("the user's sessions and every policy token they minted, at once", async () => {
    const session = await issueSession(t.deps, adaId);
    const token = await policyToken(bearer(session.token));
    expect((await t.request(`/img/w_40/${privateId}?token=${token}`)).status).toBe(200);
    expect((await t.request('/auth/me', { headers: bearer(session.token) })).status).toBe(200);
    await t.deps.auth.users.setPassword(adaId, 'a brand new password');
    const me = await t.request('/auth/me', { headers: bearer(session.token) });
    expect(me.status).toBe(401);
    expect((await errorOf(me)).code).toBe('session_revoked');
    const img = await t.request(`/img/w_40/${privateId}?token=${token}`);
    expect(img.status).toBe(401);
    expect((await errorOf(img)).code).toBe('token_revoked');
    // A new session (after logging in again) works, and so do the tokens it mints.
    const fresh = await issueSession(t.deps, adaId);
    expect((await t.request(`/img/w_40/${privateId}?token=${await policyToken(bearer(fresh.token))}`)).status).toBe(200);
  });

  it('a policy token minted by a session never outlives that session', async () => {
    const session = await issueSession(t.deps, adaId);
    const res = await postJson(t, '/sign', { id: privateId, policy: {}, expiresIn: YEAR }, bearer(session.token));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { expiresAt: number }).expiresAt).toBe(session.expiresAt);
  });

  it('a signed URL of a private image expires after an hour unless a lifetime is asked for', async () => {
    const key = await adaKey();
    const res = await postJson(t, '/sign', { id: privateId, options: 'w_40' }, { 'X-API-Key': key.key });
    const body = (await res.json()) as { expiresAt: number | null };
    expect(body.expiresAt).toBeGreaterThanOrEqual(t.clock.now + 3600);
    expect(body.expiresAt).toBeLessThanOrEqual(t.clock.now + 3600 + t.deps.config.SIGNATURE_EXPIRY_BUCKET);
    const pub = await postJson(t, '/sign', { id: publicId, options: 'w_40' }, admin());
    expect(((await pub.json()) as { expiresAt: number | null }).expiresAt).toBeNull();
  });
});

describe('rotation', () => {
  it('without grace: the old secret and its tokens end at once; the new secret and its tokens work', async () => {
    const k = await adaKey();
    const oldToken = await policyToken({ 'X-API-Key': k.key });
    const r = await rotate(k.id);
    expect(r.previousValidUntil).toBeNull();
    for (const [, q, init] of keyWays(k.key)) await expectRefused(await img(`w_64/${privateId}`, q, init), 401, 'invalid_key');
    await expectRefused(await img(`w_64/${privateId}`, `?token=${oldToken}`), 401, 'token_revoked');
    for (const [, q, init] of keyWays(r.key)) expect((await img(`w_64/${privateId}`, q, init)).status).toBe(200);
    expect((await img(`w_64/${privateId}`, `?token=${await policyToken({ 'X-API-Key': r.key })}`)).status).toBe(200);
  });

  it('with grace: the old secret and its tokens work until the second the grace ends, then stop', async () => {
    const k = await adaKey();
    const oldToken = await policyToken({ 'X-API-Key': k.key }, privateId, 7200);
    const start = t.clock.now;
    const r = await rotate(k.id, { graceSeconds: 3600 });
    expect(r.previousValidUntil).toBe(start + 3600);
    // A token minted with the old secret during the grace ends with the grace too.
    const lateToken = await policyToken({ 'X-API-Key': k.key }, privateId, 7200);
    const newToken = await policyToken({ 'X-API-Key': r.key }, privateId, 7200);
    const all = () => [
      ...keyWays(k.key).map(([, q, init]) => img(`w_64/${privateId}`, q, init)),
      img(`w_64/${privateId}`, `?token=${oldToken}`),
      img(`w_64/${privateId}`, `?token=${lateToken}`),
    ];
    for (const res of await Promise.all(all())) expect(res.status).toBe(200);
    t.clock.now = start + 3599;
    for (const res of await Promise.all(all())) expect(res.status).toBe(200);
    t.clock.now = start + 3600;
    for (const res of await Promise.all(all())) expect(res.status).toBe(401);
    for (const [, q, init] of keyWays(r.key)) expect((await img(`w_64/${privateId}`, q, init)).status).toBe(200);
    expect((await img(`w_64/${privateId}`, `?token=${newToken}`)).status).toBe(200);
  });

  it('rotating again during a grace ends the first secret at once; revoking ends the grace', async () => {
    const k = await adaKey();
    const r1 = await rotate(k.id, { graceSeconds: 600 });
    const r2 = await rotate(k.id, { graceSeconds: 600 });
    await expectRefused(await img(`w_64/${privateId}`, `?key=${k.key}`), 401, 'invalid_key');
    expect((await img(`w_64/${privateId}`, `?key=${r1.key}`)).status).toBe(200);
    const r1Token = await policyToken({ 'X-API-Key': r1.key });
    await revoke(k.id);
    for (const secret of [r1.key, r2.key]) await expectRefused(await img(`w_64/${privateId}`, `?key=${secret}`), 401, 'invalid_key');
    await expectRefused(await img(`w_64/${privateId}`, `?token=${r1Token}`), 401, 'token_revoked');
  });

  it('rejects a grace outside 0..MAX_ROTATION_GRACE_SECONDS, and the CLI reads 90s / 30m / 1h / 2d', async () => {
    const k = await adaKey();
    for (const graceSeconds of [-1, MAX_ROTATION_GRACE_SECONDS + 1, 1.5]) {
      expect((await postJson(t, `/keys/${k.id}/rotate`, { graceSeconds }, admin())).status).toBe(400);
    }
    expect((await img(`w_64/${privateId}`, `?key=${k.key}`)).status).toBe(200); // nothing rotated
    expect(['90s', '30m', '1h', '2d', '45', '0'].map(parseDuration)).toEqual([90, 1800, 3600, 172800, 45, 0]);
    for (const bad of ['', '1w', '-1h', '1.5h', 'h']) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe('expiry is exact (no clock leeway)', () => {
  it('a session token works until its exp second, on /img (Bearer and ?token=) and the API', async () => {
    const { token, expiresAt } = await issueSession(t.deps, adaId);
    const saved = t.clock.now;
    try {
      t.clock.now = expiresAt - 1;
      expect((await img(`w_64/${privateId}`, `?token=${token}`)).status).toBe(200);
      expect((await t.request('/auth/me', { headers: bearer(token) })).status).toBe(200);
      t.clock.now = expiresAt;
      await expectRefused(await img(`w_64/${privateId}`, `?token=${token}`), 401, 'token_expired');
      await expectRefused(await img(`w_64/${privateId}`, '', { headers: bearer(token) }), 401, 'token_expired');
      await expectRefused(await t.request('/auth/me', { headers: bearer(token) }), 401, 'token_expired');
    } finally {
      t.clock.now = saved;
    }
  });

  it('a policy token works until its exp second', async () => {
    const k = await adaKey();
    const token = await policyToken({ 'X-API-Key': k.key }, privateId, 60);
    const saved = t.clock.now;
    try {
      t.clock.now = saved + 59;
      expect((await img(`w_64/${privateId}`, `?token=${token}`)).status).toBe(200);
      t.clock.now = saved + 60;
      await expectRefused(await img(`w_64/${privateId}`, `?token=${token}`), 401, 'token_expired');
    } finally {
      t.clock.now = saved;
    }
  });

  it('a signed URL works through its exp_ second', async () => {
    const res = await postJson(t, '/sign', { id: privateId, options: 'w_64', expiresIn: 60 }, admin());
    const { path, expiresAt } = (await res.json()) as { path: string; expiresAt: number };
    const saved = t.clock.now;
    try {
      t.clock.now = expiresAt;
      expect((await t.request(path)).status).toBe(200);
      t.clock.now = expiresAt + 1;
      await expectRefused(await t.request(path), 403, 'expired');
    } finally {
      t.clock.now = saved;
    }
  });
});

describe('Cache-Control: shared caches keep only what anonymous callers could fetch, nobody keeps a token past its end', () => {
  it('anonymous, and a key asking only for what anonymous could: public for a year', async () => {
    for (const init of [{}, { headers: { 'X-API-Key': t.adminKey } }]) {
      for (const path of [publicId, `f_webp/${publicId}`]) {
        const res = await img(path, '', init);
        expect(res.status).toBe(200);
        expect(cacheControl(res)).toMatchObject({ scope: 'public', maxAge: YEAR, immutable: true });
      }
    }
  });

  it('an API key (header, Bearer, ?key=) beyond anonymous rights: private', async () => {
    const k = await adaKey();
    for (const [, q, init] of keyWays(k.key)) {
      for (const path of [`w_64/${publicId}`, privateId, `w_64/${privateId}`]) {
        const res = await img(path, q, init);
        expect(res.status).toBe(200);
        expect(cacheControl(res)).toMatchObject({ scope: 'private', maxAge: YEAR });
      }
    }
    // A public image with someone's private watermark is not what strangers may fetch either.
    const res = await img(`w_64,wm_${wmPrivateId}/${publicId}`, '', { headers: admin() });
    expect(res.status).toBe(200);
    expect(cacheControl(res).scope).toBe('private');
  });

  it('a policy token: private, max-age = the seconds it has left, 304s included', async () => {
    const k = await adaKey();
    const token = await policyToken({ 'X-API-Key': k.key }, privateId, 60);
    const first = await img(`w_64/${privateId}`, `?token=${token}`);
    expect(cacheControl(first)).toEqual({ scope: 'private', maxAge: 60, immutable: false, raw: 'private, max-age=60' });
    t.clock.now += 45;
    const again = await img(`w_64/${privateId}`, `?token=${token}`, { headers: { 'If-None-Match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(cacheControl(again)).toMatchObject({ scope: 'private', maxAge: 15 });
  });

  it('a session token (Bearer or ?token=): private, capped at its expiry', async () => {
    const { token, expiresAt } = await issueSession(t.deps, adaId);
    for (const [q, init] of [
      [`?token=${token}`, {}],
      ['', { headers: bearer(token) }],
    ] as const) {
      for (const path of [`w_64/${publicId}`, `w_64/${privateId}`]) {
        const res = await img(path, q, init);
        expect(res.status).toBe(200);
        expect(cacheControl(res)).toMatchObject({ scope: 'private', maxAge: expiresAt - t.clock.now, immutable: false });
      }
    }
  });

  it('signed URLs: public on public images (the signature is in the cached URL), private on private ones, max-age <= exp_', async () => {
    for (const [id, scope] of [
      [publicId, 'public'],
      [privateId, 'private'],
    ] as const) {
      const forever = await t.request(signedImagePath(id, 'w_64', t.deps.secrets.signingKeys[0]));
      expect(cacheControl(forever)).toMatchObject({ scope, maxAge: YEAR });
      const expiring = await t.request(signedImagePath(id, 'w_64', t.deps.secrets.signingKeys[0], { expiresAt: t.clock.now + 120 }));
      expect(cacheControl(expiring)).toMatchObject({ scope, maxAge: 120, immutable: false });
    }
  });

  it('/info of a private image follows the token that showed it; /random answers are never stored', async () => {
    const k = await adaKey();
    const token = await policyToken({ 'X-API-Key': k.key }, privateId, 30);
    const info = await t.request(`/info/${privateId}`, { headers: bearer(token) });
    expect(info.status).toBe(200);
    expect(cacheControl(info)).toMatchObject({ scope: 'private', maxAge: 30 });
    const session = await issueSession(t.deps, adaId);
    const random = await t.request(`/random/w_64?redirect=0&token=${session.token}`);
    expect(random.status).toBe(200);
    expect(random.headers.get('cache-control')).toBe('no-store');
  });

  it('ALLOW_UNSIGNED_TRANSFORMS=true: what anonymous may fetch stays public for a key too', async () => {
    const open = await authApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true' });
    try {
      const id = await open.seed('friends-portrait.jpg');
      const res = await open.request(`/img/w_64/${id}`, { headers: { 'X-API-Key': open.adminKey } });
      expect(cacheControl(res)).toMatchObject({ scope: 'public', maxAge: YEAR });
    } finally {
      await open.cleanup();
    }
  });
});

describe('?token= is for image delivery only', () => {
  /** Routes that answer images and take ?token= (a plain <img src> sends no header). */
  const DELIVERY = new Set(['/random', '/random/{options}', '/random/daily', '/random/daily/{options}', '/random-image/{key}']);
  /** The Flask API's routes: the key is their path, and their errors are that service's ({"error": "Unauthorized"}). */
  const FLASK = new Set(['/update-images/{key}', '/update-key/{key}']);
  /** Probes and metrics, mounted before authentication: they never read a session token at all. */
  const OPS = new Set(['/healthz', '/readyz', '/metrics']);

  it('every management route (from /openapi.json) refuses a valid admin session in ?token=, and takes it as Bearer', async () => {
    const { token } = await issueSession(t.deps, adminUserId);
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method: method.toUpperCase() })));
    const management = routes.filter((r) => !DELIVERY.has(r.path) && !OPS.has(r.path) && !FLASK.has(r.path));
    // Every family the README lists is in there (the document is the list, so new routes join by themselves).
    expect([...new Set(management.map((r) => r.path.split('/')[1]))]).toEqual(
      expect.arrayContaining(['random.json', 'auth', 'keys', 'sign', 'images', 'presets', 'tasks']),
    );
    for (const { path, method } of management) {
      const url = path.replace(/\{[^}]+\}/g, 'nope');
      const viaQuery = await t.request(`${url}?token=${token}`, { method });
      expect(viaQuery.status, `${method} ${path}`).toBe(401);
      expect((await errorOf(viaQuery)).code, `${method} ${path}`).toBe('token_in_url');
      const viaHeader = await t.request(url, { method, headers: bearer(token) });
      const code = viaHeader.status >= 400 ? (await errorOf(viaHeader)).code : 'ok';
      expect(['token_in_url', 'invalid_token', 'token_expired'], `${method} ${path}`).not.toContain(code);
    }
  });

  it('probes and metrics read no session token: ?token= changes nothing there', async () => {
    const { token } = await issueSession(t.deps, adminUserId);
    for (const path of OPS) {
      const [plain, withToken] = await Promise.all([t.request(path), t.request(`${path}?token=${token}`)]);
      expect(withToken.status, path).toBe(plain.status);
    }
  });

  it('image delivery takes it: /img and /random image answers', async () => {
    const { token } = await issueSession(t.deps, adaId);
    expect((await img(`w_64/${privateId}`, `?token=${token}`)).status).toBe(200);
    for (const path of ['/random/w_64?redirect=0', '/random?redirect=0', '/random/daily/w_64?redirect=0']) {
      expect((await t.request(`${path}&token=${token}`)).status, path).toBe(200);
    }
  });
});

describe('?key= is for image delivery and /info only', () => {
  const DELIVERY = new Set(['/random', '/random/{options}', '/random/daily', '/random/daily/{options}', '/info/{id}']);
  const LEGACY = new Set(['/random-image/{key}', '/update-images/{key}', '/update-key/{key}']);
  const OPS = new Set(['/healthz', '/readyz', '/metrics']);

  it('every management route (from /openapi.json) refuses an admin key in ?key=, and takes it as X-API-Key; nothing is done', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method: method.toUpperCase() })));
    const management = routes.filter((r) => !DELIVERY.has(r.path) && !OPS.has(r.path) && !LEGACY.has(r.path));
    expect([...new Set(management.map((r) => r.path.split('/')[1]))]).toEqual(
      expect.arrayContaining(['random.json', 'auth', 'keys', 'sign', 'images', 'presets', 'tasks', 'users']),
    );
    const users = await t.request('/users', { headers: admin() });
    const before = users.status === 200 ? await users.text() : '';
    for (const { path, method } of management) {
      const url = path.replace(/\{[^}]+\}/g, 'nope');
      const body = method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify({ username: 'via-url', password: 'password123', role: 'admin' });
      const viaQuery = await t.request(`${url}?key=${t.adminKey}`, { method, headers: { 'content-type': 'application/json' }, body });
      expect(viaQuery.status, `${method} ${path}`).toBe(401);
      expect((await errorOf(viaQuery)).code, `${method} ${path}`).toBe('key_in_url');
      const viaHeader = await t.request(url, { method, headers: admin() });
      const code = viaHeader.status >= 400 ? (await errorOf(viaHeader)).code : 'ok';
      expect(['key_in_url', 'invalid_key'], `${method} ${path}`).not.toContain(code);
    }
    // POST /users with the admin key in the URL made nobody an admin (found by an outsider: it did).
    if (before) expect(await (await t.request('/users', { headers: admin() })).text()).toBe(before);
  });

  it('image delivery and /info take it', async () => {
    const k = await adaKey();
    expect((await img(`w_64/${privateId}`, `?key=${k.key}`)).status).toBe(200);
    expect((await t.request(`/info/${privateId}?key=${k.key}`)).status).toBe(200);
    expect((await t.request(`/random/w_64?redirect=0&key=${k.key}`)).status).toBe(200);
  });
});

describe('/random-image/{key} is a key use like any other', () => {
  it('counts requests, renders, bytes and the last-used time, and stops when the key is revoked', async () => {
    const k = await adaKey();
    // The only image of its collection: the first answer is a render, the second a cache hit.
    await t.seed('dune-2mp.jpg', { collection: 'legacy' });
    let bytes = 0;
    const tiers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await t.request(`/random-image/${k.key}?collection=legacy`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      tiers.push(res.headers.get('x-cache')!);
      bytes += (await res.arrayBuffer()).byteLength;
    }
    expect(tiers).toEqual(['MISS', 'HIT-MEMORY']);
    const usage = await t.request(`/keys/${k.id}/usage`, { headers: admin() });
    expect(await usage.json()).toEqual({ id: k.id, requests: 2, renders: 1, bytesServed: bytes, lastUsedAt: t.clock.now });
    await revoke(k.id);
    // The Flask API's route answers in that service's shape.
    const refused = await t.request(`/random-image/${k.key}`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'Unauthorized' });
  });
});
