import fs from 'node:fs/promises';
import path from 'node:path';
import { atomicWrite } from './atomic.js';
import { readWhole } from './read.js';
import type { BlobStore } from './store.js';

export class LocalStore implements BlobStore {
  readonly kind = 'local';
  constructor(private readonly root: string) {}

  private file(key: string) {
    // Keys are built by us (hex hashes), but a bad key must never escape the root.
    const file = path.resolve(this.root, key);
    if (!file.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`invalid storage key ${key}`);
    return file;
  }

  async get(key: string) {
    return readWhole(this.file(key));
  }

  async put(key: string, data: Buffer) {
    await atomicWrite(this.file(key), data);
  }

  localFile(key: string) {
    return this.file(key);
  }

  async delete(key: string) {
    await fs.rm(this.file(key), { force: true });
  }

  async has(key: string) {
    return fs.access(this.file(key)).then(
      () => true,
      () => false,
    );
  }

  async check() {
    await fs.mkdir(this.root, { recursive: true });
    await fs.access(this.root, fs.constants.R_OK | fs.constants.W_OK);
  }
}
