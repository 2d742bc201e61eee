import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { directUploads, images, users } from '../../src/db/schema.js';
import { S3Store } from '../../src/storage/s3.js';
import { sample, testApp, type TestApp } from '../helpers/app.js';
import { startSwift, type SwiftServer } from '../storage/swift/server.js';

// Direct uploads against a real OpenStack Swift + s3api on 127.0.0.1 (test/storage/swift/): the
// browser's PUT goes to the presigned URL over a real socket, exactly as a page's fetch() would.
const BUCKET = 'imgpath-direct';
const PREFIX = 'direct';
let swift: SwiftServer;
let t: TestApp;
/** The app's clock (deps.clock): moved forward to expire uploads without sleeping. */
let now = Math.floor(Date.now() / 1000);
let raw: S3Store; // the bucket as an operator sees it, under the same prefix
let aliceKey: string;
let bobKey: string;

let swiftFailed: unknown;
beforeAll(async () => {
  try {
    swift = await startSwift();
    t = await testApp(
      {
        STORAGE: 's3',
        S3_BUCKET: BUCKET,
        S3_ENDPOINT: swift.endpoint,
        S3_ACCESS_KEY_ID: swift.accessKeyId,
        S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
        S3_PREFIX: PREFIX,
        // dragonfly-alpha.png (2.35 MB) is over it, the other samples are under it.
        MAX_UPLOAD_MB: '2',
        MAX_OPEN_UPLOADS: '3',
      },
      { deps: { clock: () => now } },
    );
    raw = new S3Store({
      bucket: BUCKET,
      endpoint: swift.endpoint,
      region: 'us-east-1',
      accessKeyId: swift.accessKeyId,
      secretAccessKey: swift.secretAccessKey,
      forcePathStyle: true,
      prefix: PREFIX,
    });
    await raw.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const alice = t.deps.db.insert(users).values({ username: 'alice', passwordHash: 'x' }).returning().get();
    const bob = t.deps.db.insert(users).values({ username: 'bob', passwordHash: 'x' }).returning().get();
    aliceKey = (await t.deps.keys.create({ userId: alice.id, scopes: ['upload', 'deliver'] })).key;
    bobKey = (await t.deps.keys.create({ userId: bob.id, scopes: ['upload'] })).key;
  } catch (err) {
    swiftFailed = err;
  }
});
afterAll(async () => {
  raw?.destroy();
  (t?.deps.store as S3Store | undefined)?.destroy();
  await t?.cleanup();
  await swift?.stop();
});

interface Ticket {
  id: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  bytes: number;
  expiresAt: string;
  completeBy: string;
  complete: string;
}

