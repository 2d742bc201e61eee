import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Store, type S3StoreOptions } from '../../src/storage/s3.js';
import { originalKey } from '../../src/storage/store.js';
import { sample, testApp } from '../helpers/app.js';
import { blobStoreContract, freshKey } from './contract.js';
import { startSwift, type SwiftServer } from './swift/server.js';

// Every test here talks to a real OpenStack Swift + s3api on 127.0.0.1 (test/storage/swift/).
const BUCKET = 'imgpath-test';
let swift: SwiftServer;

function storeOptions(over: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    bucket: BUCKET,
    endpoint: swift.endpoint,
    region: 'us-east-1',
    accessKeyId: swift.accessKeyId,
    secretAccessKey: swift.secretAccessKey,
    forcePathStyle: true,
    ...over,
  };
}

const stores: S3Store[] = [];
function s3Store(over: Partial<S3StoreOptions> = {}) {
  const store = new S3Store(storeOptions(over));
  stores.push(store);
  return store;
}

let swiftFailed: unknown;
beforeAll(async () => {
  try {
    swift = await startSwift();
    // The bucket is the operator's to create (imgpath never creates one), so the test does it.
    await s3Store().client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } catch (err) {
    swiftFailed = err;
  }
});
// A throwing beforeAll would only mark these tests "skipped"; without Swift each one must fail.
beforeEach(() => {
  if (swiftFailed) throw swiftFailed;
});
afterAll(async () => {
  for (const store of stores) store.destroy();
  await swift?.stop();
});

blobStoreContract('S3Store (Swift s3api)', async () => ({ store: s3Store({ prefix: 'contract' }) }));

describe('S3Store specifics', () => {
  it('keeps objects under S3_PREFIX, invisible to a deployment with another prefix', async () => {
    const key = freshKey();
    const photo = sample('friends-portrait.jpg');
    const tenantA = s3Store({ prefix: 'tenant-a/' });
    await tenantA.put(key, photo);
    const raw = await tenantA.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `tenant-a/${key}` }));
    expect(Buffer.from(await raw.Body!.transformToByteArray()).equals(photo)).toBe(true);
    expect(await s3Store({ prefix: 'tenant-b' }).has(key)).toBe(false);
    expect(await s3Store({ prefix: 'tenant-a' }).has(key)).toBe(true);
  });

  it('fails check() with the bucket name when the bucket does not exist, and get() throws instead of "missing"', async () => {
    const store = s3Store({ bucket: 'no-such-bucket' });
    await expect(store.check()).rejects.toThrow(/no-such-bucket.*HTTP 404/);
    await expect(store.get(freshKey())).rejects.toThrow();
  });

  it('fails check() with wrong credentials', async () => {
    await expect(s3Store({ secretAccessKey: 'wrong' }).check()).rejects.toThrow(/HTTP 403/);
  });
});

describe('STORAGE=s3 end to end', () => {
  it('ingests into the bucket and renders /img from it, with nothing under DATA_DIR/originals', async () => {
    const t = await testApp({
      STORAGE: 's3',
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: swift.endpoint,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: swift.accessKeyId,
      S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: 'e2e',
    });
    try {
      expect(t.deps.store).toBeInstanceOf(S3Store);
      const id = await t.seed('dune-2mp.jpg');
      const hash = createHash('sha256').update(sample('dune-2mp.jpg')).digest('hex');
      expect(await s3Store({ prefix: 'e2e' }).has(originalKey(hash))).toBe(true);

      const res = await t.request(`/img/w_200/${id}`, { headers: { 'X-API-Key': t.adminKey } });
      expect(res.status).toBe(200);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([200, 125]);
      expect(fs.existsSync(path.join(t.deps.config.dataDir, 'originals'))).toBe(false);

      const ready = await t.request('/readyz');
      expect(ready.status).toBe(200);
    } finally {
      (t.deps.store as S3Store).destroy();
      await t.cleanup();
    }
  });
});
