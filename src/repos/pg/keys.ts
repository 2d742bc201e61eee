import { and, count, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { ChangeMark } from '../../db/changes.js';
import type { PgDb } from '../../db/pg/client.js';
import { apiKeys } from '../../db/pg/schema.js';
import type { KeysRepo } from '../keys.js';

/** API key rows on PostgreSQL. Same contract as src/repos/sqlite/keys.ts; `changes` is the repos' mark (./changes.ts). */
export function pgKeysRepo(db: PgDb, changes: ChangeMark): KeysRepo {
  const hash = sql.placeholder('hash');
  // Runs on every keyed request the verdict cache does not answer: a named statement.
  const liveByHash = db
    .select()
    .from(apiKeys)
    .where(
      and(isNull(apiKeys.revokedAt), or(eq(apiKeys.hash, hash), and(eq(apiKeys.previousHash, hash), gt(apiKeys.previousValidUntil, sql.placeholder('now'))))),
    )
    .prepare('api_keys_live_by_hash');
  return {
    liveByHash: async (h, now) => (await liveByHash.execute({ hash: h, now }))[0],
    byId: async (id) => (await db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0],
    async list(userId) {
      const q = db.select().from(apiKeys);
      return (userId === undefined ? q : q.where(userId === null ? isNull(apiKeys.userId) : eq(apiKeys.userId, userId))).orderBy(desc(apiKeys.createdAt));
    },
    count: async () => (await db.select({ n: count() }).from(apiKeys))[0]!.n,
    async insert(key) {
      await db.insert(apiKeys).values(key);
    },
    async revoke(id, at) {
      const rows = await db
        .update(apiKeys)
        .set({ revokedAt: at, previousHash: null, previousValidUntil: null })
        .where(eq(apiKeys.id, id))
        .returning({ id: apiKeys.id });
      return rows.length > 0;
    },
    async setSecret(id, secret) {
      await db.update(apiKeys).set(secret).where(eq(apiKeys.id, id));
    },
    async delete(id) {
      await db.delete(apiKeys).where(eq(apiKeys.id, id));
    },
    changes,
  };
}
