import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/auth/signature.js';
import { presets } from '../../src/db/schema.js';
import { createImgpath } from '../../src/client/browser.js';
import { createSigner } from '../../src/client/index.js';
import { parseDeliveryPath } from '../../src/delivery/path.js';
import { PUBLIC_ID_MAX_DEPTH, PUBLIC_ID_MAX_LENGTH, publicIdProblem } from '../../src/spec/public-id.js';
import { sample, testApp, type TestApp } from '../helpers/app.js';
import { auth, imageRows, makeUser, originalsOnDisk, upload } from './helpers.js';

const SIGNING = { kid: 'k1', secret: 'public-id-test-secret-0123456789abcdef' };

let t: TestApp;
beforeEach(async () => {
  t = await testApp({ SIGNING_KEYS: `${SIGNING.kid}:${SIGNING.secret}` });
});
afterEach(async () => {
  await t.cleanup();
});

const json = (key: string, method: string, body: unknown) => ({
  method,
  headers: auth(key, { 'Content-Type': 'application/json' }),
  body: JSON.stringify(body),
});
const api = (id: string) => `/images/${encodeURIComponent(id)}`;

describe('the public id grammar', () => {
  const valid = [
    'cat',
    'blog/2024/cat',
    'a-b_c/D-9',
    'v1.2/cat',
    'photos/2024.06/x',
    'my_photos/cat',
    'blog/w_300',
    'x'.repeat(PUBLIC_ID_MAX_LENGTH),
    Array.from({ length: PUBLIC_ID_MAX_DEPTH }, () => 'd').join('/'),
  ];
  const invalid: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['traversal', 'blog/../etc/passwd', /start with a dot/],
    ['a dot segment', 'blog/./cat', /start with a dot/],
    ['a hidden file', '.hidden/cat', /start with a dot/],
    ['an encoded slash', 'blog%2Fcat', /A-Z a-z 0-9/],
    ['a backslash', 'blog\\cat', /A-Z a-z 0-9/],
    ['unicode', 'blog/café', /A-Z a-z 0-9/],
    ['a space', 'blog/my cat', /A-Z a-z 0-9/],
    ['too long', 'x'.repeat(PUBLIC_ID_MAX_LENGTH + 1), /at most 255 characters/],
    ['too deep', Array.from({ length: PUBLIC_ID_MAX_DEPTH + 1 }, () => 'd').join('/'), /at most 10 segments/],
    ['a trailing slash', 'blog/cat/', /empty segments/],
    ['a leading slash', '/blog/cat', /empty segments/],
    ['a double slash', 'blog//cat', /empty segments/],
    ['an origin path', '@x', /A-Z a-z 0-9/],
    ['an origin further down', 'blog/@x/cat', /A-Z a-z 0-9/],
    ['a comma', 'a,b/cat', /A-Z a-z 0-9/],
    ['a dot in the last segment', 'blog/cat.final', /last segment may not contain a dot/],
    ['an options segment first', 'w_300/cat', /reads as delivery options/],
    ['a preset first', 't_thumb/cat', /reads as delivery options/],
    ['a signature first', 's--abc--/cat', /signature/],
  ];

  it.each(valid)('accepts %s', (id) => {
    expect(publicIdProblem(id)).toBeUndefined();
  });
  it.each(invalid)('refuses %s', (_name, id, message) => {
    expect(publicIdProblem(id)).toMatch(message);
  });

  it('upload and PATCH refuse the same ids with 400 and say why; nothing is stored', async () => {
    for (const [, id, message] of invalid.filter(([, id]) => id !== '')) {
      const { res, body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: id });
      expect(res.status, id).toBe(400);
      expect(body.error.message, id).toMatch(message);
    }
    expect(imageRows(t)).toHaveLength(0);
    expect(originalsOnDisk(t)).toHaveLength(0);
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    const res = await t.request(api(body.id), json(t.adminKey, 'PATCH', { publicId: 'blog/../x' }));
    expect(res.status).toBe(400);
  });

  it('delivery paths split options, id and extension by the same rule', () => {
    expect(parseDeliveryPath('w_300/blog/2024/cat.jpg', false)).toMatchObject({
      options: 'w_300',
      id: 'blog/2024/cat',
      ext: 'jpg',
      signedPart: 'w_300/blog/2024/cat.jpg',
    });
    expect(parseDeliveryPath('blog/2024/cat.jpg', false)).toMatchObject({ options: '', id: 'blog/2024/cat', ext: 'jpg' });
    expect(parseDeliveryPath('v1.2/cat.webp', false)).toMatchObject({ options: '', id: 'v1.2/cat', ext: 'webp' });
    expect(parseDeliveryPath('blog/cat', false)).toMatchObject({ options: '', id: 'blog/cat', ext: undefined });
    expect(parseDeliveryPath('t_card,f_webp/blog/cat.json', false)).toMatchObject({ options: 't_card,f_webp', id: 'blog/cat', dryRun: true });
    expect(parseDeliveryPath('abc123', false)).toMatchObject({ options: '', id: 'abc123' });
    expect(parseDeliveryPath('w_100/abc123.png', false)).toMatchObject({ options: 'w_100', id: 'abc123', ext: 'png' });
    expect(parseDeliveryPath('w_100/@blog/a/b.jpg', false)).toMatchObject({ origin: { name: 'blog', path: 'a/b.jpg' } });
    expect(() => parseDeliveryPath('blog/../cat', false)).toThrow(/Invalid image id/);
    expect(() => parseDeliveryPath('blog%2Fcat', false)).toThrow(/Invalid image id/);
  });
});

