import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { originalKey, type BlobStore } from '../../src/storage/store.js';
import { sample } from '../helpers/app.js';

export interface StoreUnderTest {
  store: BlobStore;
  cleanup?(): Promise<void>;
}

/** A fresh key per test, shaped like the ones ingest writes, so tests never see each other's objects. */
export function freshKey() {
  return originalKey(randomBytes(32).toString('hex'));
}

/**
 * What every BlobStore must do (one contract, as for the cache tiers and repositories): the local and S3 stores run this same suite,
 * each against the real thing (a temp directory, a real S3-compatible server).
 */
export function blobStoreContract(name: string, make: () => Promise<StoreUnderTest>) {
  describe(`${name}: BlobStore contract`, () => {
    let sut: StoreUnderTest;
    let store: BlobStore;
    const photo = sample('dune-2mp.jpg');
    const otherPhoto = sample('dragonfly-alpha.png');

    let setupFailed: unknown;
    beforeAll(async () => {
      try {
        sut = await make();
        store = sut.store;
      } catch (err) {
        setupFailed = err;
      }
    });
    // A throwing beforeAll would only mark the tests "skipped"; a store that cannot be built fails each one.
    beforeEach(() => {
      if (setupFailed) throw setupFailed;
    });
    afterAll(async () => {
      await sut?.cleanup?.();
    });

    it('check() passes on a working store', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });

    it('round-trips the exact bytes of a real photo', async () => {
      const key = freshKey();
      await store.put(key, photo);
      const back = await store.get(key);
      expect(back).toBeInstanceOf(Buffer);
      expect(back!.length).toBe(photo.length);
      expect(back!.equals(photo)).toBe(true);
      expect(await store.has(key)).toBe(true);
    });

    it('answers undefined / false for a key never written', async () => {
      const key = freshKey();
      expect(await store.get(key)).toBeUndefined();
      expect(await store.has(key)).toBe(false);
    });

    it('treats a second put of the same bytes as a no-op', async () => {
      const key = freshKey();
      await store.put(key, photo);
      await store.put(key, photo);
      expect((await store.get(key))!.equals(photo)).toBe(true);
    });

    it('replaces the whole object when a key is written again with other bytes', async () => {
      const key = freshKey();
      await store.put(key, photo);
      await store.put(key, otherPhoto);
      expect((await store.get(key))!.equals(otherPhoto)).toBe(true);
    });

    it('forgets a deleted key', async () => {
      const key = freshKey();
      await store.put(key, photo);
      await store.delete(key);
      expect(await store.has(key)).toBe(false);
      expect(await store.get(key)).toBeUndefined();
    });

    it('deletes a missing key without complaint', async () => {
      const key = freshKey();
      await expect(store.delete(key)).resolves.toBeUndefined();
      await store.put(key, photo);
      await store.delete(key);
      await expect(store.delete(key)).resolves.toBeUndefined();
    });

    it('survives concurrent puts of the same key (two uploads of one photo)', async () => {
      const key = freshKey();
      await Promise.all(Array.from({ length: 8 }, () => store.put(key, photo)));
      expect((await store.get(key))!.equals(photo)).toBe(true);
    });

    it('never shows a torn object when different bytes race for one key', async () => {
      const key = freshKey();
      await Promise.all([photo, otherPhoto, photo, otherPhoto].map((bytes) => store.put(key, bytes)));
      const back = (await store.get(key))!;
      expect(back.equals(photo) || back.equals(otherPhoto)).toBe(true);
    });

    it('refuses keys that try to climb out with ../', async () => {
      for (const key of ['../escape', 'originals/../../escape', '../../etc/passwd']) {
        await expect(store.put(key, photo), key).rejects.toThrow(/invalid storage key/);
        await expect(store.get(key), key).rejects.toThrow(/invalid storage key/);
      }
    });
  });
}
