import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '../../src/db/client.js';
import { imageAliases, images, imageTags } from '../../src/db/schema.js';
import { createSqliteRepos } from '../../src/repos/index.js';
import { repoContract } from './contract.js';

repoContract('SQLite', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-repos-'));
  const db = openDb(path.join(dir, 'imgpath.db'));
  return {
    repos: createSqliteRepos(db),
    seed: {
      async image(row) {
        db.transaction((tx) => {
          tx.insert(images)
            .values({ format: 'jpeg', width: 40, height: 30, bytes: 1000, orientation: 'landscape', ...row })
            .run();
          const tags = JSON.parse(row.tags ?? '[]') as string[];
          if (tags.length)
            tx.insert(imageTags)
              .values(tags.map((tag) => ({ imageId: row.id, tag })))
              .run();
        });
      },
      async alias(publicId, imageId) {
        db.insert(imageAliases).values({ publicId, imageId }).run();
      },
    },
    async cleanup() {
      db.$client.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
