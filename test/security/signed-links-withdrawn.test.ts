import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL } from '../../src/auth/principal.js';
import { signedImagePath } from '../../src/auth/signature.js';
import { signDelivery } from '../../src/delivery/sign.js';
import { authApp, bearer, createAdmin, errorOf, postJson, register, type AuthTestApp } from '../auth/helpers.js';
import { auth, makeUser, multipart } from '../library/helpers.js';

/**
 * A link signed while an image was public must not keep opening it once its owner makes it
 * private, whoever minted it (any logged-in user may sign any public image): everything imgpath
 * mints for a public image is signed public-only (src/auth/signature.ts), and a public-only
 * signature on a private image is answered exactly as the same URL unsigned, to a stranger (404).
 * A private image's links (minted only for its owner and admins) are signed in full and expire.
 * The operator's own signatures (SIGNING_KEYS, the JS client) keep their full authority.
 */

const KEY = { kid: 'k1', secret: 'withdrawn-links-secret-0123456789' };
const HOUR = 3600;
let t: AuthTestApp;
let alice: { id: number; key: string };
let bobToken: string;
let adminToken: string;
let colour = 0;

beforeAll(async () => {
  t = await authApp({ SIGNING_KEYS: `${KEY.kid}:${KEY.secret}`, PUBLIC_URL: 'https://img.example.com' });
  alice = makeUser(t, 'alice');
  bobToken = (await register(t, 'bob')).token;
  adminToken = (await createAdmin(t, 'root')).token;
});
afterAll(() => t.cleanup());

const local = (url: string) => url.replace(/^https:\/\/img\.example\.com/, '');
const unsigned = (path: string) => path.replace(/^\/img\/s--[^/]+--\//, '/img/');
const json = (key: string, method: string, body: unknown) => ({
  method,
  headers: auth(key, { 'Content-Type': 'application/json' }),
  body: JSON.stringify(body),
});

/** A new image of alice's, uploaded over the API (its own bytes, its own tag for /random), and the upload answer. */
async function aliceUploads(visibility: 'public' | 'private') {
  colour++;
  const bytes = await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: colour * 7, g: 120, b: 200 - colour } } })
    .jpeg()
    .toBuffer();
  const tag = `t${colour}`;
  const res = await t.request('/images', { method: 'POST', headers: auth(alice.key), body: multipart('x.jpg', { visibility, tags: tag }, bytes) });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; urls: { original: string; renditions: Record<string, string> } };
  return { id: body.id, tag, upload: body };
}

async function setVisibility(id: string, visibility: 'public' | 'private') {
  expect((await t.request(`/images/${id}`, json(alice.key, 'PATCH', { visibility }))).status).toBe(200);
}

async function signed(body: unknown, headers: Record<string, string>) {
  const res = await postJson(t, '/sign', body, headers);
  expect(res.status).toBe(200);
  return (await res.json()) as { url: string; path: string; expiresAt: number | null };
}

/**
 * One signed link from every place imgpath mints them. `asOwner`: signed by alice herself (her key);
 * otherwise POST /sign comes from bob, another user, as only a public image allows.
 */
