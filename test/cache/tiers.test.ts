import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskTier } from '../../src/cache/disk.js';
import { sqliteRenditionsRepo } from '../../src/repos/sqlite/renditions.js';
import { MemoryTier } from '../../src/cache/memory.js';
import { openDb } from '../../src/db/client.js';
import { tierContract } from './tier-contract.js';

tierContract('memory', async (maxBytes) => {
  const tier = new MemoryTier(maxBytes);
  return { tier, cleanup: () => tier.close() };
});

tierContract('disk', async (maxBytes) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-disk-tier-'));
  const db = openDb(path.join(dir, 'index.db'));
  // A strictly increasing clock: the LRU order must not depend on two writes landing in one millisecond.
  let t = Date.now();
  const tier = await DiskTier.open(sqliteRenditionsRepo(db), path.join(dir, 'renditions'), maxBytes, { now: () => ++t });
  return {
    tier,
    async cleanup() {
      await tier.close();
      db.$client.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
