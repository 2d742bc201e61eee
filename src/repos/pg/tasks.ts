import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/client.js';
import { tasks } from '../../db/pg/schema.js';
import type { TaskLease, TasksRepo } from '../tasks.js';

/**
 * The task queue on PostgreSQL, shared by every node. Same contract as src/repos/sqlite/tasks.ts
 * (test/repos/contract.ts). A claim is one conditional UPDATE: of two nodes claiming one row at
 * once, the second waits for the first to commit, re-reads the row, finds it running under a live
 * lease and updates nothing.
 */
export function pgTasksRepo(db: PgDb): TasksRepo {
  const orphaned = (now: number) => and(eq(tasks.state, 'running'), or(isNull(tasks.leaseUntil), lt(tasks.leaseUntil, now)));
  const claimableAt = (now: number) => or(eq(tasks.state, 'queued'), orphaned(now));
  const held = (id: string, node: string) => and(eq(tasks.id, id), eq(tasks.state, 'running'), eq(tasks.claimedBy, node));
  const byId = db
    .select()
    .from(tasks)
    .where(eq(tasks.id, sql.placeholder('id')))
    .prepare('tasks_by_id');

  return {
    async create(task) {
      const [row] = await db
        .insert(tasks)
        .values({ ...task, state: 'queued' })
        .returning();
      return row!;
    },
    async byId(id) {
      return (await byId.execute({ id }))[0];
    },
    async claim(id, lease: TaskLease) {
      const [row] = await db
        .update(tasks)
        .set({ state: 'running', claimedBy: lease.node, leaseUntil: lease.until, updatedAt: lease.now })
        .where(and(eq(tasks.id, id), claimableAt(lease.now)))
        .returning();
      return row;
    },
    async renew(id, lease) {
      const rows = await db.update(tasks).set({ leaseUntil: lease.until }).where(held(id, lease.node)).returning({ id: tasks.id });
      return rows.length > 0;
    },
    async claimable(now, limit) {
      const rows = await db.select({ id: tasks.id }).from(tasks).where(claimableAt(now)).orderBy(asc(tasks.createdAt)).limit(limit);
      return rows.map((r) => r.id);
    },
    async finish(id, node, result, now) {
      await db.update(tasks).set({ state: 'done', result, error: null, leaseUntil: null, updatedAt: now }).where(held(id, node));
    },
    async requeue(id, node, input, now) {
      await db.update(tasks).set({ state: 'queued', input, claimedBy: null, leaseUntil: null, updatedAt: now }).where(held(id, node));
    },
    async fail(id, node, error, now) {
      await db.update(tasks).set({ state: 'failed', error, leaseUntil: null, updatedAt: now }).where(held(id, node));
    },
    async resume(now) {
      return db.transaction(async (tx) => {
        // Locked, so a task finished meanwhile by another connection is not put back.
        const rows = await tx
          .select({ id: tasks.id })
          .from(tasks)
          .where(inArray(tasks.state, ['queued', 'running']))
          .orderBy(asc(tasks.createdAt))
          .for('update');
        if (rows.length) await tx.update(tasks).set({ state: 'queued', claimedBy: null, leaseUntil: null, updatedAt: now }).where(eq(tasks.state, 'running'));
        return rows.map((r) => r.id);
      });
    },
  };
}