describe('delivery by public id', () => {
  it('serves /img/{options}/{public id}.{ext} like the random id: same bytes, ETag and cache entry', async () => {
    const { res: up, body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'blog/2024/cat' });
    expect(up.status).toBe(201);
    expect(body.publicId).toBe('blog/2024/cat');
    expect(body.urls.original).toMatch(/\/img\/blog\/2024\/cat$/);
    expect(body.urls.info).toMatch(/\/info\/blog\/2024\/cat$/);

    const byName = await t.request('/img/w_300,h_200,c_fill/blog/2024/cat.webp', { headers: auth(t.adminKey) });
    expect(byName.status).toBe(200);
    expect(byName.headers.get('content-type')).toBe('image/webp');
    expect(byName.headers.get('cache-tag')).toBe(`img-${body.id}`);
    const meta = await sharp(Buffer.from(await byName.clone().arrayBuffer())).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([300, 200, 'webp']);

    // The same image and options by random id: one cache entry (keyed by the random id), one ETag.
    const byId = await t.request(`/img/w_300,h_200,c_fill/${body.id}.webp`, { headers: auth(t.adminKey) });
    expect(byId.headers.get('x-cache')).toMatch(/^HIT/);
    expect(byId.headers.get('etag')).toBe(byName.headers.get('etag'));
    expect(Buffer.from(await byId.arrayBuffer()).equals(Buffer.from(await byName.arrayBuffer()))).toBe(true);

    // No options, a preset-free original, a dry run and /info.
    expect((await t.request('/img/blog/2024/cat')).status).toBe(200);
    const dry = await t.request('/img/w_100/blog/2024/cat.json', { headers: auth(t.adminKey) });
    expect((await dry.json()) as { id: string; signing: { string: string } }).toMatchObject({ id: body.id, signing: { string: 'w_100/blog/2024/cat' } });
    const info = await t.request('/info/blog/2024/cat');
    expect(info.status).toBe(200);
    expect((await info.json()) as { id: string; width: number }).toMatchObject({ id: body.id, width: 1680 });

    // A purge by random id empties what public-id URLs filled.
    await t.deps.cache.purgeImage(body.id);
    expect((await t.request('/img/w_300,h_200,c_fill/blog/2024/cat.webp', { headers: auth(t.adminKey) })).headers.get('x-cache')).toBe('MISS');
  });

  it('answers 404 for unknown names, 400 for bad ids and mistyped options', async () => {
    await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'blog/cat' });
    expect((await t.request('/img/blog/dog')).status).toBe(404);
    expect((await t.request('/info/blog/dog')).status).toBe(404);
    // `..` never reaches the server as a segment (URL parsing resolves it: this is /img/cat) ...
    expect((await t.request('/img/blog/../cat')).status).toBe(404);
    // ... and whatever does arrive unresolved is refused by the id rule.
    expect((await t.request('/img/blog/.hidden')).status).toBe(400);
    expect((await t.request('/img/blog%2Fcat')).status).toBe(400);
    expect((await t.request('/img/blog/cat/')).status).toBe(404);
    // `/img/wdth_300/cat` is a public id that does not exist, or a typo of w_: the typo reads better.
    const typo = await t.request('/img/wdth_300/cat');
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { error: { code: string } }).error.code).toBe('bad_option');
    // Anonymous callers keep their limits by public id too: free resizing needs a key or a signature.
    expect((await t.request('/img/w_123/blog/cat')).status).toBe(401);
  });

  it('keeps private images with public ids a 404 to strangers, by name, /info and the API', async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    const { body } = await upload(t, alice.key, 'dune-2mp.jpg', { publicId: 'secret/plan', visibility: 'private' });
    expect(body.urls.original).toMatch(/\/img\/s--[^/]+--\/exp_\d+\/secret\/plan$/);
    for (const headers of [{}, auth(bob.key)]) {
      expect((await t.request('/img/secret/plan', { headers })).status).toBe(404);
      expect((await t.request('/info/secret/plan', { headers })).status).toBe(404);
    }
    expect((await t.request(api('secret/plan'), { headers: auth(bob.key) })).status).toBe(404);
    expect((await t.request('/img/secret/plan', { headers: auth(alice.key) })).status).toBe(200);
    // The URL the owner was given works in a browser without a key.
    expect((await t.request(body.urls.original.replace(/^https?:\/\/[^/]+/, ''))).status).toBe(200);
  });
});

