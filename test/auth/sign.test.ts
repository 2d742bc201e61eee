import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUrl } from '../../src/client/index.js';
import { presets } from '../../src/db/schema.js';
import { authApp, bearer, errorOf, postJson, register, type AuthTestApp } from './helpers.js';

let t: AuthTestApp;
let owner: { token: string; id: number };
let stranger: { token: string; id: number };
let privateId: string;
let otherPrivateId: string;
let publicId: string;

beforeAll(async () => {
  t = await authApp({ SIGNING_KEYS: 'k2:second-secret-0123456789,k1:first-secret-0123456789', PUBLIC_URL: 'https://img.example.com' });
  const o = await register(t, 'owner');
  const s = await register(t, 'stranger');
  owner = { token: o.token, id: o.user.id };
  stranger = { token: s.token, id: s.user.id };
  privateId = await t.seed('dune-2mp.jpg', { visibility: 'private', ownerId: owner.id });
  otherPrivateId = await t.seed('dragonfly-alpha.png', { visibility: 'private', ownerId: owner.id });
  publicId = await t.seed('friends-portrait.jpg', { visibility: 'public', ownerId: stranger.id });
  t.deps.db.insert(presets).values({ name: 'card', options: 'w_240,h_160,c_fill' }).run();
});
afterAll(() => t.cleanup());

const sign = (body: unknown, headers: Record<string, string> = bearer(owner.token)) => postJson(t, '/sign', body, headers);
const local = (url: string) => url.replace('https://img.example.com', '');

describe('POST /sign → {url}', () => {
  it('signs a delivery URL with the first signing key that works for anyone, until it expires', async () => {
    const res = await sign({ id: privateId, options: 'w_300,f_webp', expiresIn: 3600 });
    expect(res.status).toBe(200);
    const { url, expiresAt } = (await res.json()) as { url: string; expiresAt: number };
    expect(url).toMatch(new RegExp(`^https://img\\.example\\.com/img/s--k2\\.[\\w-]{43}--/w_300,f_webp,exp_${expiresAt}/${privateId}$`));
    expect(expiresAt).toBe(t.clock.now + 3600);
    const img = await t.request(local(url));
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/webp');
    t.clock.now += 3601;
    try {
      const expired = await t.request(local(url));
      expect(expired.status).toBe(403);
      expect((await errorOf(expired)).code).toBe('expired');
    } finally {
      t.clock.now -= 3601;
    }
  });

  it('rounds expiries up to SIGNATURE_EXPIRY_BUCKET so URLs repeat for CDNs', async () => {
    const b = await authApp({ SIGNATURE_EXPIRY_BUCKET: '3600' });
    try {
      b.clock.now = 1_800_000_000 + 100; // a whole number of hours + 100 s
      const { token } = await register(b, 'ada');
      const id = await b.seed('dune-2mp.jpg');
      const urls = new Set<string>();
      for (const expiresIn of [600, 601, 602]) {
        const body = (await (await postJson(b, '/sign', { id, options: 'w_100', expiresIn }, bearer(token))).json()) as { url: string; expiresAt: number };
        expect(body.expiresAt).toBe(1_800_003_600);
        urls.add(body.url);
      }
      expect(urls.size).toBe(1);
      expect((await b.request([...urls][0].replace(/^https?:\/\/[^/]+/, ''))).status).toBe(200);
    } finally {
      await b.cleanup();
    }
  });

  it('answers 400 for a bad option, 404 for an image the caller may not see', async () => {
    const bad = await sign({ id: privateId, options: 'w_0' });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('bad_option');
    expect((await sign({ id: privateId, options: 'w_100' }, bearer(stranger.token))).status).toBe(404);
    expect((await sign({ id: 'doesnotexist', options: 'w_100' })).status).toBe(404);
    expect((await sign({ options: 'w_100' })).status).toBe(400);
  });

  it('needs a user or a key with the deliver scope', async () => {
    expect((await sign({ id: publicId, options: 'w_100' }, {})).status).toBe(401);
    const upload = (await t.deps.keys.create({ scopes: ['upload'], userId: owner.id })).key;
    const res = await sign({ id: publicId, options: 'w_100' }, { 'X-API-Key': upload });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('missing_scope');
    const deliver = (await t.deps.keys.create({ scopes: ['deliver'], userId: owner.id })).key;
    expect((await sign({ id: privateId, options: 'w_100' }, { 'X-API-Key': deliver })).status).toBe(200);
  });

  it('matches the Node helper in src/client.ts byte for byte', async () => {
    const body = (await (await sign({ id: privateId, options: 'w_300,f_webp', expiresIn: 600 })).json()) as { url: string };
    const mine = signUrl({
      baseUrl: 'https://img.example.com/',
      kid: 'k2',
      secret: 'second-secret-0123456789',
      id: privateId,
      options: 'w_300,f_webp',
      expiresIn: 600,
      now: t.clock.now,
    });
    expect(mine).toBe(body.url);
    // A URL signed by the helper with the older key (still configured) is served too.
    const old = signUrl({ baseUrl: '', kid: 'k1', secret: 'first-secret-0123456789', id: privateId, options: 'w_64', ext: 'png' });
    const res = await t.request(old);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
  });
});

