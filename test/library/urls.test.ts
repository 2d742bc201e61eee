import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, upload } from './helpers.js';

/**
 * The URLs in API answers follow one policy wherever they are built (upload, GET /images,
 * variants, /random.json): a private image gets a signed URL that expires after an hour,
 * so an answer pasted somewhere does not become a permanent share link; public originals and
 * presets get plain URLs.
 */

const HOUR = 3600;
let t: TestApp;
let now = 1_800_000_000;

async function appAt(env: Record<string, string> = {}) {
  now = 1_800_000_000;
  t = await testApp(env, { deps: { clock: () => now } });
}
afterEach(async () => {
  await t.cleanup();
});

const expiryOf = (url: string) => Number(/exp_(\d+)/.exec(url)?.[1]);
const pathOf = (url: string) => new URL(url).pathname;

describe('URLs of a private image', () => {
  it('are signed, work at once, and stop working after an hour', async () => {
    await appAt();
    const { res, body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { visibility: 'private' });
    expect(res.status).toBe(201);
    const urls = [body.urls.original, ...Object.values(body.urls.renditions as Record<string, string>)];
    for (const url of urls) {
      expect(url).toMatch(/\/img\/s--/);
      expect(expiryOf(url)).toBe(now + HOUR);
    }
    // Anonymous, as an <img src> on a page would fetch them.
    expect((await t.request(pathOf(body.urls.original))).status).toBe(200);
    expect((await t.request(pathOf(body.urls.renditions.thumbnail))).status).toBe(200);
    now += HOUR + 1;
    const late = await t.request(pathOf(body.urls.original));
    expect(late.status).toBe(403);
    expect(((await late.json()) as any).error.code).toBe('expired');
  });

  it('in GET /images, GET /images/{id} and a recorded variant expire the same way', async () => {
    await appAt();
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { visibility: 'private' });
    const made = await t.request(`/images/${body.id}/transform`, {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ resize: { width: 90 } }),
    });
    expect(expiryOf(((await made.json()) as any).url)).toBe(now + HOUR);
    const detail = (await (await t.request(`/images/${body.id}`, { headers: auth(t.adminKey) })).json()) as any;
    expect(expiryOf(detail.urls.original)).toBe(now + HOUR);
    expect(expiryOf(detail.variants[0].url)).toBe(now + HOUR);
    const list = (await (await t.request('/images', { headers: auth(t.adminKey) })).json()) as any;
    expect(expiryOf(list.items[0].urls.original)).toBe(now + HOUR);
  });

  it('round the expiry up to SIGNATURE_EXPIRY_BUCKET, so URLs made within a bucket are identical', async () => {
    await appAt({ SIGNATURE_EXPIRY_BUCKET: '600' });
    now = 1_800_000_123;
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { visibility: 'private' });
    const first = body.urls.original;
    now += 60;
    const again = (await (await t.request(`/images/${body.id}`, { headers: auth(t.adminKey) })).json()) as any;
    expect(again.urls.original).toBe(first);
    expect(expiryOf(first) % 600).toBe(0);
    expect(expiryOf(first)).toBeGreaterThanOrEqual(now + HOUR - 60);
  });

  it('from /random.json follow the same rule', async () => {
    await appAt();
    await upload(t, t.adminKey, 'dune-2mp.jpg', { visibility: 'private' });
    const picked = (await (await t.request('/random.json?options=w_100', { headers: auth(t.adminKey) })).json()) as any;
    expect(expiryOf(picked.images[0].url)).toBe(now + HOUR);
  });
});

describe('URLs of a public image', () => {
  it('are plain for the original, signed without expiry for transformations', async () => {
    await appAt();
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    expect(pathOf(body.urls.original)).toBe(`/img/${body.id}`);
    expect(body.urls.renditions.small).toMatch(/\/img\/s--[^/]+--\/w_400\//);
    expect(body.urls.renditions.small).not.toMatch(/exp_/);
    now += 365 * 24 * HOUR;
    expect((await t.request(pathOf(body.urls.renditions.small))).status).toBe(200);
  });
});