describe('signing a public id', () => {
  it('round-trips: POST /sign, the server signer, the Node client signer and the browser builder agree on the path text', async () => {
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'blog/2024/cat' });
    const signed = await t.request('/sign', json(t.adminKey, 'POST', { id: 'blog/2024/cat', options: 'e_blur:3,w_320', ext: 'webp' }));
    expect(signed.status).toBe(200);
    const { path } = (await signed.json()) as { path: string };
    expect(path).toMatch(/^\/img\/s--k1\.[^/]+--\/e_blur:3,w_320\/blog\/2024\/cat\.webp$/);
    // The image is public: the server signs public-only; the operator's signers sign in full. Same path text.
    expect(path).toBe(signedImagePath('blog/2024/cat', 'e_blur:3,w_320', SIGNING, { ext: 'webp', reach: 'public' }));
    const client = createImgpath({ baseUrl: '', signer: createSigner(SIGNING) });
    const full = client.url('blog/2024/cat', { w: 320, e_blur: 3 }, { ext: 'webp' });
    expect(full).toBe(signedImagePath('blog/2024/cat', 'e_blur:3,w_320', SIGNING, { ext: 'webp' }));
    expect(full.replace(/^\/img\/s--[^/]+--/, '')).toBe(path.replace(/^\/img\/s--[^/]+--/, ''));
    expect((await t.request(full)).status).toBe(200);
    const res = await t.request(path);
    expect(res.status).toBe(200);
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBe(320);
    // The signature covers the exact path text: the same options on the random id need their own.
    const tampered = path.replace('blog/2024/cat', body.id);
    expect((await t.request(tampered)).status).toBe(403);
    expect((await t.request(signedImagePath(body.id, 'e_blur:3,w_320', SIGNING, { ext: 'webp' }))).status).toBe(200);
  });

  it('the browser builder writes public ids as paths and refuses bad ones before a page does', () => {
    const client = createImgpath({ baseUrl: 'https://img.example' });
    expect(client.url('blog/2024/cat', { w: 300 }, { ext: 'jpg' })).toBe('https://img.example/img/w_300/blog/2024/cat.jpg');
    expect(client.loader({ src: 'v1.2/cat.webp', width: 640 })).toBe('https://img.example/img/w_640/v1.2/cat.webp');
    expect(client.loader({ src: 'v1.2/cat', width: 640 })).toBe('https://img.example/img/f_auto,w_640/v1.2/cat');
    expect(() => client.url('blog/../cat')).toThrow(/public id/);
    expect(() => client.url('w_300/cat')).toThrow(/reads as delivery options/);
  });

  it('policy tokens name the image, not the name: a rename keeps them working', async () => {
    const alice = makeUser(t, 'alice');
    await upload(t, alice.key, 'dune-2mp.jpg', { publicId: 'team/a', visibility: 'private' });
    const res = await t.request('/sign', json(alice.key, 'POST', { ids: ['team/a'], policy: { width: { max: 400 } } }));
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect((await t.request(`/img/w_200/team/a?token=${token}`)).status).toBe(200);
    expect((await t.request(api('team/a'), json(alice.key, 'PATCH', { publicId: 'team/b' }))).status).toBe(200);
    expect((await t.request(`/img/w_200/team/b?token=${token}`)).status).toBe(200);
  });
});

