import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local.js';
import { sample } from '../helpers/app.js';
import { blobStoreContract, freshKey } from './contract.js';

async function tempRoot() {
  return fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-local-store-'));
}

blobStoreContract('LocalStore', async () => {
  const root = await tempRoot();
  return { store: new LocalStore(root), cleanup: () => fs.rm(root, { recursive: true, force: true }) };
});

describe('LocalStore on disk', () => {
  let root: string;
  let store: LocalStore;
  beforeAll(async () => {
    root = await tempRoot();
    store = new LocalStore(root);
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('writes the object at root/key and leaves no .tmp files behind, even under concurrent puts', async () => {
    const photo = sample('dune-2mp.jpg');
    const keys = [freshKey(), freshKey(), freshKey()];
    await Promise.all(keys.flatMap((key) => [store.put(key, photo), store.put(key, photo)]));
    for (const key of keys) expect((await fs.readFile(path.join(root, key))).equals(photo)).toBe(true);
    const files = (await fs.readdir(root, { recursive: true })).map(String);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('makes missing folders when it must, also after they were removed behind its back', async () => {
    const photo = sample('dune-2mp.jpg');
    const key = `deep/er/${freshKey()}`;
    await store.put(key, photo);
    await fs.rm(path.join(root, 'deep'), { recursive: true });
    await Promise.all([store.put(key, photo), store.put(`deep/er/${freshKey()}`, photo)]);
    expect((await fs.readFile(path.join(root, key))).equals(photo)).toBe(true);
    const files = (await fs.readdir(root, { recursive: true })).map(String);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes nothing outside its root for an escaping key', async () => {
    const outside = path.join(path.dirname(root), `escape-${path.basename(root)}`);
    await expect(store.put(`../${path.basename(outside)}`, Buffer.from('x'))).rejects.toThrow(/invalid storage key/);
    await expect(fs.access(outside)).rejects.toThrow();
  });
});
