import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { testApp, type TestApp } from '../helpers/app.js';

/**
 * One signed URL, one spelling. Node's base64url decoder skips characters it does not know and
 * ignores the spare bits of the last one, so without a strict comparison many different
 * signature strings verify: each is a fresh CDN cache key for the same render.
 */

const KEY = { kid: 'k1', secret: 'a-signing-secret-0123456789' };
let t: TestApp;
let id: string;
let good: string;
let mac: string;

beforeAll(async () => {
  t = await testApp({ SIGNING_KEYS: `k1:${KEY.secret}` });
  id = await t.seed('dune-2mp.jpg', { visibility: 'private' });
  good = signedImagePath(id, 'w_100', KEY);
  mac = good.match(/^\/img\/s--k1\.([^/]*)--\//)![1];
});
afterAll(() => t.cleanup());

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('signature spelling', () => {
  it('the exact signature works', async () => {
    expect((await t.request(good)).status).toBe(200);
  });

  it.each<[string, () => string]>([
    ['padding appended', () => `${mac}=`],
    ['a character base64url does not have', () => `${mac.slice(0, 10)}!${mac.slice(10)}`],
    ['standard base64 characters', () => `${mac}+`],
    [
      'the last character with different spare bits',
      () => {
        const last = B64URL.indexOf(mac.at(-1)!);
        return mac.slice(0, -1) + B64URL[last ^ 1];
      },
    ],
  ])('%s → 403', async (_name, variant) => {
    const forged = good.replace(mac, variant());
    expect(forged).not.toBe(good);
    expect((await t.request(forged)).status).toBe(403);
  });
});
