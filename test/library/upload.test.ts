import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { imageTags } from '../../src/db/schema.js';
import { issuePolicyToken, issueSession } from '../../src/auth/tokens.js';
import { ingest } from '../../src/library/ingest.js';
import { sample, testApp, type TestApp } from '../helpers/app.js';
import { auth, imageRows, makeUser, multipart, originalsOnDisk, upload } from './helpers.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
});

/** dragonfly-alpha.png is 2.35 MB: over a 2 MB limit. */
async function withTwoMegabyteLimit() {
  await t.cleanup();
  t = await testApp({ MAX_UPLOAD_MB: '2' });
  return sample('dragonfly-alpha.png');
}
afterEach(async () => {
  await t.cleanup();
});

describe('file names are labels: the last path segment, at most 255 characters', () => {
  it.each([
    ['../../etc/passwd.png', 'passwd.png'],
    ['C:\\Users\\me\\cat.png', 'cat.png'],
    ['plain.png', 'plain.png'],
    [`${'n'.repeat(300)}.png`, 'n'.repeat(255)],
    // Cut between code points: never half an emoji (found by a reviewer).
    [`${'a'.repeat(254)}😀.png`, 'a'.repeat(254)],
    [`${'a'.repeat(253)}😀.png`, `${'a'.repeat(253)}😀`],
    // A path ending in a folder names no file: stored without a name.
    ['dir/', null],
    ['/', null],
  ])('%# %s, from a raw body and from a multipart part', async (sent, kept) => {
    const raw = await t.request(`/images?filename=${encodeURIComponent(sent)}`, {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'image/jpeg' }),
      body: new Uint8Array(sample('dune-2mp.jpg')),
    });
    expect(raw.status).toBe(201);
    expect(((await raw.json()) as any).filename).toBe(kept);
    // Another owner, so the same bytes are a new image and not a duplicate answering the first name.
    const form = await t.request('/images', { method: 'POST', headers: auth(makeUser(t, 'other').key), body: multipart(sent, {}, sample('dune-2mp.jpg')) });
    expect(((await form.json()) as any).filename).toBe(kept);
  });

  it('names from the drop folder, the CLI and remote origins skip the API: ingest cleans them instead of refusing', async () => {
    const { image } = await ingest(t.deps, sample('dune-2mp.jpg'), { filename: 'in\x1b[31mbox/\u202eevil\r\n.png' });
    expect(image.filename).toBe('evil.png');
    const bare = await ingest(t.deps, sample('friends-portrait.jpg'), { filename: 'folder/' });
    expect(bare.image.filename).toBeNull();
  });
});

