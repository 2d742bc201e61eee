import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findImage } from '../../src/core/images.js';
import { sample, testApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 14 item 2: a miss on a progressive JPEG original decodes its baseline copy (jpegtran, on
 * PATH here: scripts/install-test-deps.sh), and answers exactly the bytes the original would.
 */

let withCopies: TestApp;
let without: TestApp;
const ids = new Map<TestApp, string>();

beforeAll(async () => {
  withCopies = await testApp({ PATH: process.env.PATH ?? '', ALLOW_UNSIGNED_TRANSFORMS: 'true' });
  without = await testApp({ ORIGINALS_CACHE_MB: '0', ALLOW_UNSIGNED_TRANSFORMS: 'true' });
  for (const t of [withCopies, without]) ids.set(t, await t.seed('friends-portrait.jpg'));
});
afterAll(async () => {
  await withCopies.cleanup();
  await without.cleanup();
});

/** Counts the app's storage reads while `during` runs (the real store, read through). */
async function countingReads(t: TestApp, during: (reads: () => number) => Promise<void>) {
  const store = t.deps.store;
  const read = store.get.bind(store);
  let reads = 0;
  store.get = (key) => {
    reads++;
    return read(key);
  };
  try {
    await during(() => reads);
  } finally {
    store.get = read;
  }
}

describe('misses on a progressive JPEG original', () => {
  it.each(['w_300,f_webp', 'c_fill,w_160,h_160,f_jpg,q_70', 'w_640,f_avif', 'w_1200,r_90,f_png'])(
    '%s: the same bytes with and without the copy',
    async (options) => {
      const get = async (t: TestApp) => {
        const res = await t.app.request(`/img/${options}/${ids.get(t)}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('X-Cache')).toBe('MISS');
        return Buffer.from(await res.arrayBuffer());
      };
      expect((await get(withCopies)).equals(await get(without))).toBe(true);
    },
  );

  it('make the copy once and decode it on every later miss', () => {
    expect(withCopies.deps.config.jpegtran).not.toBeNull();
    expect(withCopies.deps.originals.stats()).toMatchObject({ made: 1, used: 4, failed: 0, entries: 1 });
    expect(without.deps.originals.stats()).toMatchObject({ made: 0, used: 0 });
  });

  it('while the copy is held, a miss does not read the original again; a pure re-encode still compares with it', async () => {
    const t = withCopies;
    await countingReads(t, async (reads) => {
      const res = await t.app.request(`/img/w_222,f_webp/${ids.get(t)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('X-Cache')).toBe('MISS');
      expect(reads()).toBe(0);
      // No pixel changed and the same format: the answer is never larger than the original, which
      // is read only when it is the answer (the row knows its size).
      const same = await t.app.request(`/img/f_jpg/${ids.get(t)}`);
      expect(same.status).toBe(200);
      const body = Buffer.from(await same.arrayBuffer());
      const original = sample('friends-portrait.jpg');
      expect(body.length).toBeLessThanOrEqual(original.length);
      expect(reads()).toBe(body.equals(original) ? 1 : 0);
    });
  });
});

describe('originals kept for the next miss (ORIGINALS_CACHE_MB)', () => {
  const misses = async (t: TestApp, id: string) => {
    for (const w of [101, 202, 303]) {
      const res = await t.app.request(`/img/w_${w},f_webp/${id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('X-Cache')).toBe('MISS');
    }
  };

  it.each(['dune-2mp.jpg', 'dragonfly-alpha.png'])('%s from a remote store: read by the first miss only; with the cache off, by every miss', async (name) => {
    for (const env of [{}, { ORIGINALS_CACHE_MB: '0' }] as Array<Record<string, string>>) {
      const t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', ...env }, { remoteOriginals: true });
      try {
        const id = await t.seed(name);
        await countingReads(t, async (reads) => {
          await misses(t, id);
          expect(reads()).toBe(env.ORIGINALS_CACHE_MB ? 3 : 1);
        });
      } finally {
        await t.cleanup();
      }
    }
  });

  it.each(['dune-2mp.jpg', 'dragonfly-alpha.png'])(
    '%s on local disk: never read into memory, libvips decodes the file (the page cache keeps it)',
    async (name) => {
      for (const t of [withCopies, without]) {
        const id = await t.seed(name);
        await countingReads(t, async (reads) => {
          await misses(t, id);
          expect(reads()).toBe(0);
        });
        // A baseline JPEG's head says it gets no copy; nothing of it is held (reductions aside).
        const image = await findImage(t.deps, id);
        expect(t.deps.originals.held(image!.hash)).toBeUndefined();
      }
    },
  );
});

describe('an original shrunk again and again starts from its reduction (ORIGINALS_CACHE_MB)', () => {
  it('the second miss that shrinks it as much makes the reduction, later ones start from it; every answer is the asked size', async () => {
    const t = withCopies;
    const id = await t.seed('sunset-12mp.jpg');
    const before = t.deps.originals.stats();
    // 4272 px wide: w_200..w_400 shrink 10x or more, so sharp itself would decode these at 1/8.
    for (const w of [200, 260, 320, 400]) {
      const res = await t.app.request(`/img/w_${w},f_webp/${id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('X-Cache')).toBe('MISS');
      expect(await sharp(Buffer.from(await res.arrayBuffer())).metadata()).toMatchObject({ format: 'webp', width: w, height: Math.round((w * 2848) / 4272) });
    }
    const after = t.deps.originals.stats();
    expect(after.reductionsMade - before.reductionsMade).toBe(1);
    expect(after.reductionsUsed - before.reductionsUsed).toBe(3);
    // Not for a region cut from the source (source pixels) nor for a size sharp does not shrink on load.
    for (const options of ['c_crop,x_100,y_100,w_2000,h_1000', 'rg_0:0:2000:1000,w_100', 'w_2000']) {
      const res = await t.app.request(`/img/${options}/${id}`);
      expect(res.status, options).toBe(200);
    }
    expect(t.deps.originals.stats().reductionsUsed).toBe(after.reductionsUsed);
  });

  it('off with ORIGINALS_CACHE_MB=0', async () => {
    const id = await without.seed('sunset-12mp.jpg');
    for (const w of [200, 260, 320]) expect((await without.app.request(`/img/w_${w}/${id}`)).status).toBe(200);
    expect(without.deps.originals.stats()).toMatchObject({ reductionsMade: 0, reductionsUsed: 0 });
  });
});
