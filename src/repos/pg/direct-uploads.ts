import { and, asc, eq, gte, inArray, lt, or } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/client.js';
import { directUploads } from '../../db/pg/schema.js';
import type { DirectUploadsRepo } from '../direct-uploads.js';

/** Direct uploads on PostgreSQL: a complete on any node claims the row once. Same contract as src/repos/sqlite/direct-uploads.ts. */
export function pgDirectUploadsRepo(db: PgDb): DirectUploadsRepo {
  return {
    async create(upload) {
      await db.insert(directUploads).values(upload);
    },
    async byId(id) {
      const [row] = await db.select().from(directUploads).where(eq(directUploads.id, id));
      return row;
    },
    async openFor(caller, now) {
      const rows = await db
        .select({ completeBy: directUploads.completeBy })
        .from(directUploads)
        .where(and(eq(directUploads.caller, caller), inArray(directUploads.state, ['pending', 'completing']), gte(directUploads.completeBy, now)))
        .orderBy(asc(directUploads.completeBy));
      return rows.map((r) => r.completeBy);
    },
    async claim(id, now, staleBefore) {
      const [row] = await db
        .update(directUploads)
        .set({ state: 'completing', claimedAt: now })
        .where(
          and(
            eq(directUploads.id, id),
            or(eq(directUploads.state, 'pending'), and(eq(directUploads.state, 'completing'), lt(directUploads.claimedAt, staleBefore))),
          ),
        )
        .returning();
      return row;
    },
    async settle(id, state, result) {
      await db.update(directUploads).set({ state, result, claimedAt: null }).where(eq(directUploads.id, id));
    },
    async delete(id) {
      await db.delete(directUploads).where(eq(directUploads.id, id));
    },
    async due(now, limit) {
      return db.select().from(directUploads).where(lt(directUploads.completeBy, now)).limit(limit);
    },
  };
}