async function mintEverywhere(image: { id: string; tag: string; upload: { urls: { renditions: Record<string, string> } } }, asOwner: boolean) {
  const { id, tag } = image;
  const links: Record<string, string> = {};
  links['POST /sign'] = (await signed({ id, options: 'w_50,e_negate' }, asOwner ? auth(alice.key) : bearer(bobToken))).path;
  links['imgpath sign'] = (await signDelivery(t.deps, INTERNAL, { id, options: 'w_51' })).path;
  links['upload answer'] = local(image.upload.urls.renditions.small);
  const list = (await (await t.request(`/images?tag=${tag}`, { headers: auth(alice.key) })).json()) as {
    items: Array<{ urls: { renditions: Record<string, string> } }>;
  };
  links['GET /images'] = local(list.items[0].urls.renditions.thumbnail);
  const variant = await t.request(`/images/${id}/transform`, json(alice.key, 'POST', { resize: { width: 90 } }));
  expect(variant.status).toBeLessThan(300);
  links.variant = local(((await variant.json()) as { url: string }).url);
  const detail = (await (await t.request(`/images/${id}`, { headers: auth(alice.key) })).json()) as { variants: Array<{ url: string }> };
  links['GET /images/{id} variants'] = local(detail.variants[0].url);
  const redirect = await t.request(`/random/w_52?tag=${tag}`, { headers: auth(alice.key) });
  expect(redirect.status).toBe(302);
  links['/random'] = local(redirect.headers.get('location')!);
  const picked = (await (await t.request(`/random.json?options=w_53&tag=${tag}`, { headers: auth(alice.key) })).json()) as { images: Array<{ url: string }> };
  links['/random.json'] = local(picked.images[0].url);
  for (const [route, path] of Object.entries(links)) expect(path, route).toMatch(/^\/img\/s--k1\.[\w-]{43}--\//);
  return links;
}

/** What a stranger gets for `path` with its signature removed: the answer a dead link must give, byte for byte. */
async function expectStrangersAnswer(path: string, route: string, headers: Record<string, string> = {}) {
  const res = await t.request(path, { headers });
  const stranger = await t.request(unsigned(path));
  expect(res.status, route).toBe(404);
  expect(stranger.status, route).toBe(404);
  expect(await res.text(), route).toBe(await stranger.text());
}

describe('links minted for a public image', () => {
  it('work while it is public, and from every minting route die with the stranger 404 once its owner makes it private', async () => {
    const image = await aliceUploads('public');
    const links = await mintEverywhere(image, false);
    for (const [route, path] of Object.entries(links)) expect((await t.request(path)).status, route).toBe(200);
    await setVisibility(image.id, 'private');
    for (const [route, path] of Object.entries(links)) {
      await expectStrangersAnswer(path, route);
      await expectStrangersAnswer(path, `${route}, presented by bob's session`, bearer(bobToken));
      await expectStrangersAnswer(`${path}.json`, `${route}, dry run`);
    }
    // The owner still sees her image with her own credential, and can hand out fresh (full, expiring) links.
    expect((await t.request(links['POST /sign'], { headers: auth(alice.key) })).status).toBe(200);
    const fresh = await signed({ id: image.id, options: 'w_50,e_negate' }, auth(alice.key));
    expect(fresh.expiresAt).toBe(t.clock.now + HOUR);
    expect((await t.request(fresh.path)).status).toBe(200);
    // Nobody else can mint one now.
    expect((await postJson(t, '/sign', { id: image.id, options: 'w_50' }, bearer(bobToken))).status).toBe(404);
  });

  it('are public-only whoever signs them: another user, its owner, an admin session, the admin key', async () => {
    const image = await aliceUploads('public');
    const options = 'w_60,e_grayscale';
    const expected = signedImagePath(image.id, options, KEY, { reach: 'public' });
    for (const headers of [bearer(bobToken), auth(alice.key), bearer(adminToken), auth(t.adminKey)]) {
      const made = await signed({ id: image.id, options }, headers);
      expect(made.path).toBe(expected);
      expect(made.expiresAt).toBeNull();
    }
    expect((await t.request(expected)).status).toBe(200);
    await setVisibility(image.id, 'private');
    await expectStrangersAnswer(expected, 'admin-minted');
  });

  it('round trip private → public → private: a public-only link works exactly while the image is public; a full one until it expires', async () => {
    const image = await aliceUploads('private');
    const full = await signed({ id: image.id, options: 'w_70' }, auth(alice.key)); // minted while private: full, 1 h
    await setVisibility(image.id, 'public');
    const publicOnly = await signed({ id: image.id, options: 'w_71' }, bearer(bobToken));
    expect((await t.request(publicOnly.path)).status).toBe(200);
    expect((await t.request(full.path)).status).toBe(200);
    await setVisibility(image.id, 'private');
    await expectStrangersAnswer(publicOnly.path, 'public-only, private again');
    expect((await t.request(full.path)).status).toBe(200);
    // Public again: the public-only link opens it again (it vouches for the options of a public image).
    await setVisibility(image.id, 'public');
    expect((await t.request(publicOnly.path)).status).toBe(200);
    await setVisibility(image.id, 'private');
    t.clock.now += HOUR + 1;
    try {
      const late = await t.request(full.path);
      expect(late.status).toBe(403);
      expect((await errorOf(late)).code).toBe('expired');
      await expectStrangersAnswer(publicOnly.path, 'public-only, later');
    } finally {
      t.clock.now -= HOUR + 1;
    }
  });
});

describe('links minted for a private image (owner, admin)', () => {
  it('work for anyone from every minting route, and expire after an hour', async () => {
    const image = await aliceUploads('private');
    const links = await mintEverywhere(image, true);
    for (const [route, path] of Object.entries(links)) {
      expect(Number(/exp_(\d+)/.exec(path)?.[1]), route).toBe(t.clock.now + HOUR);
      expect((await t.request(path)).status, route).toBe(200);
    }
    t.clock.now += HOUR + 1;
    try {
      for (const [route, path] of Object.entries(links)) {
        const late = await t.request(path);
        expect(late.status, route).toBe(403);
        expect((await errorOf(late)).code, route).toBe('expired');
      }
    } finally {
      t.clock.now -= HOUR + 1;
    }
  });

  it('an admin session signs a private image in full, expiring', async () => {
    const image = await aliceUploads('private');
    const made = await signed({ id: image.id, options: 'w_61' }, bearer(adminToken));
    expect(made.path).toBe(signedImagePath(image.id, 'w_61', KEY, { expiresAt: t.clock.now + HOUR }));
    expect((await t.request(made.path)).status).toBe(200);
  });

  it('cannot be signed by another user', async () => {
    const image = await aliceUploads('private');
    expect((await postJson(t, '/sign', { id: image.id, options: 'w_62' }, bearer(bobToken))).status).toBe(404);
  });
});

describe("the operator's signatures (SIGNING_KEYS, signedImagePath, the JS client)", () => {
  it('still open private images, with or without expiry', async () => {
    const image = await aliceUploads('private');
    expect((await t.request(signedImagePath(image.id, 'w_80', KEY))).status).toBe(200);
    expect((await t.request(signedImagePath(image.id, '', KEY))).status).toBe(200);
    expect((await t.request(signedImagePath(image.id, 'w_81', KEY, { expiresAt: t.clock.now + 60 }))).status).toBe(200);
  });

  it('a public-only signature never opens a private image, exp_ or not, whoever presents it', async () => {
    const image = await aliceUploads('private');
    for (const path of [
      signedImagePath(image.id, 'w_82', KEY, { reach: 'public' }),
      signedImagePath(image.id, 'w_83', KEY, { reach: 'public', expiresAt: t.clock.now + 60 }),
      signedImagePath(image.id, 'w_84,exp_99999999999', KEY, { reach: 'public' }),
      signedImagePath(image.id, '', KEY, { reach: 'public', ext: 'png' }),
    ]) {
      await expectStrangersAnswer(path, path);
      await expectStrangersAnswer(path, `${path} with bob's session`, bearer(bobToken));
    }
  });

  it('a public-only signature is still checked: it vouches for exactly its own path', async () => {
    const image = await aliceUploads('public');
    const path = signedImagePath(image.id, 'w_85', KEY, { reach: 'public' });
    expect((await t.request(path)).status).toBe(200);
    expect((await t.request(path.replace('w_85', 'w_86'))).status).toBe(403);
  });
});

describe('exp_ in the options of POST /sign obeys the rules of expiresIn', () => {
  it('is refused beyond a year, in the past, or when expiresIn names another moment', async () => {
    const image = await aliceUploads('private');
    const now = t.clock.now;
    const cases: Array<[unknown, string]> = [
      [{ id: image.id, options: 'w_110,exp_99999999999' }, 'exp_ must be within 31536000 seconds from now'],
      [{ id: image.id, options: `w_110,exp_${now + 365 * 24 * HOUR + 1}` }, 'exp_ must be within'],
      [{ id: image.id, options: `w_110,exp_${now - 1}` }, 'is in the past'],
      [{ id: image.id, options: `w_110,exp_${now}` }, 'is in the past'],
      [{ id: image.id, options: `w_110,exp_${now + 600}`, expiresIn: 900 }, 'disagree'],
    ];
    for (const [body, message] of cases) {
      for (const headers of [auth(alice.key), bearer(adminToken)]) {
        const res = await postJson(t, '/sign', body, headers);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect((await errorOf(res)).message).toContain(message);
      }
    }
    // On a public image too (the URL would be public-only, but the request is still bounded).
    const pub = await aliceUploads('public');
    expect((await postJson(t, '/sign', { id: pub.id, options: 'w_110,exp_99999999999' }, bearer(bobToken))).status).toBe(400);
  });

  it('is kept as written when within bounds, and agrees with an expiresIn naming the same second', async () => {
    const image = await aliceUploads('private');
    const exp = t.clock.now + 7200;
    const made = await signed({ id: image.id, options: `exp_${exp},w_111` }, auth(alice.key));
    expect(made.expiresAt).toBe(exp);
    expect(made.path).toBe(signedImagePath(image.id, `exp_${exp},w_111`, KEY));
    expect((await t.request(made.path)).status).toBe(200);
    const both = await signed({ id: image.id, options: `w_112,exp_${exp}`, expiresIn: 7200 }, auth(alice.key));
    expect(both.expiresAt).toBe(exp);
    // A client computing exp_ as its now + expiresIn may be a second or two apart from the server:
    // within 5 s the two name one moment, and exp_ is kept as written (found by an outsider).
    for (const off of [-5, -1, 1, 5]) {
      const near = await signed({ id: image.id, options: `w_114,exp_${exp + off}`, expiresIn: 7200 }, auth(alice.key));
      expect(near.expiresAt, String(off)).toBe(exp + off);
    }
    const far = await postJson(t, '/sign', { id: image.id, options: `w_114,exp_${exp + 6}`, expiresIn: 7200 }, auth(alice.key));
    expect(far.status).toBe(400);
    const pub = await aliceUploads('public');
    const publicOnly = await signed({ id: pub.id, options: `w_113,exp_${exp}` }, bearer(bobToken));
    expect(publicOnly.path).toBe(signedImagePath(pub.id, `w_113,exp_${exp}`, KEY, { reach: 'public' }));
    expect(publicOnly.expiresAt).toBe(exp);
  });

  it('never outlives the session that signs, whether asked by exp_ or expiresIn', async () => {
    const image = await aliceUploads('private');
    const admin = await createAdmin(t, `root${colour}`);
    expect(admin.expiresAt).toBeLessThan(t.clock.now + 30 * 24 * HOUR);
    const far = t.clock.now + 300 * 24 * HOUR;
    for (const body of [
      { id: image.id, options: `w_114,exp_${far}` },
      { id: image.id, options: 'w_114', expiresIn: 300 * 24 * HOUR },
    ]) {
      const made = await signed(body, bearer(admin.token));
      expect(made.expiresAt, JSON.stringify(body)).toBe(admin.expiresAt);
      expect(made.path).toBe(signedImagePath(image.id, 'w_114', KEY, { expiresAt: admin.expiresAt }));
    }
    // An API key has no session: a year is a year.
    expect((await signed({ id: image.id, options: `w_115,exp_${far}` }, auth(alice.key))).expiresAt).toBe(far);
  });

  it('the CLI signer (signDelivery) refuses the same', async () => {
    const image = await aliceUploads('private');
    await expect(signDelivery(t.deps, INTERNAL, { id: image.id, options: 'w_116,exp_99999999999' })).rejects.toThrow(/exp_ must be within/);
    await expect(signDelivery(t.deps, INTERNAL, { id: image.id, options: `w_116,exp_${t.clock.now - 5}` })).rejects.toThrow(/in the past/);
  });
});
