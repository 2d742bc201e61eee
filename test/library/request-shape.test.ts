import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample, testApp, type TestApp } from '../helpers/app.js';
import { auth } from './helpers.js';

/** What a request of the wrong shape is told: the status and the code agree, and the message says what is wrong. */

let t: TestApp;
let id: string;
beforeAll(async () => {
  t = await testApp();
  id = await t.seed('dune-2mp.jpg');
});
afterAll(() => t.cleanup());

describe('a query parameter given twice is named as such, on every route that validates its query', () => {
  it.each([
    ['/images?page=1&page=2', 'page'],
    ['/images?limit=5&limit=500', 'limit'],
    ['/random.json?count=1&count=2', 'count'],
    ['/images/{id}?format=png&format=webp', 'format'],
  ])('%s', async (url, name) => {
    const res = await t.request(url.replace('{id}', id), { headers: auth(t.adminKey) });
    const body = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toContain(`${name}: given 2 times in the query string`);
  });

  it('a parameter that may repeat (tags) is not told to be given once: its own problem is named', async () => {
    const res = await t.request(`/images?tags=a&tags=${'x'.repeat(300)}`, {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'image/jpeg' }),
      body: new Uint8Array(sample('dune-2mp.jpg')),
    });
    expect(res.status).toBe(400);
    const { message } = ((await res.json()) as any).error;
    expect(message).not.toContain('given 2 times');
    expect(message).toContain('a tag of 1..64');
  });

  it('one value is still validated as before', async () => {
    const res = await t.request('/images?page=x', { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).not.toContain('given');
  });
});

describe("Hono's own refusals carry the code their status means", () => {
  it('a form where JSON belongs: 415 unsupported_media_type', async () => {
    const res = await t.request('/register', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=a&password=password123',
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as any).error.code).toBe('unsupported_media_type');
  });
});