describe('one namespace per server', () => {
  it('refuses a taken name with 409, whoever holds it and whatever its visibility, without saying whose', async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    await upload(t, alice.key, 'dune-2mp.jpg', { publicId: 'blog/cat', visibility: 'private' });
    const { res, body } = await upload(t, bob.key, 'dragonfly-alpha.png', { publicId: 'blog/cat' });
    expect(res.status).toBe(409);
    expect(body.error).toMatchObject({ code: 'conflict', field: 'publicId' });
    expect(JSON.stringify(body)).not.toMatch(/alice|ownerId/);
    expect(originalsOnDisk(t)).toHaveLength(1); // refused before the write
    // Another user's random id is taken too: /img/{that id} must keep naming that image.
    const { body: own } = await upload(t, alice.key, 'friends-portrait.jpg');
    const { res: squat } = await upload(t, bob.key, 'dragonfly-alpha.png', { publicId: own.id });
    expect(squat.status).toBe(400); // a one-segment name shaped like a generated id is refused outright
    // By PATCH too.
    const { body: bobs } = await upload(t, bob.key, 'dragonfly-alpha.png', { publicId: 'bob/fly' });
    expect((await t.request(api(bobs.id), json(bob.key, 'PATCH', { publicId: 'blog/cat' }))).status).toBe(409);
    // The same name under another owner is still one image for anonymous /img/blog/cat.
    expect((await t.request('/img/bob/fly')).status).toBe(200);
  });

  it('uploads of different bytes racing for one name: one row, and no file left by the losers', async () => {
    const names = ['dune-2mp.jpg', 'dragonfly-alpha.png', 'friends-portrait.jpg'];
    const before = originalsOnDisk(t).length;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(t, t.adminKey, names[i % 3], { publicId: 'race/one' })));
    const statuses = results.map((r) => r.res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.every((s) => s === 201 || s === 200 || s === 409)).toBe(true);
    const winner = results.find((r) => r.res.status === 201)!.body;
    // Exactly the winner's original was added: the refused bytes left nothing on disk.
    expect(originalsOnDisk(t).length).toBe(before + 1);
    expect(
      imageRows(t)
        .filter((r) => r.publicId === 'race/one')
        .map((r) => r.id),
    ).toEqual([winner.id]);
  });

  it('an old signed URL never opens another image: deleted names are retired, generated-id shapes refused', async () => {
    const KEY = t.deps.secrets.signingKeys[0];
    const { body: mine } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'team/q3-report' });
    const signed = signedImagePath('team/q3-report', 'w_200', KEY);
    expect((await t.request(signed)).status).toBe(200);
    await t.request(`/images/${mine.id}`, { method: 'DELETE', headers: auth(t.adminKey) });
    const alice = makeUser(t, 'alice2');
    expect((await upload(t, alice.key, 'friends-portrait.jpg', { publicId: 'team/q3-report', visibility: 'private' })).res.status).toBe(409);
    expect((await t.request(signed)).status).toBe(404);
    // Names shaped like random (12) or remote-origin (22) ids cannot be claimed ahead of the image they name.
    for (const name of ['abcdefghijkl', 'qjWeoIRWSdV0T6Fd1D2d7T']) {
      const { res, body } = await upload(t, alice.key, 'dragonfly-alpha.png', { publicId: name });
      expect(res.status, name).toBe(400);
      expect(JSON.stringify(body.error)).toContain('generated id');
    }
  });

  it('the same bytes again take the name when the image has none, and say which image they are when it has another', async () => {
    const { body: first } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    const { res, body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'dunes/one' });
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ id: first.id, publicId: 'dunes/one', duplicate: true });
    const again = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'dunes/one' });
    expect(again.res.status).toBe(200);
    const other = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'dunes/two' });
    expect(other.res.status).toBe(409);
    expect(other.body.error).toMatchObject({ id: first.id, publicId: 'dunes/one' });
  });

  it('takes publicId as a query parameter on a raw-body upload', async () => {
    const res = await t.request('/images?publicId=raw%2Fdune', {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'image/jpeg' }),
      body: new Uint8Array(sample('dune-2mp.jpg')),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { publicId: string }).publicId).toBe('raw/dune');
    expect((await t.request('/img/raw/dune')).status).toBe(200);
  });
});

