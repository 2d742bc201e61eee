import { afterEach, describe, expect, it } from 'vitest';
import type { Rendition, RenditionMeta, RenditionTier } from '../../src/cache/types.js';

/** Builds a fresh tier with a byte budget; `cleanup` removes whatever it made. */
export type TierFactory = (maxBytes: number) => Promise<{ tier: RenditionTier; cleanup(): Promise<void> }>;

export function rendition(bytes: number, fill = 1): Rendition {
  return { data: Buffer.alloc(bytes, fill), format: 'webp', width: 30, height: 20 };
}

export function meta(imageId: string, preset: string | null = null): RenditionMeta {
  return { imageId, options: 'w_30', preset };
}

/**
 * What every cache tier promises (one contract, as for the stores and repositories): the memory and disk tiers pass this same suite.
 * Budgets are chosen so per-entry bookkeeping (a few hundred bytes in memory) never decides an outcome.
 */
export function tierContract(name: string, make: TierFactory) {
  describe(`${name} tier contract`, () => {
    let made: Awaited<ReturnType<TierFactory>> | undefined;
    const open = async (maxBytes: number) => {
      made = await make(maxBytes);
      return made.tier;
    };
    afterEach(async () => {
      await made?.cleanup();
      made = undefined;
    });

    it('returns what was put, with format and size, and nothing for an unknown key', async () => {
      const tier = await open(1 << 20);
      await tier.put('key-a', meta('img1'), { data: Buffer.from('hello'), format: 'avif', width: 640, height: 480 });
      const got = await tier.get('key-a');
      expect(got?.data.toString()).toBe('hello');
      expect(got).toMatchObject({ format: 'avif', width: 640, height: 480 });
      expect(await tier.get('key-b')).toBeUndefined();
      expect(tier.stats()).toMatchObject({ entries: 1 });
      expect(tier.stats().bytes).toBeGreaterThanOrEqual(5);
    });

    it('replaces a key instead of counting it twice', async () => {
      const tier = await open(1 << 20);
      await tier.put('key-a', meta('img1'), rendition(1000));
      await tier.put('key-a', meta('img1'), rendition(2000, 2));
      expect((await tier.get('key-a'))?.data.length).toBe(2000);
      expect(tier.stats().entries).toBe(1);
      // Counted exactly as a tier that only ever held the second one (whatever a tier adds per entry).
      const single = await open(1 << 20);
      await single.put('key-a', meta('img1'), rendition(2000, 2));
      expect(tier.stats().bytes).toBe(single.stats().bytes);
    });

    it('stays within its byte budget, evicting the least recently used first', async () => {
      const tier = await open(100_000);
      await tier.put('old-1', meta('img1'), rendition(30_000));
      await tier.put('old-2', meta('img1'), rendition(30_000));
      await tier.put('old-3', meta('img1'), rendition(30_000));
      expect(await tier.get('old-1')).toBeDefined(); // now the most recently used
      await tier.put('new-4', meta('img1'), rendition(30_000));
      expect(tier.stats().bytes).toBeLessThanOrEqual(100_000);
      expect(tier.stats().evictions).toBeGreaterThanOrEqual(1);
      expect(await tier.get('old-2')).toBeUndefined();
      expect(await tier.get('old-1')).toBeDefined();
      expect(await tier.get('new-4')).toBeDefined();
    });

    it('skips a rendition larger than the whole budget and keeps the rest', async () => {
      const tier = await open(50_000);
      await tier.put('small', meta('img1'), rendition(10_000));
      await tier.put('huge', meta('img1'), rendition(60_000));
      expect(await tier.get('huge')).toBeUndefined();
      expect(await tier.get('small')).toBeDefined();
    });

    it('purges exactly the renditions of one image', async () => {
      const tier = await open(1 << 20);
      await tier.put('a-1', meta('imgA'), rendition(100));
      await tier.put('a-2', meta('imgA', 'card'), rendition(100));
      await tier.put('b-1', meta('imgB'), rendition(100));
      expect(await tier.purge({ imageId: 'imgA' })).toBe(2);
      expect(await tier.get('a-1')).toBeUndefined();
      expect(await tier.get('a-2')).toBeUndefined();
      expect(await tier.get('b-1')).toBeDefined();
      expect(tier.stats().entries).toBe(1);
      expect(await tier.purge({ imageId: 'imgA' })).toBe(0);
    });

    it('purges with an image the renditions that used it as a watermark (exact wm_ token)', async () => {
      const tier = await open(1 << 20);
      const wm = (imageId: string, options: string) => ({ imageId, options, preset: null });
      await tier.put('marked', wm('photo', 'w_30,wm_logo,wms_25'), rendition(100));
      await tier.put('marked-last', wm('photo2', 'w_30,wm_logo'), rendition(100));
      await tier.put('other-logo', wm('photo', 'w_30,wm_logo2'), rendition(100));
      await tier.put('suffix', wm('photo', 'w_30,wm_xlogo'), rendition(100));
      await tier.put('plain', wm('photo', 'w_30'), rendition(100));
      expect(await tier.purge({ imageId: 'logo' })).toBe(2);
      expect(await tier.get('marked')).toBeUndefined();
      expect(await tier.get('marked-last')).toBeUndefined();
      for (const key of ['other-logo', 'suffix', 'plain']) expect(await tier.get(key)).toBeDefined();
    });

    it('purges exactly the renditions made through one preset', async () => {
      const tier = await open(1 << 20);
      await tier.put('card-a', meta('imgA', 'card'), rendition(100));
      await tier.put('card-b', meta('imgB', 'card'), rendition(100));
      await tier.put('hero-a', meta('imgA', 'hero'), rendition(100));
      await tier.put('plain-a', meta('imgA'), rendition(100));
      expect(await tier.purge({ preset: 'card' })).toBe(2);
      expect(await tier.get('card-a')).toBeUndefined();
      expect(await tier.get('card-b')).toBeUndefined();
      expect(await tier.get('hero-a')).toBeDefined();
      expect(await tier.get('plain-a')).toBeDefined();
    });

    it('deletes one key', async () => {
      const tier = await open(1 << 20);
      await tier.put('gone', meta('img1'), rendition(100));
      expect(await tier.delete('gone')).toBe(true);
      expect(await tier.get('gone')).toBeUndefined();
      expect(await tier.delete('gone')).toBe(false);
      expect(tier.stats()).toMatchObject({ entries: 0, bytes: 0 });
    });
  });
}
