import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../src/db/client.js';
import { createSqliteRepos, type Repos } from '../../src/repos/index.js';
import { repoContract } from './contract.js';

repoContract('SQLite', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-repos-'));
  const file = path.join(dir, 'imgpath.db');
  const repos = createSqliteRepos(openDb(file));
  const peers: Repos[] = [];
  return {
    repos,
    async peer() {
      const peer = createSqliteRepos(openDb(file));
      peers.push(peer);
      return peer;
    },
    async cleanup() {
      for (const r of [repos, ...peers]) await r.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