describe('POST /images', () => {
  it('stores a multipart upload and answers what a page needs', async () => {
    const added: string[] = [];
    t.deps.events.added.push((img) => added.push(img.id));
    const alice = makeUser(t, 'alice');
    const { res, body } = await upload(t, alice.key, 'dune-2mp.jpg', { tags: ['Desert', 'sand'], collection: 'trips' });
    expect(res.status).toBe(201);
    expect(added).toEqual([body.id]);
    expect(res.headers.get('location')).toBe(`/images/${body.id}`);
    expect(body).toMatchObject({
      width: 1680,
      height: 1050,
      format: 'jpeg',
      bytes: sample('dune-2mp.jpg').length,
      ownerId: alice.id,
      visibility: 'public',
      collection: 'trips',
      tags: ['desert', 'sand'],
      filename: 'dune-2mp.jpg',
      orientation: 'landscape',
      duplicate: false,
    });
    expect(body.placeholder.thumbhash).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(body.placeholder.dataUri).toMatch(/^data:image\/png;base64,/);
    expect(body.placeholder.dominant).toMatch(/^#[0-9a-f]{6}$/);
    // Public original: a plain URL; renditions of arbitrary options: signed (anonymous callers may not choose options).
    expect(body.urls.original).toBe(`http://localhost/img/${body.id}`);
    expect(body.urls.info).toBe(`http://localhost/info/${body.id}`);
    expect(body.urls.renditions.thumbnail).toMatch(/^http:\/\/localhost\/img\/s--[^/]+--\/w_200,h_200,c_fill\//);
    expect(originalsOnDisk(t)).toHaveLength(1);
    const tags = t.deps.db
      .select()
      .from(imageTags)
      .all()
      .map((r) => r.tag)
      .sort();
    expect(tags).toEqual(['desert', 'sand']);
  });

  it('hands out URLs that work without credentials, signed where the image is private', async () => {
    const alice = makeUser(t, 'alice');
    const { body } = await upload(t, alice.key, 'dragonfly-alpha.png', { visibility: 'private' });
    expect(body.visibility).toBe('private');
    expect(body.urls.original).toMatch(/\/img\/s--/);
    const orig = await t.request(body.urls.original);
    expect(orig.status).toBe(200);
    const thumb = await t.request(body.urls.renditions.thumbnail);
    expect(thumb.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([200, 200]);
    // The unsigned form of the same private image is not revealed.
    expect((await t.request(`/img/${body.id}`)).status).toBe(404);
  });

  it('accepts a logged-in user (session JWT) and refuses a policy token', async () => {
    const alice = makeUser(t, 'alice');
    const { token } = await issueSession(t.deps, alice.id);
    const res = await t.request('/images', { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: multipart('friends-portrait.jpg') });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).ownerId).toBe(alice.id);
    const list = await t.request('/images', { headers: { Authorization: `Bearer ${token}` } });
    expect(((await list.json()) as any).total).toBe(1);
    const policy = await issuePolicyToken(t.deps, { owner: alice.id }, 600, { kind: 'user', userId: alice.id });
    const refused = await t.request('/images', { method: 'POST', headers: { Authorization: `Bearer ${policy.token}` }, body: multipart('dune-2mp.jpg') });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.code).toBe('policy_token_not_allowed');
  });

  it('accepts the image as a raw body with fields in the query', async () => {
    const res = await t.request('/images?tags=a,b&tags=c&collection=raw&visibility=private&filename=x.png', {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'image/png' }),
      body: new Uint8Array(sample('dragonfly-alpha.png')),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      format: 'png',
      width: 1000,
      height: 750,
      hasAlpha: true,
      tags: ['a', 'b', 'c'],
      collection: 'raw',
      visibility: 'private',
      filename: 'x.png',
      ownerId: null,
    });
  });

  it('sniffs the type from the bytes, not the Content-Type', async () => {
    const res = await t.request('/images', {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'text/plain' }),
      body: new Uint8Array(sample('dune-2mp.jpg')),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).format).toBe('jpeg');
  });

  it('answers 200 with the same image for the same bytes from the same owner, a new image for another owner', async () => {
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    const first = await upload(t, alice.key, 'dune-2mp.jpg');
    const again = await upload(t, alice.key, 'dune-2mp.jpg', { tags: 'ignored' });
    expect(again.res.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.duplicate).toBe(true);
    const bobs = await upload(t, bob.key, 'dune-2mp.jpg');
    expect(bobs.res.status).toBe(201);
    expect(bobs.body.id).not.toBe(first.body.id);
    // Content-addressed: one file for both owners.
    expect(imageRows(t)).toHaveLength(2);
    expect(originalsOnDisk(t)).toHaveLength(1);
  });

  it('concurrent uploads of the same file both succeed with one row and one file', async () => {
    const alice = makeUser(t, 'alice');
    const results = await Promise.all([1, 2, 3, 4].map(() => upload(t, alice.key, 'friends-portrait.jpg')));
    expect(results.map((r) => r.res.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(imageRows(t)).toHaveLength(1);
    expect(originalsOnDisk(t)).toHaveLength(1);
  });

  describe('refused uploads leave nothing behind', () => {
    afterEach(() => {
      expect(imageRows(t)).toHaveLength(0);
      expect(originalsOnDisk(t)).toHaveLength(0);
    });

    it('415 for bytes that are not an image', async () => {
      const res = await t.request('/images', {
        method: 'POST',
        headers: auth(t.adminKey),
        body: multipart('notes.txt', {}, Buffer.from('hello, I am not a picture'.repeat(20))),
      });
      expect(res.status).toBe(415);
      expect(((await res.json()) as any).error.code).toBe('unsupported_media_type');
    });

    it('422 for a truncated JPEG', async () => {
      const res = await t.request('/images', {
        method: 'POST',
        headers: auth(t.adminKey),
        body: multipart('broken.jpg', {}, sample('dune-2mp.jpg').subarray(0, 20_000)),
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as any).error.code).toBe('corrupt_image');
    });

    it.each(['gif'] as const)('422 for an animated %s whose first frame decodes and a later one does not', async (format) => {
      // Noise frames (deterministic), then 8 bytes flipped in the later frames' data at the first
      // offset where the first frame still decodes at upload's standard and an animated render fails:
      // accepted before, then every request for it failed (found by a reviewer).
      let seed = 7;
      const noise = Buffer.alloc(64 * 64 * 4 * 3, 0).map(() => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 23);
      const whole = await sharp(noise, { raw: { width: 64, height: 256, channels: 3, pageHeight: 64 } })
        [format]({ loop: 0 })
        .toBuffer();
      let broken: Buffer | undefined;
      for (let at = Math.floor(whole.length * 0.6); at < whole.length - 16 && !broken; at += 97) {
        const b = Buffer.from(whole);
        for (let i = 0; i < 8; i++) b[at + i] ^= 0xff;
        const first = await sharp(b, { failOn: 'warning' })
          .resize(64)
          .raw()
          .toBuffer()
          .then(
            () => true,
            () => false,
          );
        const all = await sharp(b, { failOn: 'error', animated: true })
          .resize(32)
          .raw()
          .toBuffer()
          .then(
            () => true,
            () => false,
          );
        if (first && !all) broken = b;
      }
      expect(broken, 'a damaged later frame was made').toBeDefined();
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: multipart(`anim.${format}`, {}, broken) });
      expect(res.status).toBe(422);
      expect(((await res.json()) as any).error.code).toBe('corrupt_image');
    });

    it('413 from Content-Length before reading', async () => {
      await withTwoMegabyteLimit();
      const res = await t.request('/images', {
        method: 'POST',
        headers: auth(t.adminKey, { 'Content-Type': 'image/png', 'Content-Length': String(sample('dragonfly-alpha.png').length) }),
        body: new Uint8Array(sample('dragonfly-alpha.png')),
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as any).error).toMatchObject({ code: 'too_large', limit: 2 * 1024 * 1024 });
    });

    it('413 while reading a body that has no Content-Length', async () => {
      const png = await withTwoMegabyteLimit();
      const total = 20 * 1024 * 1024;
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(ctrl) {
          if (sent >= total) return ctrl.close();
          ctrl.enqueue(new Uint8Array(png.subarray(0, 256 * 1024)));
          sent += 256 * 1024;
        },
      });
      const res = await t.request('/images', {
        method: 'POST',
        headers: auth(t.adminKey, { 'Content-Type': 'image/jpeg' }),
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      // Cut off soon after the limit, not after the whole body.
      expect(sent).toBeLessThan(total / 4);
    });

    it('413 for a multipart file over the limit', async () => {
      await withTwoMegabyteLimit();
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: multipart('dragonfly-alpha.png') });
      expect(res.status).toBe(413);
    });

    it('413 past the pixel limit', async () => {
      await t.cleanup();
      t = await testApp({ MAX_INPUT_PIXELS: '1000000' });
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: multipart('dune-2mp.jpg') });
      expect(res.status).toBe(413);
    });

    it('400 for a multipart body without a file part, or an empty raw body', async () => {
      const form = new FormData();
      form.set('tags', 'x');
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: form });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe('missing_file');
      const empty = await t.request('/images', { method: 'POST', headers: auth(t.adminKey, { 'Content-Type': 'image/png' }) });
      expect(empty.status).toBe(400);
    });

    it('400 for a multipart body with more than one image, in any mix of "file" and "image" parts', async () => {
      for (const names of [
        ['file', 'file'],
        ['image', 'image'],
        ['image', 'file'],
        ['file', 'image', 'image'],
      ]) {
        const form = new FormData();
        for (const name of names) form.append(name, new Blob([new Uint8Array(sample('dune-2mp.jpg'))]), 'x.jpg');
        const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: form });
        expect(res.status, names.join('+')).toBe(400);
        expect(((await res.json()) as any).error).toMatchObject({ code: 'too_many_files', field: 'file' });
      }
    });

    it('400 empty_body for an empty file part, as for an empty raw body', async () => {
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: multipart('empty.png', {}, Buffer.alloc(0)) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe('empty_body');
    });

    it('400 for a file name with control characters or bidirectional overrides, by every way a name arrives', async () => {
      for (const name of ['a\x01b.png', 'x\x1b[31mred.png', 'a\r\nSet-Cookie: a=b.png', 'del\x7f.png', 'c1\x85.png', 'gpj\u202e.exe', 'iso\u2066.png']) {
        const raw = await t.request(`/images?filename=${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: auth(t.adminKey, { 'Content-Type': 'image/jpeg' }),
          body: new Uint8Array(sample('dune-2mp.jpg')),
        });
        expect(raw.status, JSON.stringify(name)).toBe(400);
        expect(((await raw.json()) as any).error.message).toContain('filename');
        const form = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: multipart(name, {}, sample('dune-2mp.jpg')) });
        // undici's FormData writes CR, LF and " in a part's name escaped, so those arrive clean; the rest is refused.
        if (form.status !== 400)
          expect(((await form.json()) as any).filename, JSON.stringify(name)).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
      }
    });

    it('400 for bad fields', async () => {
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: multipart('dune-2mp.jpg', { visibility: 'secret' }) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe('validation_failed');
      expect(body.error.message).toContain('visibility');
      const q = await t.request('/images?tags=%3Cscript%3E', {
        method: 'POST',
        headers: auth(t.adminKey, { 'Content-Type': 'image/jpeg' }),
        body: new Uint8Array(sample('dune-2mp.jpg')),
      });
      expect(q.status).toBe(400);
    });

    it('401 without credentials, 403 without the upload scope', async () => {
      expect((await t.request('/images', { method: 'POST', body: multipart('dune-2mp.jpg') })).status).toBe(401);
      const viewer = makeUser(t, 'viewer', ['deliver']);
      const res = await t.request('/images', { method: 'POST', headers: auth(viewer.key), body: multipart('dune-2mp.jpg') });
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).error.code).toBe('missing_scope');
    });
  });
});
