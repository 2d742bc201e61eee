import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../src/db/client.js';
import { createSqliteRepos } from '../../src/repos/index.js';
import { repoContract } from './contract.js';

repoContract('SQLite', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-repos-'));
  const db = openDb(path.join(dir, 'imgpath.db'));
  return {
    repos: createSqliteRepos(db),
    async cleanup() {
      db.$client.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