describe('the library API by public id', () => {
  it('GET, PATCH and DELETE take the public id with its slashes encoded; the random id keeps working', async () => {
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'blog/2024/cat' });
    const got = await t.request(api('blog/2024/cat'), { headers: auth(t.adminKey) });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { id: string }).id).toBe(body.id);
    expect((await t.request(`/images/${body.id}`, { headers: auth(t.adminKey) })).status).toBe(200);
    // Unencoded slashes are not this route (they would collide with /images/{id}/transform and friends).
    expect((await t.request('/images/blog/2024/cat', { headers: auth(t.adminKey) })).status).toBe(404);
    const patched = await t.request(api('blog/2024/cat'), json(t.adminKey, 'PATCH', { tags: ['cats'] }));
    expect((await patched.json()) as { tags: string[]; publicId: string }).toMatchObject({ tags: ['cats'], publicId: 'blog/2024/cat' });
    expect((await t.request(api('blog/2024/cat'), { method: 'DELETE', headers: auth(t.adminKey) })).status).toBe(204);
    expect(imageRows(t)).toHaveLength(0);
    expect((await t.request('/img/blog/2024/cat')).status).toBe(404);
    // The name is retired with its image, never given out again: a signed URL made for the old
    // image must not open a new one (a signature covers the name, not the image).
    expect((await upload(t, t.adminKey, 'dragonfly-alpha.png', { publicId: 'blog/2024/cat' })).res.status).toBe(409);
  });
});

