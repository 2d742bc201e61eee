import { and, asc, eq, gte, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { directUploads } from '../../db/schema.js';
import type { DirectUploadsRepo } from '../direct-uploads.js';

export function sqliteDirectUploadsRepo(db: Db): DirectUploadsRepo {
  const id = sql.placeholder('id');
  const now = sql.placeholder('now');
  const insert = db
    .insert(directUploads)
    .values({
      id,
      caller: sql.placeholder('caller'),
      ownerId: sql.placeholder('ownerId'),
      contentType: sql.placeholder('contentType'),
      bytes: sql.placeholder('bytes'),
      options: sql.placeholder('options'),
      expiresAt: sql.placeholder('expiresAt'),
      completeBy: sql.placeholder('completeBy'),
    })
    .prepare();
  const byId = db.select().from(directUploads).where(eq(directUploads.id, id)).prepare();
  const open = db
    .select({ completeBy: directUploads.completeBy })
    .from(directUploads)
    .where(
      and(eq(directUploads.caller, sql.placeholder('caller')), inArray(directUploads.state, ['pending', 'completing']), gte(directUploads.completeBy, now)),
    )
    .orderBy(asc(directUploads.completeBy))
    .prepare();
  const claim = db
    .update(directUploads)
    .set({ state: 'completing', claimedAt: sql`${now}` })
    .where(
      and(
        eq(directUploads.id, id),
        or(eq(directUploads.state, 'pending'), and(eq(directUploads.state, 'completing'), lt(directUploads.claimedAt, sql.placeholder('staleBefore')))),
      ),
    )
    .returning()
    .prepare();
  const settle = db
    .update(directUploads)
    .set({ state: sql`${sql.placeholder('state')}`, result: sql`${sql.placeholder('result')}`, claimedAt: null })
    .where(eq(directUploads.id, id))
    .prepare();
  const remove = db.delete(directUploads).where(eq(directUploads.id, id)).prepare();
  const due = db.select().from(directUploads).where(lt(directUploads.completeBy, now)).limit(sql.placeholder('limit')).prepare();

  return {
    async create(upload) {
      insert.run(upload);
    },
    async byId(uploadId) {
      return byId.get({ id: uploadId });
    },
    async openFor(caller, at) {
      return open.all({ caller, now: at }).map((r) => r.completeBy);
    },
    async claim(uploadId, at, staleBefore) {
      return claim.get({ id: uploadId, now: at, staleBefore });
    },
    async settle(uploadId, state, result) {
      settle.run({ id: uploadId, state, result });
    },
    async delete(uploadId) {
      remove.run({ id: uploadId });
    },
    async due(at, limit) {
      return due.all({ now: at, limit });
    },
  };
}
