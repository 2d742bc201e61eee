import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tasks } from '../../db/schema.js';
import type { TasksRepo } from '../tasks.js';

export function sqliteTasksRepo(db: Db): TasksRepo {
  const id = sql.placeholder('id');
  // In `set`, a placeholder goes in as SQL (drizzle's types accept only that there).
  const now = sql`${sql.placeholder('now')}`;
  const byId = db.select().from(tasks).where(eq(tasks.id, id)).prepare();
  const insert = db
    .insert(tasks)
    .values({ id, kind: sql.placeholder('kind'), state: 'queued', input: sql`${sql.placeholder('input')}`, ownerId: sql.placeholder('ownerId') })
    .returning()
    .prepare();
  const claim = db
    .update(tasks)
    .set({ state: 'running', updatedAt: now })
    .where(and(eq(tasks.id, id), eq(tasks.state, 'queued')))
    .returning()
    .prepare();
  const finish = db
    .update(tasks)
    .set({ state: 'done', result: sql`${sql.placeholder('result')}`, error: null, updatedAt: now })
    .where(eq(tasks.id, id))
    .prepare();
  const requeue = db
    .update(tasks)
    .set({ state: 'queued', input: sql`${sql.placeholder('input')}`, updatedAt: now })
    .where(eq(tasks.id, id))
    .prepare();
  const fail = db
    .update(tasks)
    .set({ state: 'failed', error: sql`${sql.placeholder('error')}`, updatedAt: now })
    .where(eq(tasks.id, id))
    .prepare();
  const pending = db
    .select({ id: tasks.id })
    .from(tasks)
    .where(inArray(tasks.state, ['queued', 'running']))
    .orderBy(asc(tasks.createdAt))
    .prepare();
  const unrun = db.update(tasks).set({ state: 'queued', updatedAt: now }).where(eq(tasks.state, 'running')).prepare();
  const resume = db.$client.transaction((at: number) => {
    const ids = pending.all().map((r) => r.id);
    if (ids.length) unrun.run({ now: at });
    return ids;
  });

  return {
    async create(task) {
      return insert.get(task)!;
    },
    async byId(taskId) {
      return byId.get({ id: taskId });
    },
    async claim(taskId, at) {
      return claim.get({ id: taskId, now: at });
    },
    async finish(taskId, result, at) {
      finish.run({ id: taskId, result, now: at });
    },
    async requeue(taskId, input, at) {
      requeue.run({ id: taskId, input, now: at });
    },
    async fail(taskId, error, at) {
      fail.run({ id: taskId, error, now: at });
    },
    async resume(at) {
      return resume(at);
    },
  };
}
