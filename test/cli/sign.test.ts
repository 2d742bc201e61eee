import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { runCli, ROOT } from '../ops/cli.js';

/**
 * `imgpath sign` refuses what POST /sign refuses (the same signDelivery), with exit code 2 and
 * the API's message, and what it prints works on a server over the same data directory.
 */

const KEY = { kid: 'k1', secret: 'cli-sign-secret-0123456789' };
let t: TestApp;
let id: string;

beforeAll(async () => {
  t = await testApp({ SIGNING_KEYS: 'k1:cli-sign-secret-0123456789' });
  id = await t.seed('dragonfly-alpha.png', { visibility: 'private' });
});
afterAll(() => t?.cleanup());

const sign = (...args: string[]) =>
  runCli(
    ['sign', ...args],
    {
      DATA_DIR: path.join(t.dir, 'data'),
      CACHE_DIR: path.join(t.dir, 'cache'),
      SIGNING_KEYS: 'k1:cli-sign-secret-0123456789',
      LOG_LEVEL: 'silent',
      IMPORT_SAMPLES: 'false',
      INBOX_DIR: 'off',
    },
    ROOT,
  );

describe('imgpath sign', () => {
  it('prints a signed URL the server accepts (without a credential)', async () => {
    const r = await sign(id, 'w_120,f_webp', '--expires', '600', '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const { path: p, expiresAt } = JSON.parse(r.stdout) as { path: string; expiresAt: number };
    expect(p).toMatch(new RegExp(`^/img/s--k1\\.[\\w-]{43}--/w_120,f_webp,exp_${expiresAt}/${id}$`));
    const res = await t.request(p);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
  });

  it.each([
    ['an unknown id', ['nope123', 'w_100'], 'image_not_found: No image nope123'],
    ['an option out of range', ['$id', 'w_0'], 'bad_option: Expected integer between 1 and 8192 for w but received "0"'],
    ['an unknown option', ['$id', 'width_100'], 'bad_option: Unknown option "width"'],
    ['a watermark that does not exist', ['$id', 'wm_ghost'], 'bad_option: Watermark image ghost does not exist'],
    ['an unsupported extension', ['$id', 'w_100', '--ext', 'tiff'], 'bad_option: Unsupported extension "tiff"'],
    ['an expiry that is not whole seconds', ['$id', 'w_100', '--expires', '1h'], '--expires expects whole seconds (1..31536000) but received 1h'],
    ['an expiry over a year', ['$id', 'w_100', '--expires', '99999999'], 'bad_request: expiresIn must be an integer number of seconds between 1 and 31536000'],
    ['an exp_ in the past', ['$id', 'w_100,exp_1000'], 'bad_request: exp_1000 is in the past'],
    [
      'an exp_ over a year',
      ['$id', 'w_100,exp_99999999999'],
      'bad_request: exp_ must be within 31536000 seconds from now, like expiresIn; exp_99999999999 is ',
    ],
  ])('refuses %s with exit code 2 and the reason', async (_what, args, message) => {
    const r = await sign(...args.map((a) => (a === '$id' ? id : a))); // ids exist only once beforeAll ran
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    if (message.endsWith(' ')) expect(r.stderr).toMatch(new RegExp(`^error: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+\n$`));
    else expect(r.stderr).toBe(`error: ${message}\n`);
  });

  it('signs a public image public-only: the URL dies when the image is made private, while a private one is signed in full', async () => {
    const pub = await t.seed('dune-2mp.jpg');
    const r = await sign(pub, 'w_130', '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const { path: p, expiresAt } = JSON.parse(r.stdout) as { path: string; expiresAt: number | null };
    expect(expiresAt).toBeNull();
    expect(p).toBe(signedImagePath(pub, 'w_130', KEY, { reach: 'public' }));
    expect((await t.request(p)).status).toBe(200);
    await t.deps.repos.images.update(pub, { visibility: 'private' });
    const dead = await t.request(p);
    expect(dead.status).toBe(404);
    expect(await dead.text()).toBe(await (await t.request(`/img/w_130/${pub}`)).text());
    const full = JSON.parse((await sign(id, 'w_131', '--json')).stdout) as { path: string; expiresAt: number };
    expect(full.path).toBe(signedImagePath(id, 'w_131', KEY, { expiresAt: full.expiresAt }));
  });
});
