import { and, count, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { apiKeys } from '../../db/schema.js';
import type { KeysRepo } from '../keys.js';

export function sqliteKeysRepo(db: Db): KeysRepo {
  // Runs on every keyed request the verdict cache does not answer: prepared once.
  const hash = sql.placeholder('hash');
  const liveByHash = db
    .select()
    .from(apiKeys)
    .where(
      and(isNull(apiKeys.revokedAt), or(eq(apiKeys.hash, hash), and(eq(apiKeys.previousHash, hash), gt(apiKeys.previousValidUntil, sql.placeholder('now'))))),
    )
    .prepare();
  const byId = db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.id, sql.placeholder('id')))
    .prepare();
  return {
    liveByHash: async (hash, now) => liveByHash.get({ hash, now }),
    byId: async (id) => byId.get({ id }),
    async list(userId) {
      const q = db.select().from(apiKeys);
      return (userId === undefined ? q : q.where(userId === null ? isNull(apiKeys.userId) : eq(apiKeys.userId, userId))).orderBy(desc(apiKeys.createdAt)).all();
    },
    count: async () => db.select({ n: count() }).from(apiKeys).get()!.n,
    async insert(key) {
      db.insert(apiKeys).values(key).run();
    },
    async revoke(id, at) {
      return db.update(apiKeys).set({ revokedAt: at, previousHash: null, previousValidUntil: null }).where(eq(apiKeys.id, id)).run().changes > 0;
    },
    async setSecret(id, secret) {
      db.update(apiKeys).set(secret).where(eq(apiKeys.id, id)).run();
    },
    async delete(id) {
      db.delete(apiKeys).where(eq(apiKeys.id, id)).run();
    },
    changes: db.changes,
  };
}
