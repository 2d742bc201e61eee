import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth } from '../library/helpers.js';

/**
 * A render that outlasts a change to its image (security review of the purge hook). The CDN is
 * purged when an image is deleted, made private or re-cropped, a preset edited; a render that
 * read the image before the change and answers after the purge would be kept by the CDN for a
 * year (a deleted or private image served to anyone). Its caller still gets it; nobody keeps it.
 */

let t: TestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const JSON_BODY = { 'Content-Type': 'application/json' };

/** A public 12 MP image and a slow preset anyone may use (a render of a second or more on a busy machine). */
async function slowRender() {
  const a = (t = await testApp());
  const res = await a.request('/presets', {
    method: 'POST',
    headers: { ...auth(a.adminKey), ...JSON_BODY },
    body: JSON.stringify({ name: 'slow', options: 'e_blur:40,g_auto,f_png' }),
  });
  expect(res.status).toBe(201);
  const id = await a.seed('sunset-12mp.jpg', { visibility: 'public' });
  // Anonymous, as a CDN asks: the answer is one a shared cache may keep.
  const pending = a.request(`/img/t_slow/${id}`);
  await expect.poll(() => a.deps.cache.stats().in_flight, { interval: 2, timeout: 10_000 }).toBe(1);
  return { a, id, pending };
}

async function answered(pending: Promise<Response>) {
  const res = await pending;
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return res.headers.get('cache-control');
}

describe('a render raced by a change to its image answers its caller, but no shared cache keeps it', () => {
  it('the image is deleted while it renders', async () => {
    const { a, id, pending } = await slowRender();
    expect((await a.request(`/images/${id}`, { method: 'DELETE', headers: auth(a.adminKey) })).status).toBe(204);
    expect(await answered(pending)).toBe('private, no-store');
  }, 30_000);

  it('the image is made private while it renders', async () => {
    const { a, id, pending } = await slowRender();
    const res = await a.request(`/images/${id}`, {
      method: 'PATCH',
      headers: { ...auth(a.adminKey), ...JSON_BODY },
      body: JSON.stringify({ visibility: 'private' }),
    });
    expect(res.status).toBe(200);
    expect(await answered(pending)).toBe('private, no-store');
  }, 30_000);

  it('its focal point moves while it renders (g_auto)', async () => {
    const { a, id, pending } = await slowRender();
    const res = await a.request(`/images/${id}/focal-point`, {
      method: 'PUT',
      headers: { ...auth(a.adminKey), ...JSON_BODY },
      body: JSON.stringify({ x: 0.1, y: 0.1 }),
    });
    expect(res.status).toBe(200);
    expect(await answered(pending)).toBe('private, no-store');
  }, 30_000);

  it('unraced, the same answer is public for a year', async () => {
    const { pending } = await slowRender();
    expect(await answered(pending)).toBe('public, max-age=31536000, immutable');
  }, 30_000);
});
