import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tasks } from '../../db/schema.js';
import type { TasksRepo } from '../tasks.js';

export function sqliteTasksRepo(db: Db): TasksRepo {
  const id = sql.placeholder('id');
  const node = sql.placeholder('node');
  // In `set`, a placeholder goes in as SQL (drizzle's types accept only that there).
  const now = sql`${sql.placeholder('now')}`;
  const until = sql`${sql.placeholder('until')}`;
  const held = and(eq(tasks.id, id), eq(tasks.state, 'running'), eq(tasks.claimedBy, node));
  // A running task whose lease ran out (or that predates leases): its node is gone.
  const orphaned = and(eq(tasks.state, 'running'), or(isNull(tasks.leaseUntil), lt(tasks.leaseUntil, sql.placeholder('now'))));
  const claimableNow = or(eq(tasks.state, 'queued'), orphaned);
  const byId = db.select().from(tasks).where(eq(tasks.id, id)).prepare();
  const insert = db
    .insert(tasks)
    .values({ id, kind: sql.placeholder('kind'), state: 'queued', input: sql`${sql.placeholder('input')}`, ownerId: sql.placeholder('ownerId') })
    .returning()
    .prepare();
  const claim = db
    .update(tasks)
    .set({ state: 'running', claimedBy: sql`${node}`, leaseUntil: until, updatedAt: now })
    .where(and(eq(tasks.id, id), claimableNow))
    .returning()
    .prepare();
  const renew = db.update(tasks).set({ leaseUntil: until }).where(held).prepare();
  const claimable = db.select({ id: tasks.id }).from(tasks).where(claimableNow).orderBy(asc(tasks.createdAt)).limit(sql.placeholder('limit')).prepare();
  const finish = db
    .update(tasks)
    .set({ state: 'done', result: sql`${sql.placeholder('result')}`, error: null, leaseUntil: null, updatedAt: now })
    .where(held)
    .prepare();
  const requeue = db
    .update(tasks)
    .set({ state: 'queued', input: sql`${sql.placeholder('input')}`, claimedBy: null, leaseUntil: null, updatedAt: now })
    .where(held)
    .prepare();
  const fail = db
    .update(tasks)
    .set({ state: 'failed', error: sql`${sql.placeholder('error')}`, leaseUntil: null, updatedAt: now })
    .where(held)
    .prepare();
  const pending = db
    .select({ id: tasks.id })
    .from(tasks)
    .where(inArray(tasks.state, ['queued', 'running']))
    .orderBy(asc(tasks.createdAt))
    .prepare();
  const unrun = db.update(tasks).set({ state: 'queued', claimedBy: null, leaseUntil: null, updatedAt: now }).where(eq(tasks.state, 'running')).prepare();
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
    async claim(taskId, lease) {
      return claim.get({ id: taskId, node: lease.node, now: lease.now, until: lease.until });
    },
    async renew(taskId, lease) {
      return renew.run({ id: taskId, node: lease.node, until: lease.until }).changes > 0;
    },
    async claimable(at, limit) {
      return claimable.all({ now: at, limit }).map((r) => r.id);
    },
    async finish(taskId, by, result, at) {
      finish.run({ id: taskId, node: by, result, now: at });
    },
    async requeue(taskId, by, input, at) {
      requeue.run({ id: taskId, node: by, input, now: at });
    },
    async fail(taskId, by, error, at) {
      fail.run({ id: taskId, node: by, error, now: at });
    },
    async resume(at) {
      return resume(at);
    },
  };
}
