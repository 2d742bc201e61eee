import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets } from '../../src/db/schema.js';
import { asAdmin, authApp, bearer, errorOf, postJson, register, type AuthTestApp } from '../auth/helpers.js';
import { makeUser } from '../library/helpers.js';

/**
 * wm_{id} composites another library image into the output. If the watermark's visibility is not
 * checked, anyone allowed to transform a public image can render someone else's private image
 * into it (wms_100 = full width) and probe which private ids exist.
 */

let t: AuthTestApp;
let secretId: string;
let publicId: string;
let ownerKey: string;
let strangerKey: string;
let strangerToken: string;

beforeAll(async () => {
  t = await authApp({ NODE_ENV: 'production' });
  const owner = makeUser(t, 'owner');
  ownerKey = owner.key;
  const stranger = makeUser(t, 'stranger');
  strangerKey = stranger.key;
  // Production: open registration is off, so the admin key makes the account.
  strangerToken = (await register(t, 'mallory', undefined, asAdmin(t))).token;
  secretId = await t.seed('dragonfly-alpha.png', { visibility: 'private', ownerId: owner.id });
  publicId = await t.seed('dune-2mp.jpg', { visibility: 'public', ownerId: stranger.id });
});
afterAll(() => t.cleanup());

const missing = 'doesNotExist0';

describe('a private image as a watermark', () => {
  it('is refused on /img exactly like a missing image (key, session)', async () => {
    for (const headers of [{ 'X-API-Key': strangerKey }, bearer(strangerToken)]) {
      const leak = await t.request(`/img/wm_${secretId},wms_100,f_png/${publicId}`, { headers });
      const none = await t.request(`/img/wm_${missing},wms_100,f_png/${publicId}`, { headers });
      expect(leak.status).toBe(400);
      expect(none.status).toBe(400);
      const [a, b] = [await errorOf(leak), await errorOf(none)];
      expect(a.code).toBe('bad_option');
      expect(a.message.replace(secretId, 'ID')).toBe(b.message.replace(missing, 'ID'));
    }
  });

  it('is refused in dry runs too (no existence oracle)', async () => {
    const res = await t.request(`/img/wm_${secretId},f_png/${publicId}.json`, { headers: { 'X-API-Key': strangerKey } });
    expect(res.status).toBe(400);
  });

  it('cannot be signed into a URL by someone who may not see it', async () => {
    const res = await postJson(t, '/sign', { id: publicId, options: `wm_${secretId},wms_100` }, { 'X-API-Key': strangerKey });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('bad_option');
  });

  it('is refused on /random and /random.json', async () => {
    const headers = { 'X-API-Key': strangerKey };
    expect((await t.request(`/random/wm_${secretId},wms_100?redirect=0`, { headers })).status).toBe(400);
    expect((await t.request(`/random.json?options=wm_${secretId}`, { headers })).status).toBe(400);
  });

  it('is refused for anonymous callers when ALLOW_UNSIGNED_TRANSFORMS is on', async () => {
    const open = await authApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true' });
    try {
      const hidden = await open.seed('dragonfly-alpha.png', { visibility: 'private' });
      const pub = await open.seed('dune-2mp.jpg');
      const res = await open.request(`/img/wm_${hidden},wms_100/${pub}`);
      expect(res.status).toBe(400);
      expect((await open.request(`/img/wm_${pub},wms_10/${pub}`)).status).toBe(200);
    } finally {
      await open.cleanup();
    }
  });

  it('still works for its owner, and inside an admin-made preset for anyone', async () => {
    const own = await t.request(`/img/wm_${secretId},wms_50,f_png/${publicId}`, { headers: { 'X-API-Key': ownerKey } });
    expect(own.status).toBe(200);
    expect((await sharp(Buffer.from(await own.arrayBuffer())).metadata()).width).toBe(1680);
    // A preset is the operator's word: its watermark may be a private logo.
    t.deps.db
      .insert(presets)
      .values({ name: 'branded', options: `wm_${secretId},wms_20` })
      .run();
    expect((await t.request(`/img/t_branded/${publicId}`)).status).toBe(200);
  });
});
