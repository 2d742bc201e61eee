import type { TaskRow } from '../db/schema.js';

export type { TaskRow };

/**
 * A node's hold on a task (times in unix seconds): `node` runs it until `until` unless it renews.
 * A lease that ran out means its node died (or stalled): any node may take the task over.
 */
export interface TaskLease {
  node: string;
  now: number;
  until: number;
}

/** The durable queue of background work (`?async=1` transforms); src/library/tasks.ts runs it. */
export interface TasksRepo {
  /** A new task, queued. */
  create(task: { id: string; kind: string; input: string; ownerId: number | null }): Promise<TaskRow>;
  byId(id: string): Promise<TaskRow | undefined>;
  /**
   * Takes the task for `lease.node` in one conditional write, so of two nodes claiming at once
   * exactly one gets it: it must be queued, or running under a lease that ran out before
   * `lease.now` (its node is gone). Undefined when another node holds it, or it is finished or unknown.
   */
  claim(id: string, lease: TaskLease): Promise<TaskRow | undefined>;
  /** Moves the lease on while the task runs; false (and nothing written) when `lease.node` no longer holds it. */
  renew(id: string, lease: TaskLease): Promise<boolean>;
  /** Ids of the tasks a node may claim at `now` (queued, or running under a lease that ran out), oldest first. */
  claimable(now: number, limit: number): Promise<string[]>;
  /** The outcomes below are written only while `node` holds the task: a node that lost it leaves it to the one that took it over. */
  finish(id: string, node: string, result: string, now: number): Promise<void>;
  /** Back to the queue (no holder) with its input updated (attempts so far), after the server was busy. */
  requeue(id: string, node: string, input: string, now: number): Promise<void>;
  fail(id: string, node: string, error: string, now: number): Promise<void>;
  /**
   * On start when this process is the database's only user (SQLite), one unit of work: the ids of
   * tasks left queued or running, oldest first, with the running ones put back to queued whatever
   * their lease (the process that ran them is gone). A shared database uses `claimable` instead.
   */
  resume(now: number): Promise<string[]>;
}