function post(path: string, key: string, body?: unknown) {
  return t.request(path, {
    method: 'POST',
    headers: { 'X-API-Key': key, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function openUpload(key: string, bytes: number, contentType = 'image/jpeg', extra: Record<string, unknown> = {}) {
  const res = await post('/images/uploads', key, { contentType, bytes, ...extra });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Ticket;
}

/** What a page does with the ticket: fetch(url, { method: 'PUT', headers, body: file }). */
function browserPut(ticket: Ticket, body: Buffer, headers = ticket.headers) {
  return fetch(ticket.url, { method: 'PUT', headers, body: new Uint8Array(body) });
}

const staged = (id: string) => raw.has(`uploads/${id}`);
const imageCount = () => t.deps.db.select().from(images).all().length;

describe('direct uploads to S3 (Swift s3api)', () => {
  // A throwing beforeAll would only mark these tests "skipped"; without Swift each one must fail.
  beforeEach(() => {
    if (swiftFailed) throw swiftFailed;
  });

  it("opens a presigned PUT, takes the browser's PUT, ingests it at complete and removes the staging object", async () => {
    const photo = sample('friends-portrait.jpg');
    const ticket = await openUpload(aliceKey, photo.length, 'image/jpeg', { tags: ['beach'], filename: 'friends.jpg' });
    expect(ticket.method).toBe('PUT');
    expect(ticket.url.startsWith(`${swift.endpoint}/${BUCKET}/${PREFIX}/uploads/${ticket.id}?`)).toBe(true);
    const signed = new URL(ticket.url).searchParams;
    expect(signed.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(signed.get('X-Amz-Expires')).toBe('900');
    expect(ticket.headers).toEqual({ 'Content-Type': 'image/jpeg' });
    expect(ticket.complete).toBe(`/images/uploads/${ticket.id}/complete`);

    // The signature binds type and exact length: S3 itself refuses anything else.
    const otherType = await browserPut(ticket, photo, { 'Content-Type': 'image/png' });
    expect(otherType.status).toBe(403);
    const longer = await browserPut(ticket, Buffer.concat([photo, Buffer.alloc(1)]));
    expect(longer.status).toBe(403);
    expect(await staged(ticket.id)).toBe(false);

    const put = await browserPut(ticket, photo);
    expect(put.status).toBe(200);
    expect(await staged(ticket.id)).toBe(true);

    const done = await post(ticket.complete, aliceKey);
    expect(done.status).toBe(201);
    const image = (await done.json()) as { id: string; width: number; height: number; duplicate: boolean; tags: string[]; name: string };
    expect(done.headers.get('location')).toBe(`/images/${image.id}`);
    expect([image.width, image.height, image.duplicate]).toEqual([2056, 3088, false]);
    expect(image.tags).toEqual(['beach']);
    expect(image.name).toBe('friends.jpg');
    expect(await staged(ticket.id)).toBe(false);

    // The image is an ordinary library image: rendered from the bucket's original.
    const img = await t.request(`/img/w_100/${image.id}`, { headers: { 'X-API-Key': aliceKey } });
    expect(img.status).toBe(200);
    expect((await sharp(Buffer.from(await img.arrayBuffer())).metadata()).width).toBe(100);

    // A second complete answers the same image (idempotent), as a duplicate.
    const again = await post(ticket.complete, aliceKey);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: image.id, duplicate: true });

    // The same bytes through a new direct upload: deduplicated like POST /images.
    const second = await openUpload(aliceKey, photo.length);
    expect((await browserPut(second, photo)).status).toBe(200);
    const dup = await post(second.complete, aliceKey);
    expect(dup.status).toBe(200);
    expect(await dup.json()).toMatchObject({ id: image.id, duplicate: true });
    expect(await staged(second.id)).toBe(false);
  });

  it('refuses a declared size over MAX_UPLOAD_MB before signing anything', async () => {
    const res = await post('/images/uploads', aliceKey, { contentType: 'image/png', bytes: sample('dragonfly-alpha.png').length });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'too_large' } });
    const bad = await post('/images/uploads', aliceKey, { contentType: 'text/html', bytes: 10 });
    expect(bad.status).toBe(400);
  });

  it('checks the size again at complete (HEAD before a byte is read): an oversize object is refused and removed', async () => {
    const ticket = await openUpload(aliceKey, sample('friends-portrait.jpg').length);
    // A server that ignores the signed Content-Length (or anyone with bucket credentials) could
    // leave a bigger object under the staging key: written here past the presigned URL.
    const big = sample('dragonfly-alpha.png');
    await raw.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/uploads/${ticket.id}`, Body: big, ContentLength: big.length }));
    const before = imageCount();

    const res = await post(ticket.complete, aliceKey);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'too_large', limit: 2 * 1024 * 1024 } });
    expect(await staged(ticket.id)).toBe(false);
    expect(imageCount()).toBe(before);
    // The refusal is final and answered again.
    expect((await post(ticket.complete, aliceKey)).status).toBe(413);
  });

  it('refuses a non-image (sniffed, whatever its Content-Type said) and removes it', async () => {
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const ticket = await openUpload(aliceKey, html.length, 'image/png');
    expect((await browserPut(ticket, html)).status).toBe(200);
    const before = imageCount();

    const res = await post(ticket.complete, aliceKey);
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
    expect(await staged(ticket.id)).toBe(false);
    expect(imageCount()).toBe(before);
    expect((await post(ticket.complete, aliceKey)).status).toBe(415);
  });

  it("refuses another user's upload id like an unknown one, and leaves it to its owner", async () => {
    const photo = sample('dune-2mp.jpg');
    const ticket = await openUpload(aliceKey, photo.length);
    expect((await browserPut(ticket, photo)).status).toBe(200);

    const bob = await post(ticket.complete, bobKey);
    expect(bob.status).toBe(404);
    expect(await bob.json()).toMatchObject({ error: { code: 'upload_not_found' } });
    // Even an admin key: an upload is its opener's ticket.
    expect((await post(ticket.complete, t.adminKey)).status).toBe(404);
    expect((await post('/images/uploads/nosuchupload1/complete', aliceKey)).status).toBe(404);
    expect(await staged(ticket.id)).toBe(true);

    expect((await post(ticket.complete, aliceKey)).status).toBe(201);
    expect(await staged(ticket.id)).toBe(false);
  });

  it('answers 409 when nothing was PUT yet, and completes once it was', async () => {
    const photo = sample('sunset-12mp.jpg');
    const ticket = await openUpload(aliceKey, photo.length);
    const early = await post(ticket.complete, aliceKey);
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({ error: { code: 'upload_missing' } });
    expect((await browserPut(ticket, photo)).status).toBe(200);
    expect((await post(ticket.complete, aliceKey)).status).toBe(201);
  });

  it('expires (deps.clock): complete answers 410 and removes the object, then 404; a later upload sweeps abandoned ones', async () => {
    const photo = sample('friends-portrait.jpg');
    const late = await openUpload(bobKey, photo.length);
    const abandoned = await openUpload(bobKey, photo.length);
    expect((await browserPut(late, photo)).status).toBe(200);
    expect((await browserPut(abandoned, photo)).status).toBe(200);

    // MAX_OPEN_UPLOADS=3: a third open upload is allowed, a fourth is not.
    const third = await openUpload(bobKey, 10);
    const fourth = await post('/images/uploads', bobKey, { contentType: 'image/jpeg', bytes: 10 });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBeTruthy();

    now = Math.floor(new Date(late.completeBy).getTime() / 1000) + 1;
    const gone = await post(late.complete, bobKey);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({ error: { code: 'upload_expired' } });
    expect(await staged(late.id)).toBe(false);
    expect((await post(late.complete, bobKey)).status).toBe(404);

    // Nobody completes `abandoned`: the next upload opened (by anyone) sweeps it and its object.
    expect(await staged(abandoned.id)).toBe(true);
    await openUpload(aliceKey, 10);
    expect(await staged(abandoned.id)).toBe(false);
    const left = t.deps.db
      .select()
      .from(directUploads)
      .all()
      .map((r) => r.id);
    expect(left).not.toContain(abandoned.id);
    expect(left).not.toContain(third.id);
  });

  it('signs for S3_PUBLIC_ENDPOINT (the host browsers reach) while talking to S3_ENDPOINT itself', async () => {
    // Same Swift, two names: imgpath reaches 127.0.0.1, "browsers" reach localhost.
    const publicEndpoint = swift.endpoint.replace('127.0.0.1', 'localhost');
    const store = new S3Store({
      bucket: BUCKET,
      endpoint: swift.endpoint,
      publicEndpoint,
      region: 'us-east-1',
      accessKeyId: swift.accessKeyId,
      secretAccessKey: swift.secretAccessKey,
      forcePathStyle: true,
      prefix: PREFIX,
    });
    try {
      const photo = sample('friends-portrait.jpg');
      const url = await store.presignPut('uploads/public-host', {
        contentType: 'image/jpeg',
        contentLength: photo.length,
        expiresIn: 60,
        signedAt: new Date(),
      });
      expect(url.startsWith(`${publicEndpoint}/`)).toBe(true);
      const put = (u: string) => fetch(u, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: new Uint8Array(photo) });
      // The Host header is signed: the URL works only at the public name.
      expect((await put(url.replace('localhost', '127.0.0.1'))).status).toBe(403);
      expect((await put(url)).status).toBe(200);
      expect(await store.stat('uploads/public-host')).toMatchObject({ size: photo.length });
      await store.delete('uploads/public-host');
    } finally {
      store.destroy();
    }
  });

  it('lists both routes in /openapi.json', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/images/uploads', '/images/uploads/{id}/complete']));
  });
});

describe('direct uploads without STORAGE=s3', () => {
  it('answers 501 with a JSON error naming STORAGE=s3, after authentication', async () => {
    const local = await testApp();
    try {
      const anon = await local.request('/images/uploads', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ contentType: 'image/jpeg', bytes: 10 }),
      });
      expect(anon.status).toBe(401);
      for (const path of ['/images/uploads', '/images/uploads/abc/complete']) {
        const res = await local.request(path, {
          method: 'POST',
          headers: { 'X-API-Key': local.adminKey, 'Content-Type': 'application/json' },
          body: JSON.stringify({ contentType: 'image/jpeg', bytes: 10 }),
        });
        expect(res.status).toBe(501);
        expect(await res.json()).toMatchObject({ error: { code: 'direct_uploads_unavailable', message: expect.stringContaining('STORAGE=s3') } });
      }
      expect(fs.existsSync(path.join(local.deps.config.dataDir, 'originals'))).toBe(false);
    } finally {
      await local.cleanup();
    }
  });
});
