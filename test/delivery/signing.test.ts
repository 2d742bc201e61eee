import { afterEach, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { testApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(() => t?.cleanup());

const OLD = { kid: 'old', secret: 'old-secret-0123456789abcdef' };
const NEW = { kid: 'new', secret: 'new-secret-0123456789abcdef' };

describe('signing keys', () => {
  it('verifies every configured key id, so a secret rotates without breaking live URLs', async () => {
    t = await testApp({ SIGNING_KEYS: `new:${NEW.secret},old:${OLD.secret}` });
    const id = await t.seed('dune-2mp.jpg');
    expect((await t.request(signedImagePath(id, 'w_100', OLD))).status).toBe(200);
    expect((await t.request(signedImagePath(id, 'w_100', NEW))).status).toBe(200);
    // Dropping the old key revokes every URL it signed.
    const unknown = { kid: 'gone', secret: 'gone-secret-0123456789abcdef' };
    expect((await t.request(signedImagePath(id, 'w_100', unknown))).status).toBe(403);
  });

  it('explains a rejected signature in development mode only', async () => {
    t = await testApp({ NODE_ENV: 'development', SIGNING_KEYS: `new:${NEW.secret}` });
    const id = await t.seed('dune-2mp.jpg');
    const good = signedImagePath(id, 'w_100', NEW);
    const res = await t.request(good.replace('w_100', 'w_101'));
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ signingString: `w_101/${id}`, reason: 'mismatch', kid: 'new', knownKids: ['new'] });
    expect(body.error).not.toHaveProperty('expected');
    const unknown = await t.request(`/img/s--old.${'A'.repeat(43)}--/w_101/${id}`);
    expect(((await unknown.json()) as { error: Record<string, unknown> }).error).toMatchObject({ reason: 'unknown_kid', kid: 'old' });
  });
});
