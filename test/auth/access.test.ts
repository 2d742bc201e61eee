import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { presets } from '../../src/db/schema.js';
import { asAdmin, authApp, bearer, errorOf, register, type AuthTestApp } from './helpers.js';

/** SPEC §2 on /img: who sees which image, who may ask for which options, and forged signatures. */

const K1 = { kid: 'k1', secret: 'first-secret-0123456789' };
const K0 = { kid: 'k0', secret: 'older-secret-0123456789' };

let t: AuthTestApp;
let privateId: string;
let publicId: string;
let ownerToken: string;
let strangerToken: string;

beforeAll(async () => {
  t = await authApp({ SIGNING_KEYS: `k1:${K1.secret},k0:${K0.secret}`, NODE_ENV: 'production' });
  // Production: open registration is off, so the admin key makes the accounts.
  const owner = await register(t, 'owner', undefined, asAdmin(t));
  ownerToken = owner.token;
  strangerToken = (await register(t, 'stranger', undefined, asAdmin(t))).token;
  privateId = await t.seed('dune-2mp.jpg', { visibility: 'private', ownerId: owner.user.id });
  publicId = await t.seed('dragonfly-alpha.png', { visibility: 'public', ownerId: owner.user.id });
  t.deps.db.insert(presets).values({ name: 'thumb', options: 'w_80,h_80,c_fill' }).run();
});
afterAll(() => t.cleanup());

const get = (path: string, headers: Record<string, string> = {}) => t.request(path, { headers });

describe('private images', () => {
  it('are 404 to strangers, with or without options', async () => {
    for (const path of [`/img/${privateId}`, `/img/w_100/${privateId}`, `/img/t_thumb/${privateId}`, `/img/${privateId}.json`]) {
      const anon = await get(path);
      expect(anon.status, path).toBe(404);
      expect((await errorOf(anon)).code).toBe('image_not_found');
      expect((await get(path, bearer(strangerToken))).status, path).toBe(404);
    }
  });

  it('are served to their owner, an admin key, and anyone holding a signed URL', async () => {
    expect((await get(`/img/w_100/${privateId}`, bearer(ownerToken))).status).toBe(200);
    expect((await get(`/img/w_100/${privateId}`, { 'X-API-Key': t.adminKey })).status).toBe(200);
    expect((await get(`/img/w_100/${privateId}?key=${t.adminKey}`)).status).toBe(200);
    expect((await get(signedImagePath(privateId, 'w_100', K1))).status).toBe(200);
    expect((await get(signedImagePath(privateId, '', K1))).status).toBe(200);
  });

  it('an invalid credential is a 401, not a silent downgrade to anonymous', async () => {
    const res = await get(`/img/${publicId}`, { 'X-API-Key': 'imgp_this-key-does-not-exist-at-all' });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('invalid_key');
  });
});

describe('public images, unsigned and anonymous', () => {
  it('serve the original and named presets', async () => {
    expect((await get(`/img/${publicId}`)).status).toBe(200);
    const preset = await get(`/img/t_thumb/${publicId}`);
    expect(preset.status).toBe(200);
    expect((await get(`/img/t_thumb,f_webp/${publicId}`)).status).toBe(200);
  });

  it('refuse free transformations with 401 signature_required', async () => {
    for (const options of ['w_100', 'r_90', 'e_blur:5', 'w_100,t_thumb']) {
      const res = await get(`/img/${options}/${publicId}`);
      expect(res.status, options).toBe(401);
      expect((await errorOf(res)).code).toBe('signature_required');
    }
  });

  it('allow them when the operator sets ALLOW_UNSIGNED_TRANSFORMS', async () => {
    const open = await authApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true' });
    try {
      const id = await open.seed('dune-2mp.jpg');
      expect((await open.request(`/img/w_100,r_90/${id}`)).status).toBe(200);
      // …but never for private images.
      const hidden = await open.seed('dragonfly-alpha.png', { visibility: 'private' });
      expect((await open.request(`/img/w_100/${hidden}`)).status).toBe(404);
    } finally {
      await open.cleanup();
    }
  });
});

