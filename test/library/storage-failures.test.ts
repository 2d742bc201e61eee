import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, imageRows, makeUser, originalsOnDisk, upload } from './helpers.js';

/**
 * The image store misbehaving the ways a real disk or bucket does: slow, or failing. The routes
 * under test run unchanged on top; only the store's timing or its answer differs.
 */
class UnreliableStore extends LocalStore {
  /** Pause before each removal: a slow disk or a far bucket. */
  deleteDelayMs = 0;
  failDelete = false;
  failPut = false;

  override async delete(key: string) {
    if (this.deleteDelayMs) await new Promise((r) => setTimeout(r, this.deleteDelayMs));
    if (this.failDelete) throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
    return super.delete(key);
  }

  override async put(key: string, data: Buffer) {
    if (this.failPut) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return super.put(key, data);
  }
}

let t: TestApp;
let store: UnreliableStore;
let dataDir: string;

async function appWithStore() {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-store-'));
  store = new UnreliableStore(dataDir);
  t = await testApp({ DATA_DIR: dataDir }, { deps: { store } });
}

afterEach(async () => {
  await t.cleanup();
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('DELETE racing an upload of the same bytes', () => {
  it('never removes the original a concurrent upload by another owner now uses', async () => {
    await appWithStore();
    // Slower than a decode of dune-2mp.jpg, so the upload lands between "nobody uses it" and the removal.
    store.deleteDelayMs = 250;
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    for (let round = 0; round < 4; round++) {
      const mine = await upload(t, alice.key, 'dune-2mp.jpg');
      expect(mine.res.status).toBe(201);
      const [removed, theirs] = await Promise.all([
        t.request(`/images/${mine.body.id}`, { method: 'DELETE', headers: auth(alice.key) }),
        upload(t, bob.key, 'dune-2mp.jpg'),
      ]);
      expect(removed.status).toBe(204);
      expect(theirs.res.status).toBe(201);
      const img = await t.request(`/img/w_100/${theirs.body.id}`, { headers: auth(bob.key) });
      expect(img.status).toBe(200);
      expect(originalsOnDisk(t)).toHaveLength(1);
      // Back to an empty library for the next round.
      expect((await t.request(`/images/${theirs.body.id}`, { method: 'DELETE', headers: auth(bob.key) })).status).toBe(204);
      expect(originalsOnDisk(t)).toHaveLength(0);
    }
  });
});

describe('a store that fails', () => {
  it('a delete whose file removal fails still answers 204: the image is gone and listeners are told', async () => {
    await appWithStore();
    const removed: string[] = [];
    t.deps.events.removed.push((id) => removed.push(id));
    const alice = makeUser(t, 'alice');
    const { body } = await upload(t, alice.key, 'dune-2mp.jpg');
    store.failDelete = true;
    const res = await t.request(`/images/${body.id}`, { method: 'DELETE', headers: auth(alice.key) });
    expect(res.status).toBe(204);
    expect(removed).toEqual([body.id]);
    expect(imageRows(t)).toHaveLength(0);
    expect((await t.request(`/images/${body.id}`, { headers: auth(alice.key) })).status).toBe(404);
    // The file is left behind (unreferenced), which costs disk, never correctness.
    expect(originalsOnDisk(t)).toHaveLength(1);
  });

  it('an upload the store cannot write answers 503 storage_unavailable with Retry-After and stores nothing', async () => {
    await appWithStore();
    store.failPut = true;
    const { res, body } = await upload(t, t.adminKey, 'dune-2mp.jpg');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(body.error).toMatchObject({ code: 'storage_unavailable', retryAfter: 5 });
    expect(imageRows(t)).toHaveLength(0);
    store.failPut = false;
    expect((await upload(t, t.adminKey, 'dune-2mp.jpg')).res.status).toBe(201);
  });
});
