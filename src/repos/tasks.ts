import type { TaskRow } from '../db/schema.js';

export type { TaskRow };

/** The durable queue of background work (`?async=1` transforms); src/library/tasks.ts runs it. */
export interface TasksRepo {
  /** A new task, queued. */
  create(task: { id: string; kind: string; input: string; ownerId: number | null }): Promise<TaskRow>;
  byId(id: string): Promise<TaskRow | undefined>;
  /** Takes a queued task (queued -> running); undefined when it is not queued (taken, finished, unknown). */
  claim(id: string, now: number): Promise<TaskRow | undefined>;
  finish(id: string, result: string, now: number): Promise<void>;
  /** Back to the queue with its input updated (attempts so far), after the server was busy. */
  requeue(id: string, input: string, now: number): Promise<void>;
  fail(id: string, error: string, now: number): Promise<void>;
  /**
   * On start, one unit of work: the ids of tasks left queued or running, oldest first, with the
   * running ones put back to queued (the process that ran them is gone).
   */
  resume(now: number): Promise<string[]>;
}
