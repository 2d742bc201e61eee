import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageRow } from '../../src/db/schema.js';
import type { UsageDelta } from '../../src/repos/usage.js';
import type { Repos } from '../../src/repos/index.js';
import type { NewImage, PoolRow } from '../../src/repos/images.js';
import type { RenditionEntry } from '../../src/repos/renditions.js';

/**
 * What every database behind `Repos` must do, asserted through the interfaces only (no SQL), so
 * the SQLite implementation and any other (PostgreSQL, issue 13) run the very same suite.
 * `make` opens an empty, migrated database; `cleanup` closes and removes it (and any peer).
 */
export interface RepoFixture {
  repos: Repos;
  /**
   * The repositories of another process (SQLite: a second connection to the same file) or node
   * (PostgreSQL: another pool, heard through the cluster bus `repos` listens on) on the same database.
   */
  peer(): Promise<Repos>;
  cleanup(): Promise<void>;
}

/** Rows the tests start from, written through the repositories like any other: no dialect here. */
export interface RepoSeed {
  /** An image row (with its tags in the tag index); unset columns take the schema's defaults. */
  image(row: SeedImage): Promise<void>;
  /** `publicId` was renamed away from `imageId` (it now redirects there). */
  alias(publicId: string, imageId: string): Promise<void>;
}

export type SeedImage = Pick<ImageRow, 'id' | 'hash'> & Partial<Omit<ImageRow, 'id' | 'hash'>>;

function seedThrough(repos: Repos): RepoSeed {
  return {
    async image({ focalX, focalY, ...row }) {
      const done = await repos.images.insert(
        {
          ownerId: null,
          format: 'jpeg',
          width: 40,
          height: 30,
          bytes: 1000,
          frames: 1,
          hasAlpha: false,
          clean: false,
          orientation: 'landscape',
          visibility: 'public',
          collection: null,
          tags: '[]',
          filename: null,
          placeholder: null,
          placeholderUri: null,
          dominant: null,
          publicId: null,
          ...row,
        },
        JSON.parse(row.tags ?? '[]') as string[],
      );
      if (!('inserted' in done)) throw new Error(`seed image ${row.id} not inserted: ${JSON.stringify(done)}`);
      // The focal point is an edit, never part of an upload.
      if (typeof focalX === 'number' && typeof focalY === 'number') await repos.images.update(row.id, { focalX, focalY });
    },
    async alias(publicId, imageId) {
      // A former name is what a rename leaves behind: renamed to `publicId` and back, the image
      // keeps its name and `publicId` redirects to it.
      const image = await repos.images.byId(imageId);
      const away = image && (await repos.images.rename(image, publicId));
      if (!away || !(await repos.images.rename(away, image.publicId))) throw new Error(`seed alias ${publicId} -> ${imageId} not made`);
    },
  };
}

