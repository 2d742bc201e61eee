import { and, eq, lt, or } from 'drizzle-orm';
import pg from 'pg';
import type { PgDb } from '../../db/pg/client.js';
import { leases, settings } from '../../db/pg/schema.js';
import type { ClusterRepo } from '../cluster.js';

/** Locks held at once by one node; more wait in this node's queue, not in the database. */
const LOCK_CONNECTIONS = 4;

/**
 * Settings, leases and advisory locks on PostgreSQL. A lock is a session advisory lock on a
 * connection of a small pool of its own: the work it guards runs on the main pool (several
 * statements and an S3 call, no one transaction), and a lock waiting for a connection of the main
 * pool that its own work needs would deadlock it. Lock names are hashed to the bigint PostgreSQL
 * wants (hashtextextended).
 */
export function pgClusterRepo(db: PgDb): ClusterRepo {
  const main = db.$client.options;
  let locks: pg.Pool | undefined;
  const lockPool = () => {
    if (!locks) {
      locks = new pg.Pool({ ...main, max: LOCK_CONNECTIONS, application_name: `${main.application_name ?? 'imgpath'}:locks` });
      locks.on('error', () => {}); // an idle lock connection cut by the server: replaced on next use
    }
    return locks;
  };
  return {
    async settle(name, value) {
      await db.insert(settings).values({ name, value }).onConflictDoNothing({ target: settings.name });
      const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.name, name));
      return row!.value;
    },
    async setting(name) {
      const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.name, name));
      return row?.value;
    },
    async lease(name, holder, now, until) {
      // One statement: of two nodes taking a free lease at once, the second's conflict update finds it held.
      const rows = await db
        .insert(leases)
        .values({ name, holder, until })
        .onConflictDoUpdate({
          target: leases.name,
          set: { holder, until },
          setWhere: or(eq(leases.holder, holder), lt(leases.until, now)),
        })
        .returning({ holder: leases.holder });
      return rows.length === 1;
    },
    async release(name, holder) {
      await db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
    },
    async exclusive(name, work) {
      const client = await lockPool().connect();
      let broken = false;
      // Cut while held (a database restart): the lock went with the connection; the work runs on, its
      // unlock fails below. Unheard, the client's 'error' would end the process.
      const cut = () => void (broken = true);
      client.on('error', cut);
      try {
        await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => (broken = true));
        client.off('error', cut);
        // A connection whose unlock failed may still hold the lock: never hand it to the next waiter.
        client.release(broken);
      }
    },
    async close() {
      if (locks && !locks.ended) await locks.end();
    },
  };
}
