import { sql } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/client.js';
import { apiKeys } from '../../db/pg/schema.js';
import type { UsageRepo } from '../usage.js';

/**
 * Per-key usage counters on PostgreSQL: each node adds its own batches (increments, so nodes never
 * overwrite each other's counts). Same contract as src/repos/sqlite/usage.ts.
 */
export function pgUsageRepo(db: PgDb): UsageRepo {
  return {
    get open() {
      return !db.$client.ended;
    },
    async add(batch) {
      if (batch.size === 0) return;
      await db.transaction(async (tx) => {
        for (const [id, p] of batch) {
          await tx
            .update(apiKeys)
            .set({
              requests: sql`${apiKeys.requests} + ${p.requests}`,
              renders: sql`${apiKeys.renders} + ${p.renders}`,
              bytesServed: sql`${apiKeys.bytesServed} + ${p.bytes}`,
              lastUsedAt: p.lastUsedAt ? sql`greatest(coalesce(${apiKeys.lastUsedAt}, 0), ${p.lastUsedAt}::integer)` : apiKeys.lastUsedAt,
            })
            .where(sql`${apiKeys.id} = ${id}`);
        }
      });
    },
  };
}
