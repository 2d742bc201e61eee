import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets } from '../../src/db/schema.js';
import { authApp, bearer, errorOf, postJson, register, type AuthTestApp } from '../auth/helpers.js';

/**
 * A policy token's `formats` says which encodings its bearer may fetch. The chosen format also
 * comes from f_auto negotiation, the source's own format (no f_) and presets, not only from f_.
 */

let t: AuthTestApp;
let jpegId: string;
let token: string;

beforeAll(async () => {
  t = await authApp();
  const owner = await register(t, 'owner');
  jpegId = await t.seed('dune-2mp.jpg', { visibility: 'private', ownerId: owner.user.id });
  t.deps.db.insert(presets).values({ name: 'pngcard', options: 'w_200,f_png' }).run();
  const res = await postJson(t, '/sign', { id: jpegId, policy: { width: { min: 100, max: 800 }, formats: ['webp'] } }, bearer(owner.token));
  token = ((await res.json()) as { token: string }).token;
});
afterAll(() => t.cleanup());

describe('policy token formats', () => {
  it('allow the listed format, by f_, extension or f_auto negotiation', async () => {
    expect((await t.request(`/img/w_300,f_webp/${jpegId}?token=${token}`)).status).toBe(200);
    expect((await t.request(`/img/w_300/${jpegId}.webp?token=${token}`)).status).toBe(200);
    const auto = await t.request(`/img/w_300,f_auto/${jpegId}?token=${token}`, { headers: { Accept: 'image/webp,*/*' } });
    expect(auto.status).toBe(200);
    expect(auto.headers.get('content-type')).toBe('image/webp');
  });

  it.each<[string, string, Record<string, string>]>([
    ['no f_: the source format (jpeg)', 'w_300', {}],
    ['f_auto negotiated to avif', 'w_300,f_auto', { Accept: 'image/avif,image/webp,*/*' }],
    ['f_auto negotiated to jpeg', 'w_300,f_auto', { Accept: 'image/png' }],
    ['a preset that encodes png', 't_pngcard,w_300', {}],
  ])('refuse any other output format: %s', async (_name, options, headers) => {
    const res = await t.request(`/img/${options}/${jpegId}?token=${token}`, { headers });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('outside_policy');
  });
});

describe('policy token width range with presets', () => {
  let widthToken: string;
  beforeAll(async () => {
    t.deps.db
      .insert(presets)
      .values([
        { name: 'hero', options: 'w_2000' },
        { name: 'retina', options: 'dpr_4' },
        { name: 'small', options: 'w_200,h_200,c_fill' },
      ])
      .run();
    const owner = await postJson(t, '/auth/login', { username: 'owner', password: 'correct horse battery' });
    const res = await postJson(
      t,
      '/sign',
      { id: jpegId, policy: { width: { min: 100, max: 800 } } },
      bearer(((await owner.json()) as { token: string }).token),
    );
    widthToken = ((await res.json()) as { token: string }).token;
  });

  it('a preset inside the range is fine, and the URL may override its width within the range', async () => {
    expect((await t.request(`/img/t_small/${jpegId}?token=${widthToken}`)).status).toBe(200);
    expect((await t.request(`/img/t_hero,w_600/${jpegId}?token=${widthToken}`)).status).toBe(200);
  });

  it.each([
    ['t_hero', 'the preset itself is wider than the range'],
    ['t_retina,w_800', 'the preset multiplies w_ by its dpr_'],
  ])('%s is refused (%s)', async (options) => {
    const res = await t.request(`/img/${options}/${jpegId}?token=${widthToken}`);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('outside_policy');
  });
});
