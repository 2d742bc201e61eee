import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Repos } from '../../src/repos/index.js';
import type { RenditionEntry } from '../../src/repos/renditions.js';

/**
 * What every database behind `Repos` must do, asserted through the interfaces only (no SQL), so
 * the SQLite implementation and any other (PostgreSQL, issue 13) run the very same suite.
 * `make` opens an empty, migrated database; `cleanup` closes and removes it.
 */
export interface RepoFixture {
  repos: Repos;
  cleanup(): Promise<void>;
}

export function repoContract(name: string, make: () => Promise<RepoFixture>) {
  describe(`repositories: ${name}`, () => {
    let f: RepoFixture;
    let repos: Repos;
    beforeEach(async () => {
      f = await make();
      repos = f.repos;
    });
    afterEach(() => f.cleanup());

    describe('tasks', () => {
      const task = (id: string, ownerId: number | null = null) => ({ id, kind: 'transform', input: `{"n":"${id}"}`, ownerId });

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
        expect(await repos.tasks.claim('t1', 100)).toMatchObject({ id: 't1', state: 'running', updatedAt: 100 });
        expect(await repos.tasks.claim('t1', 101)).toBeUndefined();
        expect(await repos.tasks.claim('nope', 101)).toBeUndefined();
      });

      it('finishes, fails and requeues, keeping what each outcome says', async () => {
        for (const id of ['a', 'b', 'c']) {
          await repos.tasks.create(task(id));
          await repos.tasks.claim(id, 10);
        }
        await repos.tasks.finish('a', '{"ok":1}', 20);
        await repos.tasks.fail('b', '{"code":"x"}', 21);
        await repos.tasks.requeue('c', '{"attempts":1}', 22);
        expect(await repos.tasks.byId('a')).toMatchObject({ state: 'done', result: '{"ok":1}', error: null, updatedAt: 20 });
        expect(await repos.tasks.byId('b')).toMatchObject({ state: 'failed', error: '{"code":"x"}', updatedAt: 21 });
        expect(await repos.tasks.byId('c')).toMatchObject({ state: 'queued', input: '{"attempts":1}', updatedAt: 22 });
        // Requeued: it can be claimed again.
        expect(await repos.tasks.claim('c', 23)).toMatchObject({ state: 'running' });
      });

      it('resume answers the queued and running tasks and puts the running ones back in the queue', async () => {
        for (const id of ['q', 'r', 'd']) await repos.tasks.create(task(id));
        await repos.tasks.claim('r', 10);
        await repos.tasks.claim('d', 10);
        await repos.tasks.finish('d', '{}', 11);
        expect((await repos.tasks.resume(50)).sort()).toEqual(['q', 'r']);
        expect(await repos.tasks.byId('r')).toMatchObject({ state: 'queued', updatedAt: 50 });
        expect(await repos.tasks.byId('d')).toMatchObject({ state: 'done' });
        expect(await repos.tasks.resume(60)).toHaveLength(2);
      });

      it('resume on an empty queue answers nothing', async () => {
        expect(await repos.tasks.resume(1)).toEqual([]);
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
  });
}