export function repoContract(name: string, make: () => Promise<RepoFixture>) {
  describe(`repositories: ${name}`, () => {
    let f: RepoFixture;
    let repos: Repos;
    let seed: RepoSeed;
    beforeEach(async () => {
      f = await make();
      repos = f.repos;
      seed = seedThrough(repos);
    });
    afterEach(() => f.cleanup());

    describe('tasks', () => {
      const task = (id: string, ownerId: number | null = null) => ({ id, kind: 'transform', input: `{"n":"${id}"}`, ownerId });
      const lease = (node: string, now: number, seconds = 30) => ({ node, now, until: now + seconds });

      it('creates a queued task and reads it back; an unknown id is undefined', async () => {
        const row = await repos.tasks.create(task('t1', 7));
        expect(row).toMatchObject({ id: 't1', kind: 'transform', state: 'queued', input: '{"n":"t1"}', ownerId: 7, result: null, error: null });
        expect(typeof row.createdAt).toBe('number');
        expect(await repos.tasks.byId('t1')).toEqual(row);
        expect(await repos.tasks.byId('nope')).toBeUndefined();
      });

      it('refuses a second task with the same id', async () => {
        await repos.tasks.create(task('dup'));
        await expect(repos.tasks.create(task('dup'))).rejects.toThrow();
      });

      it('claims a queued task once: a second claim, or a claim of an unknown id, gets nothing', async () => {
        await repos.tasks.create(task('t1'));
        expect(await repos.tasks.claim('t1', lease('a', 100))).toMatchObject({ id: 't1', state: 'running', updatedAt: 100, claimedBy: 'a', leaseUntil: 130 });
        expect(await repos.tasks.claim('t1', lease('a', 101))).toBeUndefined();
        expect(await repos.tasks.claim('nope', lease('a', 101))).toBeUndefined();
      });

      it('finishes, fails and requeues, keeping what each outcome says', async () => {
        for (const id of ['a', 'b', 'c']) {
          await repos.tasks.create(task(id));
          await repos.tasks.claim(id, lease('n1', 10));
        }
        await repos.tasks.finish('a', 'n1', '{"ok":1}', 20);
        await repos.tasks.fail('b', 'n1', '{"code":"x"}', 21);
        await repos.tasks.requeue('c', 'n1', '{"attempts":1}', 22);
        expect(await repos.tasks.byId('a')).toMatchObject({ state: 'done', result: '{"ok":1}', error: null, updatedAt: 20 });
        expect(await repos.tasks.byId('b')).toMatchObject({ state: 'failed', error: '{"code":"x"}', updatedAt: 21 });
        expect(await repos.tasks.byId('c')).toMatchObject({ state: 'queued', input: '{"attempts":1}', updatedAt: 22, claimedBy: null, leaseUntil: null });
        // Requeued: it can be claimed again.
        expect(await repos.tasks.claim('c', lease('n1', 23))).toMatchObject({ state: 'running' });
      });

      it('resume answers the queued and running tasks and puts the running ones back in the queue', async () => {
        for (const id of ['q', 'r', 'd']) await repos.tasks.create(task(id));
        // Whatever its lease: resume is for a process alone on its database, and the one that ran it is gone.
        await repos.tasks.claim('r', lease('gone', 10, 1000));
        await repos.tasks.claim('d', lease('gone', 10));
        await repos.tasks.finish('d', 'gone', '{}', 11);
        expect((await repos.tasks.resume(50)).sort()).toEqual(['q', 'r']);
        expect(await repos.tasks.byId('r')).toMatchObject({ state: 'queued', updatedAt: 50, claimedBy: null, leaseUntil: null });
        expect(await repos.tasks.byId('d')).toMatchObject({ state: 'done' });
        expect(await repos.tasks.resume(60)).toHaveLength(2);
      });

      it('resume on an empty queue answers nothing', async () => {
        expect(await repos.tasks.resume(1)).toEqual([]);
      });

      describe('leases across nodes', () => {
        it('two nodes claiming one task at once: exactly one gets it', async () => {
          for (let i = 0; i < 5; i++) {
            await repos.tasks.create(task(`race${i}`));
            const claims = await Promise.all(['a', 'b', 'c'].map((node) => repos.tasks.claim(`race${i}`, lease(node, 100))));
            const winners = claims.filter((row) => row !== undefined);
            expect(winners).toHaveLength(1);
            expect((await repos.tasks.byId(`race${i}`))?.claimedBy).toBe(winners[0]!.claimedBy);
          }
        });

        it('a live lease is not taken; an expired one is taken over', async () => {
          await repos.tasks.create(task('t'));
          await repos.tasks.claim('t', lease('a', 100, 30));
          expect(await repos.tasks.claim('t', lease('b', 130))).toBeUndefined();
          expect(await repos.tasks.claimable(130, 10)).toEqual([]);
          expect(await repos.tasks.claimable(131, 10)).toEqual(['t']);
          expect(await repos.tasks.claim('t', lease('b', 131))).toMatchObject({ state: 'running', claimedBy: 'b', leaseUntil: 161, updatedAt: 131 });
        });

        it('the holder renews its lease; a node that lost the task renews and records nothing', async () => {
          await repos.tasks.create(task('t'));
          await repos.tasks.claim('t', lease('a', 100, 30));
          expect(await repos.tasks.renew('t', lease('a', 120, 30))).toBe(true);
          expect(await repos.tasks.byId('t')).toMatchObject({ claimedBy: 'a', leaseUntil: 150 });
          // a stalls past its lease; b takes over.
          expect(await repos.tasks.claim('t', lease('b', 151, 30))).toBeDefined();
          expect(await repos.tasks.renew('t', lease('a', 152, 30))).toBe(false);
          await repos.tasks.finish('t', 'a', '{"by":"a"}', 153);
          await repos.tasks.requeue('t', 'a', '{}', 153);
          await repos.tasks.fail('t', 'a', '{}', 153);
          expect(await repos.tasks.byId('t')).toMatchObject({ state: 'running', claimedBy: 'b', leaseUntil: 181, result: null, error: null });
          await repos.tasks.finish('t', 'b', '{"by":"b"}', 160);
          expect(await repos.tasks.byId('t')).toMatchObject({ state: 'done', result: '{"by":"b"}', updatedAt: 160 });
          // Finished: nobody renews or claims it any more.
          expect(await repos.tasks.renew('t', lease('b', 161, 30))).toBe(false);
          expect(await repos.tasks.claim('t', lease('c', 10_000))).toBeUndefined();
        });

        it('claimable answers queued tasks and expired leases, oldest first, up to the limit', async () => {
          for (const id of ['q1', 'live', 'dead', 'done', 'q2']) await repos.tasks.create(task(id));
          await repos.tasks.claim('live', lease('a', 100, 60));
          await repos.tasks.claim('dead', lease('b', 100, 10));
          await repos.tasks.claim('done', lease('a', 100));
          await repos.tasks.finish('done', 'a', '{}', 101);
          expect((await repos.tasks.claimable(120, 10)).sort()).toEqual(['dead', 'q1', 'q2']);
          expect(await repos.tasks.claimable(120, 2)).toHaveLength(2);
          expect(await repos.tasks.claimable(120, 0)).toEqual([]);
        });
      });
    });

    describe('renditions (the disk cache index)', () => {
      const entry = (key: string, over: Partial<RenditionEntry> = {}): RenditionEntry => ({
        key,
        imageId: 'img1',
        options: 'w_30',
        preset: null,
        format: 'webp',
        width: 30,
        height: 20,
        bytes: 100,
        lastAccess: 1_000,
        ...over,
      });
      const keys = (rows: Array<{ key: string }>) => rows.map((r) => r.key).sort();

      it('records an entry and reads it back; an unknown key is undefined', async () => {
        expect(await repos.renditions.put(entry('k1', { preset: 'card' }))).toBeUndefined();
        expect(await repos.renditions.byKey('k1')).toMatchObject(entry('k1', { preset: 'card' }));
        expect(await repos.renditions.byKey('nope')).toBeUndefined();
      });

      it('a second put under the same key replaces it and answers what it replaced', async () => {
        await repos.renditions.put(entry('k1', { format: 'webp', bytes: 100 }));
        expect(await repos.renditions.put(entry('k1', { format: 'avif', bytes: 70 }))).toEqual({ format: 'webp', bytes: 100 });
        expect(await repos.renditions.byKey('k1')).toMatchObject({ format: 'avif', bytes: 70 });
        expect(await repos.renditions.totals()).toEqual({ entries: 1, bytes: 70 });
      });

      it('totals count entries and bytes (zero when empty)', async () => {
        expect(await repos.renditions.totals()).toEqual({ entries: 0, bytes: 0 });
        await repos.renditions.put(entry('a', { bytes: 10 }));
        await repos.renditions.put(entry('b', { bytes: 32 }));
        expect(await repos.renditions.totals()).toEqual({ entries: 2, bytes: 42 });
      });

      it('leastRecent answers the oldest reads first, up to the limit; touch moves an entry', async () => {
        await repos.renditions.put(entry('a', { lastAccess: 30 }));
        await repos.renditions.put(entry('b', { lastAccess: 10 }));
        await repos.renditions.put(entry('c', { lastAccess: 20 }));
        expect((await repos.renditions.leastRecent(2)).map((r) => r.key)).toEqual(['b', 'c']);
        expect((await repos.renditions.leastRecent(10))[0]).toEqual({ key: 'b', format: 'webp', bytes: 100 });
        await repos.renditions.touch([
          ['b', 40],
          ['gone', 5],
        ]);
        expect((await repos.renditions.leastRecent(3)).map((r) => r.key)).toEqual(['c', 'a', 'b']);
        await repos.renditions.touch([]);
      });

      it('remove answers the keys it removed; unknown keys are skipped', async () => {
        await repos.renditions.put(entry('a'));
        await repos.renditions.put(entry('b'));
        expect((await repos.renditions.remove(['a', 'nope'])).sort()).toEqual(['a']);
        expect(await repos.renditions.remove([])).toEqual([]);
        expect(keys(await repos.renditions.all())).toEqual(['b']);
      });

      it('idleBefore answers entries not read since a time', async () => {
        await repos.renditions.put(entry('old', { lastAccess: 5 }));
        await repos.renditions.put(entry('new', { lastAccess: 50 }));
        expect(keys(await repos.renditions.idleBefore(50))).toEqual(['old']);
      });

      it('byImage answers the image’s entries and those that may use it as a watermark; byPreset by preset', async () => {
        await repos.renditions.put(entry('own', { imageId: 'logo_1' }));
        await repos.renditions.put(entry('wm', { imageId: 'other', options: 'w_30,l_wm_logo_1' }));
        await repos.renditions.put(entry('unrelated', { imageId: 'other', options: 'w_30' }));
        // `_` is no wildcard: an image id with an underscore matches only itself.
        await repos.renditions.put(entry('lookalike', { imageId: 'other', options: 'wm_logoX1' }));
        await repos.renditions.put(entry('card', { imageId: 'other', preset: 'card' }));
        const hits = keys(await repos.renditions.byImage('logo_1'));
        expect(hits).toEqual(expect.arrayContaining(['own', 'wm']));
        expect(hits).not.toContain('unrelated');
        expect(hits).not.toContain('lookalike');
        expect(keys(await repos.renditions.byPreset('card'))).toEqual(['card']);
        expect(await repos.renditions.byPreset('none')).toEqual([]);
      });

      it('countOf counts the image’s own entries, not its watermark uses', async () => {
        expect(await repos.renditions.countOf('logo_1')).toBe(0);
        await repos.renditions.put(entry('a', { imageId: 'logo_1' }));
        await repos.renditions.put(entry('b', { imageId: 'logo_1', format: 'avif' }));
        await repos.renditions.put(entry('wm', { imageId: 'other', options: 'l_wm_logo_1' }));
        expect(await repos.renditions.countOf('logo_1')).toBe(2);
        expect(await repos.renditions.countOf('other')).toBe(1);
      });

      it('report groups by format and spans the reads', async () => {
        expect(await repos.renditions.report()).toEqual({ byFormat: [], images: 0, oldestAccess: null, newestAccess: null });
        await repos.renditions.put(entry('a', { imageId: 'i1', format: 'webp', bytes: 10, lastAccess: 5 }));
        await repos.renditions.put(entry('b', { imageId: 'i1', format: 'avif', bytes: 20, lastAccess: 9 }));
        await repos.renditions.put(entry('c', { imageId: 'i2', format: 'webp', bytes: 30, lastAccess: 7 }));
        const r = await repos.renditions.report();
        expect([...r.byFormat].sort((x, y) => x.format.localeCompare(y.format))).toEqual([
          { format: 'avif', entries: 1, bytes: 20 },
          { format: 'webp', entries: 2, bytes: 40 },
        ]);
        expect(r).toMatchObject({ images: 2, oldestAccess: 5, newestAccess: 9 });
      });
    });

    describe('images: inserts, names and counts', () => {
      const image = (id: string, over: Partial<NewImage> = {}): NewImage => ({
        id,
        ownerId: null,
        hash: `hash-${id}`,
        format: 'jpeg',
        width: 40,
        height: 30,
        bytes: 100,
        frames: 1,
        hasAlpha: false,
        clean: true,
        orientation: 'landscape',
        placeholder: null,
        placeholderUri: null,
        dominant: null,
        visibility: 'public',
        collection: null,
        tags: '[]',
        filename: null,
        publicId: null,
        ...over,
      });
      const inserted = async (row: NewImage, tags: string[] = []) => {
        const done = await repos.images.insert(row, tags);
        if (!('inserted' in done)) throw new Error(`not inserted: ${JSON.stringify(done)}`);
        return done.inserted;
      };

      it('an empty library counts no images and has no showcase', async () => {
        expect(await repos.images.count()).toBe(0);
        expect(await repos.images.showcase()).toBeUndefined();
      });

      const user = async (username: string) => (await repos.users.insertUnlessTaken({ username, passwordHash: 'x', role: 'user' }))!.id;

      it('insert stores the row with its tags; count counts every owner’s', async () => {
        const owner = await user('ann');
        const row = await inserted(image('a1', { tags: '["cat"]', ownerId: owner }), ['cat']);
        expect(row).toMatchObject({ ...image('a1', { tags: '["cat"]', ownerId: owner }), focalX: null, focalY: null });
        expect(typeof row.createdAt).toBe('number');
        expect(await repos.images.byId('a1')).toEqual(row);
        await inserted(image('b1', { ownerId: null }));
        expect(await repos.images.count()).toBe(2);
        expect((await repos.images.page({ limit: 10, offset: 0, tag: 'cat' })).rows.map((r) => r.id)).toEqual(['a1']);
      });

      it('insert answers the owner’s existing image of the same bytes, or taken for a taken public id, inserting nothing', async () => {
        const [ann, bob] = [await user('ann'), await user('bob')];
        const first = await inserted(image('a1', { hash: 'h', ownerId: ann }));
        expect(await repos.images.insert(image('a2', { hash: 'h', ownerId: ann }), [])).toEqual({ existing: first });
        // Another owner (or none) may hold the same bytes.
        await inserted(image('a3', { hash: 'h', ownerId: bob }));
        await inserted(image('a4', { hash: 'h', ownerId: null }));
        expect(await repos.images.insert(image('a5', { hash: 'h', ownerId: null }), [])).toMatchObject({ existing: { id: 'a4' } });
        await inserted(image('p1', { publicId: 'blog/cat' }));
        expect(await repos.images.insert(image('p2', { publicId: 'blog/cat' }), [])).toEqual({ taken: true });
        expect(await repos.images.insert(image('p3', { publicId: 'a1' }), [])).toEqual({ taken: true });
        expect(await repos.images.count()).toBe(4);
      });

      it('byHash finds the owner’s image of these bytes (null: no owner)', async () => {
        const [ann, bob] = [await user('ann'), await user('bob')];
        await inserted(image('a1', { hash: 'h', ownerId: ann }));
        await inserted(image('n1', { hash: 'h', ownerId: null }));
        expect((await repos.images.byHash(ann, 'h'))?.id).toBe('a1');
        expect((await repos.images.byHash(null, 'h'))?.id).toBe('n1');
        expect(await repos.images.byHash(bob, 'h')).toBeUndefined();
        expect(await repos.images.byHash(ann, 'other')).toBeUndefined();
      });

      it('rename moves the name, keeps the old one as a redirect, and refuses a taken name', async () => {
        const a = await inserted(image('a1', { publicId: 'old' }));
        await inserted(image('b1', { publicId: 'theirs' }));
        expect(await repos.images.rename(a, 'old')).toBe(a);
        expect(await repos.images.rename(a, 'theirs')).toBeUndefined();
        expect(await repos.images.rename(a, 'b1')).toBeUndefined();
        const renamed = await repos.images.rename(a, 'new');
        expect(renamed).toMatchObject({ id: 'a1', publicId: 'new' });
        expect((await repos.images.renamed('old'))?.id).toBe('a1');
        expect(await repos.images.nameTaken('old')).toBe(true);
        // The image itself may take back its old name, which then no longer redirects.
        expect(await repos.images.nameTaken('old', 'a1')).toBe(false);
        const back = await repos.images.rename(renamed!, 'old');
        expect(back).toMatchObject({ publicId: 'old' });
        expect(await repos.images.renamed('old')).toBeUndefined();
        expect((await repos.images.renamed('new'))?.id).toBe('a1');
        const none = await repos.images.rename(back!, null);
        expect(none).toMatchObject({ publicId: null });
        expect((await repos.images.renamed('old'))?.id).toBe('a1');
      });

      it('nameTaken: public ids, random ids, aliases and retired names, but not the image’s own', async () => {
        const a = await inserted(image('a1', { publicId: 'cat' }));
        expect(await repos.images.nameTaken('cat')).toBe(true);
        expect(await repos.images.nameTaken('cat', 'a1')).toBe(false);
        expect(await repos.images.nameTaken('a1')).toBe(true);
        expect(await repos.images.nameTaken('free')).toBe(false);
        await repos.images.delete(a);
        expect(await repos.images.nameTaken('cat')).toBe(true);
        expect(await repos.images.isRetired('cat')).toBe(true);
      });

      it('showcase prefers the largest public landscape JPEG, else any image', async () => {
        await inserted(image('png', { format: 'png', bytes: 900 }));
        expect((await repos.images.showcase())?.id).toBe('png');
        await inserted(image('small', { bytes: 100 }));
        await inserted(image('big', { bytes: 500 }));
        await inserted(image('private', { bytes: 800, visibility: 'private' }));
        await inserted(image('tall', { bytes: 800, orientation: 'portrait' }));
        expect((await repos.images.showcase())?.id).toBe('big');
      });
    });

    describe('remote originals', () => {
      const described = (hash: string, bytes = 100) => ({
        hash,
        format: 'jpeg',
        width: 40,
        height: 30,
        bytes,
        frames: 1,
        hasAlpha: false,
        clean: true,
        orientation: 'landscape' as const,
        placeholder: null,
        placeholderUri: null,
        dominant: null,
      });
      const source = (over: Partial<{ etag: string | null; fetchedAt: number; checkedAt: number }> = {}) => ({
        imageId: 'o1',
        origin: 'cdn',
        path: 'a/b.jpg',
        etag: '"v1"',
        lastModified: null,
        fetchedAt: 10,
        checkedAt: 10,
        ...over,
      });

      it('store inserts the image with its source; a second store replaces the bytes’ columns and the source', async () => {
        expect(await repos.origins.sourceOf('o1')).toBeUndefined();
        const first = await repos.origins.store({ id: 'o1', visibility: 'public', filename: 'b.jpg', ...described('h1') }, source());
        expect(first).toMatchObject({ id: 'o1', ownerId: null, hash: 'h1', visibility: 'public', filename: 'b.jpg', publicId: null });
        expect(await repos.images.byId('o1')).toEqual(first);
        expect(await repos.origins.sourceOf('o1')).toEqual(source());
        const second = await repos.origins.store(
          { id: 'o1', visibility: 'private', filename: 'other.jpg', ...described('h2', 200) },
          source({ etag: '"v2"', fetchedAt: 20, checkedAt: 20 }),
        );
        // The bytes changed; the row's own settings stay.
        expect(second).toMatchObject({ id: 'o1', hash: 'h2', bytes: 200, visibility: 'public', filename: 'b.jpg', createdAt: first.createdAt });
        expect(await repos.origins.sourceOf('o1')).toEqual(source({ etag: '"v2"', fetchedAt: 20, checkedAt: 20 }));
        expect(await repos.images.count()).toBe(1);
      });

      it('touch records a revalidation on the source', async () => {
        await repos.origins.store({ id: 'o1', visibility: 'public', filename: null, ...described('h1') }, source());
        await repos.origins.touch('o1', { checkedAt: 99 });
        expect(await repos.origins.sourceOf('o1')).toEqual(source({ checkedAt: 99 }));
        await repos.origins.touch('nope', { checkedAt: 99 });
        expect(await repos.origins.sourceOf('nope')).toBeUndefined();
      });
    });

    describe('direct uploads', () => {
      const upload = (id: string, over: Partial<Parameters<Repos['directUploads']['create']>[0]> = {}) => ({
        id,
        caller: 'user:1',
        ownerId: 1,
        contentType: 'image/png',
        bytes: 123,
        options: '{}',
        expiresAt: 1_000,
        completeBy: 1_600,
        ...over,
      });

      it('creates a pending upload and reads it back; an unknown id is undefined; ids are unique', async () => {
        await repos.directUploads.create(upload('u1', { options: '{"tags":["a"]}' }));
        expect(await repos.directUploads.byId('u1')).toMatchObject({
          ...upload('u1', { options: '{"tags":["a"]}' }),
          state: 'pending',
          result: null,
          claimedAt: null,
        });
        expect(await repos.directUploads.byId('nope')).toBeUndefined();
        await expect(repos.directUploads.create(upload('u1'))).rejects.toThrow();
      });

      it('openFor answers the caller’s open uploads’ deadlines, soonest first', async () => {
        await repos.directUploads.create(upload('late', { completeBy: 900 }));
        await repos.directUploads.create(upload('soon', { completeBy: 700 }));
        await repos.directUploads.create(upload('expired', { completeBy: 100 }));
        await repos.directUploads.create(upload('done', { completeBy: 800 }));
        await repos.directUploads.settle('done', 'done', '{"imageId":"x"}');
        await repos.directUploads.create(upload('theirs', { caller: 'user:2', completeBy: 800 }));
        expect(await repos.directUploads.openFor('user:1', 200)).toEqual([700, 900]);
        expect(await repos.directUploads.openFor('key:none', 200)).toEqual([]);
      });

      it('claims a pending upload once; a stale claim may be retaken', async () => {
        await repos.directUploads.create(upload('u1'));
        expect(await repos.directUploads.claim('u1', 100, 0)).toMatchObject({ id: 'u1', state: 'completing', claimedAt: 100 });
        expect(await repos.directUploads.claim('u1', 150, 50)).toBeUndefined();
        expect(await repos.directUploads.claim('u1', 500, 200)).toMatchObject({ state: 'completing', claimedAt: 500 });
        expect(await repos.directUploads.claim('nope', 500, 200)).toBeUndefined();
      });

      it('settle records the outcome and drops the claim; a settled upload cannot be claimed', async () => {
        await repos.directUploads.create(upload('u1'));
        await repos.directUploads.claim('u1', 100, 0);
        await repos.directUploads.settle('u1', 'refused', '{"status":415}');
        expect(await repos.directUploads.byId('u1')).toMatchObject({ state: 'refused', result: '{"status":415}', claimedAt: null });
        expect(await repos.directUploads.claim('u1', 100_000, 99_999)).toBeUndefined();
        await repos.directUploads.settle('u1', 'pending', null);
        expect(await repos.directUploads.byId('u1')).toMatchObject({ state: 'pending', result: null });
      });

      it('due answers uploads past completeBy in any state, up to the limit; delete removes one', async () => {
        await repos.directUploads.create(upload('a', { completeBy: 10 }));
        await repos.directUploads.create(upload('b', { completeBy: 20 }));
        await repos.directUploads.create(upload('c', { completeBy: 30 }));
        await repos.directUploads.settle('b', 'done', '{}');
        expect((await repos.directUploads.due(25, 10)).map((r) => r.id).sort()).toEqual(['a', 'b']);
        expect(await repos.directUploads.due(25, 1)).toHaveLength(1);
        await repos.directUploads.delete('a');
        await repos.directUploads.delete('nope');
        expect(await repos.directUploads.byId('a')).toBeUndefined();
        expect((await repos.directUploads.due(100, 10)).map((r) => r.id).sort()).toEqual(['b', 'c']);
      });
    });

    describe('users, API keys and usage', () => {
      const key = (id: string, userId: number | null, hash = `h_${id}`) => ({ id, userId, name: id, prefix: id.slice(0, 4), hash, scopes: 'deliver' });

      it('inserts a user unless the name is taken; reads by id and name; counts; changes hash and role', async () => {
        const ada = await repos.users.insertUnlessTaken({ username: 'ada', passwordHash: 'x', role: 'user' });
        expect(ada).toMatchObject({ username: 'ada', passwordHash: 'x', role: 'user' });
        expect(await repos.users.insertUnlessTaken({ username: 'ada', passwordHash: 'y', role: 'admin' })).toBeUndefined();
        expect(await repos.users.byUsername('ada')).toEqual(ada);
        expect(await repos.users.byId(ada!.id)).toEqual(ada);
        expect(await repos.users.byId(ada!.id + 1000)).toBeUndefined();
        await repos.users.setPasswordHash(ada!.id, 'z');
        await repos.users.setRole(ada!.id, 'admin');
        expect(await repos.users.byId(ada!.id)).toMatchObject({ passwordHash: 'z', role: 'admin' });
        expect(await repos.users.count()).toBe(1);
      });

      it('finds a live key by its hash, or by its previous one while the grace lasts; never a revoked one', async () => {
        await repos.keys.insert(key('k1', null, 'new'));
        expect(await repos.keys.liveByHash('new', 100)).toMatchObject({ id: 'k1', requests: 0, revokedAt: null });
        await repos.keys.setSecret('k1', { hash: 'newer', prefix: 'nwr', previousHash: 'new', previousValidUntil: 200 });
        expect(await repos.keys.liveByHash('new', 150)).toMatchObject({ id: 'k1', prefix: 'nwr' });
        expect(await repos.keys.liveByHash('new', 200)).toBeUndefined();
        expect(await repos.keys.revoke('k1', 160)).toBe(true);
        expect(await repos.keys.revoke('nope', 160)).toBe(false);
        expect(await repos.keys.liveByHash('newer', 150)).toBeUndefined();
        expect(await repos.keys.byId('k1')).toMatchObject({ revokedAt: 160, previousHash: null, previousValidUntil: null });
      });

      it('lists keys by owner (null: the system keys), counts and deletes them; the keys’ mark moves on a write', async () => {
        const ada = (await repos.users.insertUnlessTaken({ username: 'ada', passwordHash: 'x', role: 'user' }))!;
        const before = repos.keys.changes();
        await repos.keys.insert(key('sys', null));
        expect(repos.keys.changes()).not.toBe(before);
        await repos.keys.insert(key('own', ada.id));
        expect((await repos.keys.list()).map((k) => k.id).sort()).toEqual(['own', 'sys']);
        expect((await repos.keys.list(null)).map((k) => k.id)).toEqual(['sys']);
        expect((await repos.keys.list(ada.id)).map((k) => k.id)).toEqual(['own']);
        expect(await repos.keys.count()).toBe(2);
        await repos.keys.delete('sys');
        expect(await repos.keys.byId('sys')).toBeUndefined();
        await expect(repos.keys.insert(key('dup', null, 'h_own'))).rejects.toThrow();
      });

      it('adds usage batches to the counters; the last use only moves forward', async () => {
        await repos.keys.insert(key('k1', null));
        await repos.keys.insert(key('k2', null));
        expect(repos.usage.open).toBe(true);
        await repos.usage.add(
          new Map([
            ['k1', { requests: 3, renders: 1, bytes: 500, lastUsedAt: 100 }],
            ['k2', { requests: 1, renders: 0, bytes: 10, lastUsedAt: 0 }],
            ['gone', { requests: 1, renders: 1, bytes: 1, lastUsedAt: 1 }],
          ]),
        );
        await repos.usage.add(new Map([['k1', { requests: 2, renders: 2, bytes: 5_000_000_000, lastUsedAt: 90 }]]));
        expect(await repos.keys.byId('k1')).toMatchObject({ requests: 5, renders: 3, bytesServed: 5_000_000_500, lastUsedAt: 100 });
        expect(await repos.keys.byId('k2')).toMatchObject({ requests: 1, renders: 0, bytesServed: 10, lastUsedAt: null });
        await repos.close();
        expect(repos.usage.open).toBe(false);
      });
    });

    describe('connection', () => {
      it('ping answers while open and rejects once closed', async () => {
        await expect(repos.ping()).resolves.toBeUndefined();
        await repos.close();
        await expect(repos.ping()).rejects.toThrow();
      });
    });

    describe('change mark', () => {
      it('moves when a repository writes, and holds still while nothing changes', async () => {
        const before = repos.changes();
        expect(repos.changes()).toBe(before);
        await repos.tasks.create({ id: 't', kind: 'transform', input: '{}', ownerId: null });
        expect(repos.changes()).not.toBe(before);
      });
    });

    describe('images', () => {
      const img = (id: string, over: Partial<SeedImage> = {}): SeedImage => ({ id, hash: `h-${id}`, createdAt: 1_000, ...over });
      const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

      it('reads a row by id, by public id and through find (either name); unknown names are undefined', async () => {
        await seed.image(img('abc123', { publicId: 'blog/2024/cat', width: 64, height: 48, tags: '["cat"]' }));
        const row = await repos.images.byId('abc123');
        expect(row).toMatchObject({ id: 'abc123', hash: 'h-abc123', publicId: 'blog/2024/cat', width: 64, height: 48, tags: '["cat"]', visibility: 'public' });
        expect(await repos.images.byPublicId('blog/2024/cat')).toEqual(row);
        expect(await repos.images.find('abc123')).toEqual(row);
        expect(await repos.images.find('blog/2024/cat')).toEqual(row);
        expect(await repos.images.byId('nope')).toBeUndefined();
        expect(await repos.images.byPublicId('abc123')).toBeUndefined();
        expect(await repos.images.find('nope')).toBeUndefined();
        expect(await repos.images.find('blog/nope')).toBeUndefined();
      });

      it('find answers a one-segment public id, and an id before a public id spelled like another image’s id', async () => {
        await seed.image(img('i1', { publicId: 'cat' }));
        await seed.image(img('i2', { publicId: 'dog' }));
        expect((await repos.images.find('cat'))?.id).toBe('i1');
        expect((await repos.images.find('i2'))?.id).toBe('i2');
      });

      it('find answers the same frozen row while nothing changes, and the edited row after a write', async () => {
        await seed.image(img('i1', { collection: 'a' }));
        const first = await repos.images.find('i1');
        expect(await repos.images.find('i1')).toBe(first);
        expect(Object.isFrozen(first)).toBe(true);
        await repos.images.update('i1', { collection: 'b' });
        expect(await repos.images.find('i1')).toMatchObject({ collection: 'b' });
        await repos.images.delete({ id: 'i1', hash: 'h-i1', publicId: null });
        expect(await repos.images.find('i1')).toBeUndefined();
      });

      it('byIds answers the rows that exist (any order); none for an empty list', async () => {
        for (const id of ['a', 'b', 'c']) await seed.image(img(id));
        expect(ids(await repos.images.byIds(['c', 'nope', 'a'])).sort()).toEqual(['a', 'c']);
        expect(await repos.images.byIds([])).toEqual([]);
        expect(await repos.images.byIds(['nope'])).toEqual([]);
      });

      it('renamed answers the image a former public id redirects to; a current or unknown name is undefined', async () => {
        await seed.image(img('i1', { publicId: 'new/name' }));
        await seed.alias('old/name', 'i1');
        expect(await repos.images.renamed('old/name')).toMatchObject({ id: 'i1', publicId: 'new/name' });
        expect(await repos.images.renamed('new/name')).toBeUndefined();
        expect(await repos.images.renamed('never')).toBeUndefined();
        // A former name is no current name: find and byPublicId do not follow it.
        expect(await repos.images.byPublicId('old/name')).toBeUndefined();
        expect(await repos.images.find('old/name')).toBeUndefined();
      });

      it('page answers newest first (ties by id, descending) with the total, by offset and by keyset', async () => {
        await seed.image(img('a', { createdAt: 10 }));
        await seed.image(img('b', { createdAt: 30 }));
        await seed.image(img('c', { createdAt: 20 }));
        await seed.image(img('d', { createdAt: 20 }));
        await seed.image(img('e', { createdAt: 40 }));
        const all = await repos.images.page({ limit: 10, offset: 0 });
        expect(ids(all.rows)).toEqual(['e', 'b', 'd', 'c', 'a']);
        expect(all.total).toBe(5);
        expect(await repos.images.page({ limit: 2, offset: 2 }).then((p) => [ids(p.rows), p.total])).toEqual([['d', 'c'], 5]);
        expect(ids((await repos.images.page({ limit: 10, offset: 5 })).rows)).toEqual([]);
        // Keyset: strictly older than (created_at, id); the offset is ignored.
        const after = await repos.images.page({ limit: 2, offset: 3, after: { createdAt: 20, id: 'd' } });
        expect(ids(after.rows)).toEqual(['c', 'a']);
        expect(after.total).toBe(5);
        expect(ids((await repos.images.page({ limit: 10, offset: 0, after: { createdAt: 10, id: 'a' } })).rows)).toEqual([]);
      });

      it('page filters by owner, collection, visibility, orientation and tag, alone and together; the total follows', async () => {
        const u1 = (await repos.users.insertUnlessTaken({ username: 'one', passwordHash: 'x', role: 'user' }))!.id;
        const u2 = (await repos.users.insertUnlessTaken({ username: 'two', passwordHash: 'x', role: 'user' }))!.id;
        await seed.image(img('a', { createdAt: 1, ownerId: u1, collection: 'trips', tags: '["cat","sea"]' }));
        await seed.image(img('b', { createdAt: 2, ownerId: u1, visibility: 'private', orientation: 'portrait', tags: '["cat"]' }));
        await seed.image(img('c', { createdAt: 3, ownerId: u2, collection: 'trips', orientation: 'square' }));
        await seed.image(img('d', { createdAt: 4, tags: '["sea"]' }));
        const q = async (filters: Partial<Parameters<Repos['images']['page']>[0]>) => {
          const p = await repos.images.page({ limit: 10, offset: 0, ...filters });
          return { ids: ids(p.rows), total: p.total };
        };
        expect(await q({ ownerId: u1 })).toEqual({ ids: ['b', 'a'], total: 2 });
        expect(await q({ collection: 'trips' })).toEqual({ ids: ['c', 'a'], total: 2 });
        expect(await q({ visibility: 'private' })).toEqual({ ids: ['b'], total: 1 });
        expect(await q({ visibility: 'public' })).toEqual({ ids: ['d', 'c', 'a'], total: 3 });
        expect(await q({ orientation: 'landscape' })).toEqual({ ids: ['d', 'a'], total: 2 });
        expect(await q({ tag: 'cat' })).toEqual({ ids: ['b', 'a'], total: 2 });
        expect(await q({ tag: 'sea', ownerId: u1 })).toEqual({ ids: ['a'], total: 1 });
        expect(await q({ tag: 'cat', visibility: 'public', collection: 'trips' })).toEqual({ ids: ['a'], total: 1 });
        expect(await q({ tag: 'none' })).toEqual({ ids: [], total: 0 });
        expect(await q({ ownerId: 999 })).toEqual({ ids: [], total: 0 });
        // A page smaller than the match still counts every match.
        expect(await repos.images.page({ limit: 1, offset: 0, tag: 'sea' }).then((p) => [ids(p.rows), p.total])).toEqual([['d'], 2]);
      });

      it('update changes the given columns only, re-indexes tags with them, and answers the row; an unknown id is undefined', async () => {
        await seed.image(img('i1', { collection: 'a', tags: '["old"]', focalX: 0.1, focalY: 0.2 }));
        const row = await repos.images.update('i1', { tags: ['new', 'more'], visibility: 'private' });
        expect(row).toMatchObject({ id: 'i1', tags: '["new","more"]', visibility: 'private', collection: 'a', focalX: 0.1, focalY: 0.2 });
        expect(await repos.images.byId('i1')).toEqual(row);
        expect((await repos.images.page({ limit: 10, offset: 0, tag: 'old' })).total).toBe(0);
        expect(ids((await repos.images.page({ limit: 10, offset: 0, tag: 'more' })).rows)).toEqual(['i1']);
        expect(await repos.images.update('i1', { collection: null, focalX: 0.5, focalY: 0.75 })).toMatchObject({
          collection: null,
          focalX: 0.5,
          focalY: 0.75,
          tags: '["new","more"]',
        });
        // Clearing the tags clears the index too.
        expect(await repos.images.update('i1', { tags: [] })).toMatchObject({ tags: '[]' });
        expect((await repos.images.page({ limit: 10, offset: 0, tag: 'new' })).total).toBe(0);
        expect(await repos.images.update('nope', { collection: 'x', tags: ['t'] })).toBeUndefined();
        expect((await repos.images.page({ limit: 10, offset: 0, tag: 't' })).total).toBe(0);
      });

      it('delete removes the row with its tags and variants, and retires its public id and every former name', async () => {
        await seed.image(img('i1', { publicId: 'now', tags: '["cat"]' }));
        await seed.alias('before', 'i1');
        await seed.image(img('i2', { publicId: 'other' }));
        await repos.images.recordVariant({ imageId: 'i1', options: 'w_10', format: 'webp', width: 10, height: 8, bytes: 50 });
        expect(await repos.images.isRetired('now')).toBe(false);
        expect(await repos.images.delete({ id: 'i1', hash: 'h-i1', publicId: 'now' })).toEqual({ hashStillUsed: false });
        expect(await repos.images.byId('i1')).toBeUndefined();
        expect(await repos.images.renamed('before')).toBeUndefined();
        expect(await repos.images.variantsOf(['i1'])).toEqual([]);
        expect((await repos.images.page({ limit: 10, offset: 0, tag: 'cat' })).total).toBe(0);
        expect(await repos.images.isRetired('now')).toBe(true);
        expect(await repos.images.isRetired('before')).toBe(true);
        expect(await repos.images.isRetired('other')).toBe(false);
        expect(await repos.images.isRetired('never')).toBe(false);
        expect(await repos.images.byId('i2')).toBeDefined();
      });

      it('delete of an image without a public id retires nothing; deleting what is gone is harmless', async () => {
        await seed.image(img('i1'));
        expect(await repos.images.delete({ id: 'i1', hash: 'h-i1', publicId: null })).toEqual({ hashStillUsed: false });
        expect(await repos.images.isRetired('i1')).toBe(false);
        expect(await repos.images.delete({ id: 'i1', hash: 'h-i1', publicId: null })).toEqual({ hashStillUsed: false });
      });

      it('hashInUse and delete’s hashStillUsed say whether another row still uses the same bytes', async () => {
        const u1 = (await repos.users.insertUnlessTaken({ username: 'one', passwordHash: 'x', role: 'user' }))!.id;
        await seed.image(img('a', { hash: 'shared' }));
        await seed.image(img('b', { hash: 'shared', ownerId: u1 }));
        expect(await repos.images.hashInUse('shared')).toBe(true);
        expect(await repos.images.hashInUse('nope')).toBe(false);
        expect(await repos.images.delete({ id: 'a', hash: 'shared', publicId: null })).toEqual({ hashStillUsed: true });
        expect(await repos.images.hashInUse('shared')).toBe(true);
        expect(await repos.images.delete({ id: 'b', hash: 'shared', publicId: null })).toEqual({ hashStillUsed: false });
        expect(await repos.images.hashInUse('shared')).toBe(false);
      });

      it('recordVariant records, refreshes one (image, options, format) in place, and refuses a deleted image', async () => {
        await seed.image(img('i1'));
        await seed.image(img('i2'));
        const v = { imageId: 'i1', options: 'w_10', format: 'webp', width: 10, height: 8, bytes: 50 };
        expect(await repos.images.recordVariant(v)).toBe(true);
        expect(await repos.images.recordVariant({ ...v, format: 'avif', bytes: 40 })).toBe(true);
        expect(await repos.images.recordVariant({ ...v, imageId: 'i2', options: 'w_20' })).toBe(true);
        // Same image, options and format: refreshed, not added.
        expect(await repos.images.recordVariant({ ...v, width: 11, height: 9, bytes: 55 })).toBe(true);
        expect(await repos.images.recordVariant({ ...v, imageId: 'gone' })).toBe(false);
        expect(await repos.images.variantsOf(['gone'])).toEqual([]);
        const mine = await repos.images.variantsOf(['i1']);
        expect(mine.map((r) => [r.format, r.width, r.height, r.bytes])).toEqual(
          expect.arrayContaining([
            ['webp', 11, 9, 55],
            ['avif', 10, 8, 40],
          ]),
        );
        expect(mine).toHaveLength(2);
        expect(mine[0]).toMatchObject({ imageId: 'i1', options: 'w_10' });
        expect(typeof mine[0]!.id).toBe('number');
        expect(typeof mine[0]!.createdAt).toBe('number');
        expect(await repos.images.variantsOf(['i1', 'i2'])).toHaveLength(3);
        expect(await repos.images.variantsOf([])).toEqual([]);
      });

      it('variantsOf answers newest first', async () => {
        await seed.image(img('i1'));
        for (const w of [10, 20, 30]) await repos.images.recordVariant({ imageId: 'i1', options: `w_${w}`, format: 'webp', width: w, height: w, bytes: w });
        // Recorded within the same second: the later record is the newer.
        expect((await repos.images.variantsOf(['i1'])).map((r) => r.options)).toEqual(['w_30', 'w_20', 'w_10']);
      });
    });

    describe('presets', () => {
      it('save creates, then replaces keeping createdAt; byName reads it; an unknown name is undefined', async () => {
        expect(await repos.presets.byName('card')).toBeUndefined();
        expect(await repos.presets.save('card', 'w_300,h_200', 100)).toEqual({
          row: { name: 'card', options: 'w_300,h_200', createdAt: 100, updatedAt: 100 },
          created: true,
        });
        expect(await repos.presets.byName('card')).toEqual({ name: 'card', options: 'w_300,h_200', createdAt: 100, updatedAt: 100 });
        expect(await repos.presets.save('card', 'w_400', 200)).toEqual({
          row: { name: 'card', options: 'w_400', createdAt: 100, updatedAt: 200 },
          created: false,
        });
        expect(await repos.presets.byName('card')).toMatchObject({ options: 'w_400', updatedAt: 200 });
        expect(await repos.presets.byName('nope')).toBeUndefined();
      });

      it('byName answers the same frozen row while nothing changes', async () => {
        await repos.presets.save('card', 'w_300', 100);
        const first = await repos.presets.byName('card');
        expect(await repos.presets.byName('card')).toBe(first);
        expect(Object.isFrozen(first)).toBe(true);
        await repos.presets.save('card', 'w_500', 101);
        expect(await repos.presets.byName('card')).toMatchObject({ options: 'w_500' });
      });

      it('list answers every preset by name', async () => {
        expect(await repos.presets.list()).toEqual([]);
        for (const name of ['thumb', 'avatar', 'card']) await repos.presets.save(name, 'w_10', 1);
        expect((await repos.presets.list()).map((p) => p.name)).toEqual(['avatar', 'card', 'thumb']);
      });

      it('delete says whether there was one; a deleted preset is gone', async () => {
        await repos.presets.save('card', 'w_300', 100);
        await repos.presets.byName('card');
        expect(await repos.presets.delete('card')).toBe(true);
        expect(await repos.presets.delete('card')).toBe(false);
        expect(await repos.presets.byName('card')).toBeUndefined();
        expect(await repos.presets.list()).toEqual([]);
        // Saved again after a delete: created anew.
        expect((await repos.presets.save('card', 'w_1', 300)).created).toBe(true);
      });
    });

    describe('users', () => {
      const user = (username: string, role: 'admin' | 'user' = 'user') => ({ username, passwordHash: `hash-${username}`, role });

      it('inserts a user and reads it back by id and by name; unknown ones are undefined', async () => {
        expect(await repos.users.count()).toBe(0);
        const row = await repos.users.insertUnlessTaken(user('ada', 'admin'));
        expect(row).toMatchObject({ username: 'ada', passwordHash: 'hash-ada', role: 'admin' });
        expect(typeof row!.id).toBe('number');
        expect(typeof row!.createdAt).toBe('number');
        expect(await repos.users.byId(row!.id)).toEqual(row);
        expect(await repos.users.byUsername('ada')).toEqual(row);
        expect(await repos.users.byId(row!.id + 1000)).toBeUndefined();
        expect(await repos.users.byUsername('bob')).toBeUndefined();
        expect(await repos.users.count()).toBe(1);
      });

      it('a taken name inserts nothing and answers undefined; other names get their own ids', async () => {
        const ada = await repos.users.insertUnlessTaken(user('ada'));
        expect(await repos.users.insertUnlessTaken(user('ada', 'admin'))).toBeUndefined();
        expect(await repos.users.byUsername('ada')).toEqual(ada);
        const bob = await repos.users.insertUnlessTaken(user('bob'));
        expect(bob!.id).not.toBe(ada!.id);
        expect(await repos.users.count()).toBe(2);
        expect((await repos.users.list()).map((u) => u.username)).toEqual(['ada', 'bob']);
      });

      it('of names inserted at once, each is taken exactly once', async () => {
        const rows = await Promise.all(['x', 'x', 'y', 'x'].map((name) => repos.users.insertUnlessTaken(user(name))));
        expect(
          rows
            .filter((r) => r !== undefined)
            .map((r) => r!.username)
            .sort(),
        ).toEqual(['x', 'y']);
        expect(await repos.users.count()).toBe(2);
      });

      it('setPasswordHash and setRole change that user only; an unknown id is harmless', async () => {
        const ada = (await repos.users.insertUnlessTaken(user('ada')))!;
        const bob = (await repos.users.insertUnlessTaken(user('bob')))!;
        await repos.users.setPasswordHash(ada.id, 'new-hash');
        await repos.users.setRole(ada.id, 'admin');
        expect(await repos.users.byId(ada.id)).toEqual({ ...ada, passwordHash: 'new-hash', role: 'admin' });
        expect(await repos.users.byId(bob.id)).toEqual(bob);
        await repos.users.setPasswordHash(9999, 'x');
        await repos.users.setRole(9999, 'admin');
        expect(await repos.users.count()).toBe(2);
      });
    });

    describe('keys', () => {
      const key = (id: string, over: Partial<Parameters<Repos['keys']['insert']>[0]> = {}) => ({
        id,
        userId: null,
        name: `key ${id}`,
        prefix: `ip_${id}`,
        hash: `hash-${id}`,
        scopes: 'deliver,upload',
        ...over,
      });

      it('inserts a key and reads it back by id with fresh counters; an unknown id is undefined', async () => {
        await repos.keys.insert(key('k1'));
        const row = await repos.keys.byId('k1');
        expect(row).toMatchObject({
          ...key('k1'),
          lastUsedAt: null,
          revokedAt: null,
          previousHash: null,
          previousValidUntil: null,
          requests: 0,
          renders: 0,
          bytesServed: 0,
        });
        expect(typeof row!.createdAt).toBe('number');
        expect(await repos.keys.byId('nope')).toBeUndefined();
        expect(await repos.keys.count()).toBe(1);
      });

      it('refuses a second key with the same id or the same secret, inserting nothing', async () => {
        await repos.keys.insert(key('k1'));
        await expect(repos.keys.insert(key('k1', { hash: 'other' }))).rejects.toThrow();
        await expect(repos.keys.insert(key('k2', { hash: 'hash-k1' }))).rejects.toThrow();
        expect(await repos.keys.count()).toBe(1);
        expect(await repos.keys.byId('k2')).toBeUndefined();
      });

      it('liveByHash finds a key by its current secret; an unknown secret is undefined', async () => {
        await repos.keys.insert(key('k1'));
        await repos.keys.insert(key('k2'));
        expect(await repos.keys.liveByHash('hash-k2', 100)).toMatchObject({ id: 'k2' });
        expect(await repos.keys.liveByHash('hash-nope', 100)).toBeUndefined();
      });

      it('rotation: the new secret works; the previous one only while its grace lasts, or not at all without grace', async () => {
        await repos.keys.insert(key('k1'));
        await repos.keys.setSecret('k1', { hash: 'second', prefix: 'ip_2', previousHash: 'hash-k1', previousValidUntil: 200 });
        expect(await repos.keys.byId('k1')).toMatchObject({ hash: 'second', prefix: 'ip_2', previousHash: 'hash-k1', previousValidUntil: 200 });
        expect(await repos.keys.liveByHash('second', 100)).toMatchObject({ id: 'k1' });
        expect(await repos.keys.liveByHash('hash-k1', 199)).toMatchObject({ id: 'k1' });
        // The grace ends at previousValidUntil.
        expect(await repos.keys.liveByHash('hash-k1', 200)).toBeUndefined();
        expect(await repos.keys.liveByHash('hash-k1', 500)).toBeUndefined();
        // A rotation without grace ends the previous secret at once.
        await repos.keys.setSecret('k1', { hash: 'third', prefix: 'ip_3', previousHash: null, previousValidUntil: null });
        expect(await repos.keys.liveByHash('second', 100)).toBeUndefined();
        expect(await repos.keys.liveByHash('third', 100)).toMatchObject({ id: 'k1' });
      });

      it('revoke refuses the key by either secret and drops the previous one; false for an unknown key', async () => {
        await repos.keys.insert(key('k1'));
        await repos.keys.insert(key('k2'));
        await repos.keys.setSecret('k1', { hash: 'second', prefix: 'ip_2', previousHash: 'hash-k1', previousValidUntil: 1_000 });
        expect(await repos.keys.revoke('k1', 150)).toBe(true);
        expect(await repos.keys.byId('k1')).toMatchObject({ revokedAt: 150, previousHash: null, previousValidUntil: null, hash: 'second' });
        expect(await repos.keys.liveByHash('second', 100)).toBeUndefined();
        expect(await repos.keys.liveByHash('hash-k1', 100)).toBeUndefined();
        expect(await repos.keys.liveByHash('hash-k2', 100)).toMatchObject({ id: 'k2' });
        expect(await repos.keys.revoke('nope', 150)).toBe(false);
      });

      it('list answers all keys, one user’s, or the system keys (no owner), newest first', async () => {
        const ada = (await repos.users.insertUnlessTaken({ username: 'ada', passwordHash: 'x', role: 'user' }))!.id;
        const bob = (await repos.users.insertUnlessTaken({ username: 'bob', passwordHash: 'x', role: 'user' }))!.id;
        await repos.keys.insert(key('sys'));
        await repos.keys.insert(key('a1', { userId: ada }));
        await repos.keys.insert(key('a2', { userId: ada }));
        await repos.keys.insert(key('b1', { userId: bob }));
        const sorted = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();
        const all = await repos.keys.list();
        expect(sorted(all)).toEqual(['a1', 'a2', 'b1', 'sys']);
        const created = all.map((r) => r.createdAt);
        expect(created).toEqual([...created].sort((x, y) => y - x));
        expect(sorted(await repos.keys.list(ada))).toEqual(['a1', 'a2']);
        expect(sorted(await repos.keys.list(null))).toEqual(['sys']);
        expect(await repos.keys.list(9999)).toEqual([]);
      });

      it('delete removes a key; an unknown id is harmless', async () => {
        await repos.keys.insert(key('k1'));
        await repos.keys.delete('k1');
        await repos.keys.delete('k1');
        expect(await repos.keys.byId('k1')).toBeUndefined();
        expect(await repos.keys.liveByHash('hash-k1', 1)).toBeUndefined();
        expect(await repos.keys.count()).toBe(0);
      });

      it('the keys’ change mark moves on every write to a key', async () => {
        let mark = repos.keys.changes();
        expect(repos.keys.changes()).toBe(mark);
        const moved = () => {
          const now = repos.keys.changes();
          const ok = now !== mark;
          mark = now;
          return ok;
        };
        await repos.keys.insert(key('k1'));
        expect(moved()).toBe(true);
        await repos.keys.setSecret('k1', { hash: 'h2', prefix: 'p2', previousHash: null, previousValidUntil: null });
        expect(moved()).toBe(true);
        await repos.keys.revoke('k1', 5);
        expect(moved()).toBe(true);
        await repos.keys.delete('k1');
        expect(moved()).toBe(true);
      });
    });

    describe('usage', () => {
      const key = (id: string) => ({ id, userId: null, name: '', prefix: `ip_${id}`, hash: `hash-${id}`, scopes: 'deliver' });
      const delta = (over: Partial<UsageDelta> = {}): UsageDelta => ({ requests: 1, renders: 0, bytes: 100, lastUsedAt: 50, ...over });
      const counters = async (id: string) => {
        const row = await repos.keys.byId(id);
        return row && { requests: row.requests, renders: row.renders, bytes: row.bytesServed, lastUsedAt: row.lastUsedAt };
      };

      it('adds each batch to the keys’ counters; the last use only moves forward', async () => {
        await repos.keys.insert(key('a'));
        await repos.keys.insert(key('b'));
        await repos.usage.add(
          new Map([
            ['a', delta({ requests: 3, renders: 2, bytes: 300, lastUsedAt: 50 })],
            ['b', delta({ requests: 1, renders: 0, bytes: 10, lastUsedAt: 40 })],
          ]),
        );
        await repos.usage.add(new Map([['a', delta({ requests: 2, renders: 1, bytes: 20, lastUsedAt: 60 })]]));
        expect(await counters('a')).toEqual({ requests: 5, renders: 3, bytes: 320, lastUsedAt: 60 });
        expect(await counters('b')).toEqual({ requests: 1, renders: 0, bytes: 10, lastUsedAt: 40 });
        // An older batch (flushed late) and a batch without requests keep the last use.
        await repos.usage.add(new Map([['a', delta({ requests: 1, lastUsedAt: 55 })]]));
        await repos.usage.add(new Map([['a', delta({ requests: 0, bytes: 0, lastUsedAt: 0 })]]));
        expect(await counters('a')).toEqual({ requests: 6, renders: 3, bytes: 420, lastUsedAt: 60 });
      });

      it('a key deleted before the flush, or an empty batch, is skipped', async () => {
        await repos.keys.insert(key('a'));
        await repos.usage.add(
          new Map([
            ['gone', delta()],
            ['a', delta()],
          ]),
        );
        await repos.usage.add(new Map());
        expect(await counters('a')).toEqual({ requests: 1, renders: 0, bytes: 100, lastUsedAt: 50 });
        expect(await repos.keys.byId('gone')).toBeUndefined();
      });

      it('a batch is one unit of work: when one delta fails, none is added', async () => {
        await repos.keys.insert(key('a'));
        await repos.keys.insert(key('b'));
        await expect(
          repos.usage.add(
            new Map([
              ['a', delta()],
              ['b', delta({ requests: Number.NaN })],
            ]),
          ),
        ).rejects.toThrow();
        expect(await counters('a')).toEqual({ requests: 0, renders: 0, bytes: 0, lastUsedAt: null });
        expect(await counters('b')).toEqual({ requests: 0, renders: 0, bytes: 0, lastUsedAt: null });
      });

      it('is open until the repositories close', async () => {
        expect(repos.usage.open).toBe(true);
        await repos.close();
        expect(repos.usage.open).toBe(false);
      });
    });

    describe('change mark, for every write', () => {
      // Each write, after the setup it needs; the mark must move across it.
      const writes: Array<[string, (r: Repos, seed: RepoSeed) => Promise<unknown>, ((r: Repos, seed: RepoSeed) => Promise<unknown>)?]> = [
        ['images.update', (r) => r.images.update('i1', { collection: 'c' }), (_, s) => s.image({ id: 'i1', hash: 'h' })],
        ['images.delete', (r) => r.images.delete({ id: 'i1', hash: 'h', publicId: 'p' }), (_, s) => s.image({ id: 'i1', hash: 'h', publicId: 'p' })],
        [
          'images.recordVariant',
          (r) => r.images.recordVariant({ imageId: 'i1', options: 'w_1', format: 'webp', width: 1, height: 1, bytes: 1 }),
          (_, s) => s.image({ id: 'i1', hash: 'h' }),
        ],
        ['presets.save', (r) => r.presets.save('p', 'w_1', 1)],
        ['presets.delete', (r) => r.presets.delete('p'), (r) => r.presets.save('p', 'w_1', 1)],
        ['users.insertUnlessTaken', (r) => r.users.insertUnlessTaken({ username: 'u', passwordHash: 'x', role: 'user' })],
        [
          'users.setPasswordHash',
          async (r) => r.users.setPasswordHash((await r.users.byUsername('u'))!.id, 'y'),
          (r) => r.users.insertUnlessTaken({ username: 'u', passwordHash: 'x', role: 'user' }),
        ],
        [
          'users.setRole',
          async (r) => r.users.setRole((await r.users.byUsername('u'))!.id, 'admin'),
          (r) => r.users.insertUnlessTaken({ username: 'u', passwordHash: 'x', role: 'user' }),
        ],
        ['keys.insert', (r) => r.keys.insert({ id: 'k', userId: null, name: '', prefix: 'p', hash: 'h', scopes: 'deliver' })],
        ['keys.revoke', (r) => r.keys.revoke('k', 1), (r) => r.keys.insert({ id: 'k', userId: null, name: '', prefix: 'p', hash: 'h', scopes: 'deliver' })],
        [
          'keys.setSecret',
          (r) => r.keys.setSecret('k', { hash: 'h2', prefix: 'p2', previousHash: 'h', previousValidUntil: 9 }),
          (r) => r.keys.insert({ id: 'k', userId: null, name: '', prefix: 'p', hash: 'h', scopes: 'deliver' }),
        ],
        ['keys.delete', (r) => r.keys.delete('k'), (r) => r.keys.insert({ id: 'k', userId: null, name: '', prefix: 'p', hash: 'h', scopes: 'deliver' })],
        [
          'usage.add',
          (r) => r.usage.add(new Map([['k', { requests: 1, renders: 1, bytes: 1, lastUsedAt: 1 }]])),
          (r) => r.keys.insert({ id: 'k', userId: null, name: '', prefix: 'p', hash: 'h', scopes: 'deliver' }),
        ],
      ];
      it.each(writes)('moves across %s', async (_, write, setup) => {
        await setup?.(repos, seed);
        const before = repos.changes();
        await write(repos, seed);
        expect(repos.changes()).not.toBe(before);
      });
    });

    describe('images: the random pool’s reads', () => {
      /** Every page of a walk of `limit` rows, and the rows of all of them. */
      const walk = async (r: Repos, limit: number, between?: (page: number) => Promise<void>) => {
        const pages: PoolRow[][] = [];
        let after: string | undefined;
        do {
          const page = await r.images.poolPage(after, limit);
          expect(page.rows.length).toBeLessThanOrEqual(limit);
          pages.push(page.rows);
          after = page.next;
          await between?.(pages.length);
        } while (after !== undefined);
        return { pages, rows: pages.flat() };
      };
      const ids = (rows: PoolRow[]) => rows.map((r) => r.id);

      it('poolPage on an empty library answers no rows and no next page', async () => {
        expect(await repos.images.poolPage(undefined, 10)).toEqual({ rows: [], next: undefined });
      });

      it('poolPage walks every image once, page by page, in the same order each time, with the pool’s columns only', async () => {
        const owner = (await repos.users.insertUnlessTaken({ username: 'ann', passwordHash: 'x', role: 'user' }))!.id;
        await seed.image({
          id: 'c',
          hash: 'hc',
          ownerId: owner,
          visibility: 'private',
          collection: 'trips',
          orientation: 'portrait',
          width: 30,
          height: 40,
          tags: '["cat","sea"]',
        });
        for (const id of ['a', 'e', 'b', 'd']) await seed.image({ id, hash: `h${id}` });
        const { pages, rows } = await walk(repos, 2);
        expect(ids(rows).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(pages.slice(0, 3).map((p) => p.length)).toEqual([2, 2, 1]);
        expect(rows.find((r) => r.id === 'c')).toEqual({
          id: 'c',
          ownerId: owner,
          visibility: 'private',
          collection: 'trips',
          orientation: 'portrait',
          width: 30,
          height: 40,
          tags: '["cat","sea"]',
        });
        expect(rows.find((r) => r.id === 'a')).toEqual({
          id: 'a',
          ownerId: null,
          visibility: 'public',
          collection: null,
          orientation: 'landscape',
          width: 40,
          height: 30,
          tags: '[]',
        });
        expect(ids((await walk(repos, 2)).rows)).toEqual(ids(rows));
        // Pages as large as the library (or larger) end the walk just the same.
        expect(ids((await walk(repos, 5)).rows)).toEqual(ids(rows));
        expect(ids((await walk(repos, 100)).rows)).toEqual(ids(rows));
      });

      it('poolPage answers no row twice and misses none left alone while rows come and go during a walk', async () => {
        for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await seed.image({ id, hash: `h${id}` });
        const { rows } = await walk(repos, 2, async (page) => {
          if (page !== 1) return;
          const seen = (await repos.images.poolPage(undefined, 2)).rows[0]!;
          await repos.images.delete({ id: seen.id, hash: `h${seen.id}`, publicId: null });
          await seed.image({ id: 'new', hash: 'hnew' });
        });
        expect(new Set(ids(rows)).size).toBe(rows.length);
        expect(ids(rows)).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd', 'e', 'f']));
      });

      it('foreignWrites holds still across this process’s own writes, and moves once another process or node writes images', async () => {
        const peer = await f.peer();
        const before = repos.images.foreignWrites();
        await seed.image({ id: 'mine', hash: 'hm', publicId: 'mine/name' });
        await repos.images.update('mine', { collection: 'x', tags: ['t'] });
        const mine = (await repos.images.byId('mine'))!;
        await repos.images.rename(mine, 'mine/other');
        await repos.images.delete({ id: 'mine', hash: 'hm', publicId: 'mine/other' });
        // Long enough for a notification of our own writes to have come back, had one been sent to us.
        await new Promise((r) => setTimeout(r, 100));
        expect(repos.images.foreignWrites()).toBe(before);

        await seedThrough(peer).image({ id: 'theirs', hash: 'ht' });
        await expect.poll(() => repos.images.foreignWrites(), { timeout: 5000 }).not.toBe(before);
        expect(ids((await walk(repos, 10)).rows)).toContain('theirs');
        const after = repos.images.foreignWrites();
        expect(repos.images.foreignWrites()).toBe(after);
        await peer.images.update('theirs', { visibility: 'private' });
        await expect.poll(() => repos.images.foreignWrites(), { timeout: 5000 }).not.toBe(after);
      });

      it('poolPage and foreignWrites are reads: the change mark stays put', async () => {
        await seed.image({ id: 'a', hash: 'ha' });
        const before = repos.changes();
        await repos.images.poolPage(undefined, 10);
        repos.images.foreignWrites();
        expect(repos.changes()).toBe(before);
      });
    });
  });
}
