import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { apiKeys } from '../../db/schema.js';
import type { UsageRepo } from '../usage.js';

export function sqliteUsageRepo(db: Db): UsageRepo {
  return {
    get open() {
      return db.$client.open;
    },
    async add(batch) {
      db.transaction((tx) => {
        for (const [id, p] of batch) {
          tx.update(apiKeys)
            .set({
              requests: sql`${apiKeys.requests} + ${p.requests}`,
              renders: sql`${apiKeys.renders} + ${p.renders}`,
              bytesServed: sql`${apiKeys.bytesServed} + ${p.bytes}`,
              lastUsedAt: p.lastUsedAt ? sql`max(coalesce(${apiKeys.lastUsedAt}, 0), ${p.lastUsedAt})` : apiKeys.lastUsedAt,
            })
            .where(sql`${apiKeys.id} = ${id}`)
            .run();
        }
      });
    },
  };
}