describe('renaming', () => {
  it('keeps the old name as a 301 to the new URL (options, extension and query kept), for /img and /info', async () => {
    t.deps.db.insert(presets).values({ name: 'thumbnail', options: 'w_80,h_80,c_fill' }).run();
    const { body } = await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'old/cat' });
    const warm = await t.request('/img/t_thumbnail/old/cat.webp');
    const res = await t.request(api('old/cat'), json(t.adminKey, 'PATCH', { publicId: 'new/cat' }));
    expect(res.status).toBe(200);
    expect((await res.json()) as { publicId: string; url: string }).toMatchObject({ publicId: 'new/cat', url: expect.stringMatching(/\/img\/new\/cat$/) });

    const moved = await t.request('/img/t_thumbnail/old/cat.webp?v=2');
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toMatch(/^https?:\/\/[^/]+\/img\/t_thumbnail\/new\/cat\.webp\?v=2$/);
    expect(moved.headers.get('cache-control')).toBe('public, max-age=86400');
    const info = await t.request('/info/old/cat');
    expect(info.status).toBe(301);
    expect(info.headers.get('location')).toMatch(/\/info\/new\/cat$/);
    // The new name serves the same cached rendition (the cache is keyed by the random id).
    const now = await t.request('/img/t_thumbnail/new/cat.webp');
    expect(now.headers.get('etag')).toBe(warm.headers.get('etag'));
    expect(now.headers.get('x-cache')).toMatch(/^HIT/);

    // The old name stays reserved for this image: another may not take it.
    expect((await upload(t, t.adminKey, 'dragonfly-alpha.png', { publicId: 'old/cat' })).res.status).toBe(409);
    // Renamed twice: both old names go straight to the current one. Taking a name back ends its redirect.
    await t.request(api('new/cat'), json(t.adminKey, 'PATCH', { publicId: 'third/cat' }));
    expect((await t.request('/img/old/cat')).headers.get('location')).toMatch(/\/img\/third\/cat$/);
    expect((await t.request('/img/new/cat')).headers.get('location')).toMatch(/\/img\/third\/cat$/);
    await t.request(api('third/cat'), json(t.adminKey, 'PATCH', { publicId: 'old/cat' }));
    expect((await t.request('/img/old/cat')).status).toBe(200);
    expect((await t.request('/img/third/cat')).headers.get('location')).toMatch(/\/img\/old\/cat$/);
    // Removing the public id sends its old name to the random id.
    await t.request(api('old/cat'), json(t.adminKey, 'PATCH', { publicId: null }));
    expect((await t.request('/img/old/cat')).headers.get('location')).toMatch(new RegExp(`/img/${body.id}$`));
    // Deleting the image retires every name it held: gone (404), and never given to another image.
    await t.request(`/images/${body.id}`, { method: 'DELETE', headers: auth(t.adminKey) });
    expect((await t.request('/img/new/cat')).status).toBe(404);
    expect((await t.request('/img/old/cat')).status).toBe(404);
    for (const name of ['new/cat', 'old/cat', 'third/cat']) {
      expect((await upload(t, t.adminKey, 'dragonfly-alpha.png', { publicId: name })).res.status, name).toBe(409);
    }
  });

  it("re-signs a signed URL for the new path, and shows a private image's old name to nobody else", async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    await upload(t, alice.key, 'dune-2mp.jpg', { publicId: 'p/old', visibility: 'private' });
    const old = signedImagePath('p/old', 'w_200', SIGNING, { ext: 'png' });
    expect((await t.request(old)).status).toBe(200);
    await t.request(api('p/old'), json(alice.key, 'PATCH', { publicId: 'p/new' }));
    const moved = await t.request(old);
    expect(moved.status).toBe(301);
    expect(moved.headers.get('cache-control')).toBe('private, no-store');
    const location = new URL(moved.headers.get('location')!);
    expect(location.pathname).toBe(signedImagePath('p/new', 'w_200', SIGNING, { ext: 'png' }));
    expect((await t.request(location.pathname)).status).toBe(200);
    // Without the signature, a stranger learns nothing about the old name.
    expect((await t.request('/img/p/old', { headers: auth(bob.key) })).status).toBe(404);
    expect((await t.request('/info/p/old')).status).toBe(404);
  });
});

describe('/random answers', () => {
  it('point at the public id', async () => {
    await upload(t, t.adminKey, 'dune-2mp.jpg', { publicId: 'random/dune' });
    const res = await t.request('/random.json', { headers: auth(t.adminKey) });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toMatch(/\/img\/[^"]*random\/dune/);
  });
});