describe('forged signed URLs', () => {
  const good = () => signedImagePath(privateId, 'w_100,f_webp', K1);
  const sigOf = (path: string) => path.match(/^\/img\/s--([^/]*)--\//)![1];

  it.each<[string, () => string]>([
    ['options changed after signing', () => good().replace('w_100', 'w_1000')],
    ['id changed after signing', () => good().replace(privateId, publicId)],
    ['mac truncated', () => good().replace(/(s--k1\.[\w-]+?)[\w-]{4}--/, '$1--')],
    [
      'mac with one character flipped',
      () => {
        const sig = sigOf(good());
        const flipped = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
        return good().replace(sig, flipped);
      },
    ],
    ['signature swapped from another URL', () => good().replace(sigOf(good()), sigOf(signedImagePath(privateId, 'w_200,f_webp', K1)))],
    ['signature for another image', () => `/img/s--${sigOf(signedImagePath(publicId, 'w_100,f_webp', K1))}--/w_100,f_webp/${privateId}`],
    ['unknown key id', () => signedImagePath(privateId, 'w_100,f_webp', { kid: 'k9', secret: K1.secret })],
    ['right kid, wrong secret', () => signedImagePath(privateId, 'w_100,f_webp', { kid: 'k1', secret: 'guessed-secret-0123456789' })],
    ['kid swapped to the other configured key', () => good().replace('s--k1.', 's--k0.')],
    ['empty signature', () => `/img/s----/w_100,f_webp/${privateId}`],
    ['signature without a kid', () => good().replace('s--k1.', 's--')],
  ])('%s → 403 bad_signature', async (_name, make) => {
    const res = await get(make());
    expect(res.status).toBe(403);
    const error = await errorOf(res);
    expect(error.code).toBe('bad_signature');
    // Production never explains what the signature should have been.
    expect(error).not.toHaveProperty('expected');
    expect(error).not.toHaveProperty('signingString');
  });

  it('expiry cannot be removed, extended, or outlived', async () => {
    const now = t.clock.now;
    const path = signedImagePath(privateId, 'w_100', K1, { expiresAt: now + 60 });
    expect((await get(path)).status).toBe(200);
    expect((await get(path.replace(`exp_${now + 60}`, `exp_${now + 86_400}`))).status).toBe(403);
    expect(await get(path.replace(`,exp_${now + 60}`, ''))).toHaveProperty('status', 403);
    t.clock.now += 61;
    try {
      const res = await get(path);
      expect(res.status).toBe(403);
      expect((await errorOf(res)).code).toBe('expired');
    } finally {
      t.clock.now = now;
    }
  });

  it('rotating secrets: every configured kid verifies, a dropped one stops verifying', async () => {
    expect((await get(signedImagePath(privateId, 'w_90', K0))).status).toBe(200);
    const rotated = await authApp({ SIGNING_KEYS: `k2:next-secret-0123456789,k1:${K1.secret}` });
    try {
      const id = await rotated.seed('dune-2mp.jpg', { visibility: 'private' });
      expect((await rotated.request(signedImagePath(id, 'w_90', K1))).status).toBe(200);
      expect((await rotated.request(signedImagePath(id, 'w_90', K0))).status).toBe(403);
    } finally {
      await rotated.cleanup();
    }
  });

  it('development mode explains a rejected signature with the expected signing string', async () => {
    const dev = await authApp({ NODE_ENV: 'development', SIGNING_KEYS: `k1:${K1.secret}` });
    try {
      const id = await dev.seed('dune-2mp.jpg', { visibility: 'private' });
      const forged = signedImagePath(id, 'w_100', K1).replace('w_100', 'w_120');
      const error = await errorOf(await dev.request(forged));
      expect(error).toMatchObject({ code: 'bad_signature', signingString: `w_120/${id}`, reason: 'mismatch' });
      expect(error).not.toHaveProperty('expected'); // never a working signature, even in development
    } finally {
      await dev.cleanup();
    }
  });
});