describe('POST /sign → {token} (policy tokens)', () => {
  async function policyToken(body: Record<string, unknown>, headers: Record<string, string> = bearer(owner.token)) {
    const res = await sign(body, headers);
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  }

  it('one token covers a whole srcset inside its width range and formats', async () => {
    const token = await policyToken({ id: privateId, policy: { width: { min: 100, max: 1600 }, formats: ['webp', 'avif'] }, expiresIn: 3600 });
    for (const w of [100, 320, 640, 1600]) {
      const res = await t.request(`/img/w_${w},f_webp/${privateId}?token=${token}`);
      expect(res.status, `w_${w}`).toBe(200);
    }
    const viaHeader = await t.request(`/img/w_200,f_webp/${privateId}`, { headers: bearer(token) });
    expect(viaHeader.status).toBe(200);
  });

  it.each([
    ['w_1601,f_webp', 'above the range'],
    ['w_99,f_webp', 'below the range'],
    ['w_800,dpr_3,f_webp', 'inside the range, but dpr pushes the output past it'],
    ['w_300,f_png', 'a format outside the list'],
    ['h_300,f_webp', 'no w_'],
  ])('refuses %s (%s) with 403', async (options) => {
    const token = await policyToken({ id: privateId, policy: { width: { min: 100, max: 1600 }, formats: ['webp', 'avif'] } });
    const res = await t.request(`/img/${options}/${privateId}?token=${token}`);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('outside_policy');
  });

  it('grants nothing on images it does not name: private ones stay 404, public ones get the anonymous rules', async () => {
    const token = await policyToken({ id: privateId, policy: { width: { min: 100, max: 1600 } } });
    expect((await t.request(`/img/w_200/${otherPrivateId}?token=${token}`)).status).toBe(404);
    const pub = await t.request(`/img/w_200/${publicId}?token=${token}`);
    expect(pub.status).toBe(401);
    expect((await errorOf(pub)).code).toBe('signature_required');
    expect((await t.request(`/img/${publicId}?token=${token}`)).status).toBe(200);
  });

  it('without ids covers every image of the caller', async () => {
    const token = await policyToken({ policy: { width: { max: 400 } } });
    expect((await t.request(`/img/w_200/${privateId}?token=${token}`)).status).toBe(200);
    expect((await t.request(`/img/w_200/${otherPrivateId}?token=${token}`)).status).toBe(200);
    expect((await t.request(`/img/w_200/${publicId}?token=${token}`)).status).toBe(401);
  });

  it('a presets-only token allows exactly those presets', async () => {
    const token = await policyToken({ ids: [privateId], policy: { presets: ['card'] } });
    const card = await t.request(`/img/t_card/${privateId}?token=${token}`);
    expect(card.status).toBe(200);
    expect((await t.request(`/img/w_500/${privateId}?token=${token}`)).status).toBe(403);
    expect((await t.request(`/img/t_other/${privateId}?token=${token}`)).status).toBe(403);
  });

  it('validates the policy and refuses images the caller cannot see', async () => {
    expect((await sign({ id: privateId, policy: { width: { min: 500, max: 100 } } })).status).toBe(400);
    expect((await sign({ id: privateId, policy: { formats: ['exe'] } })).status).toBe(400);
    expect((await sign({ id: privateId, policy: { admin: true } })).status).toBe(400);
    expect((await sign({ id: privateId, policy: {}, options: 'w_1' })).status).toBe(400);
    expect((await sign({ ids: [privateId, otherPrivateId], policy: {} }, bearer(stranger.token))).status).toBe(404);
    // A system key has no "own images": it must name them.
    expect((await sign({ policy: {} }, { 'X-API-Key': t.adminKey })).status).toBe(400);
  });

  it('refuses preset names the URL grammar would never match (capitals), naming the field', async () => {
    const res = await sign({ id: privateId, policy: { presets: ['Card'] } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await errorOf(res))).toMatch(/policy\.presets/);
    expect((await sign({ id: privateId, policy: { presets: ['card', 'wide_2-x'] } })).status).toBe(200);
  });

  it('a policy token cannot mint more tokens or sign URLs', async () => {
    const token = await policyToken({ id: privateId, policy: {} });
    const res = await sign({ id: privateId, options: 'w_100' }, bearer(token));
    expect(res.status).toBe(403);
  });
});
