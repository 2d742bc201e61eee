import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Principal } from '../auth/principal.js';
import { images, tasks, type TaskRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { AppError, NotFoundError } from '../errors.js';
import { parseOptions } from '../delivery/deliver.js';
import { iso } from './schemas.js';
import { makeVariant, type TransformResult } from './variants.js';

/**
 * Durable background work (`?async=1` transforms). The tasks table is the queue: a task is
 * written before it is announced, so a crash loses nothing — `resumeTasks` re-queues whatever
 * was queued or running when the process stopped.
 */

export interface TransformTaskInput {
  imageId: string;
  /** Options in URL form (the JSON body already mapped), parsed again when the task runs. */
  options: string;
  accept?: string;
  base: string;
  principal: Principal;
}

type Handler = (deps: Deps, input: TransformTaskInput) => Promise<TransformResult>;

const HANDLERS: Record<string, Handler> = {
  async transform(deps, input) {
    const image = deps.db.select().from(images).where(eq(images.id, input.imageId)).get();
    if (!image) throw new NotFoundError(`Image ${input.imageId} was deleted before the task ran`, 'image_not_found');
    const spec = parseOptions(deps, input.options);
    return makeVariant(deps, { principal: input.principal, image, spec, accept: input.accept, base: input.base });
  },
};

class TaskRunner {
  private readonly waiting: string[] = [];
  private active = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deps: Deps, private readonly concurrency: number) {}

  push(id: string) {
    if (this.stopped) return;
    this.waiting.push(id);
    this.pump();
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Take no more work; running tasks finish, queued ones stay queued in the table for the next start. */
  stop() {
    this.stopped = true;
    this.waiting.length = 0;
    return this.idle();
  }

  private pump() {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active++;
      void this.run(id).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.waiting.length === 0) this.idleWaiters.splice(0).forEach((fn) => fn());
      });
    }
  }

  private async run(id: string) {
    const { deps } = this;
    try {
      const now = deps.clock();
      const row = deps.db.update(tasks).set({ state: 'running', updatedAt: now }).where(and(eq(tasks.id, id), eq(tasks.state, 'queued'))).returning().get();
      if (!row) return;
      const handler = HANDLERS[row.kind];
      if (!handler) throw new AppError(500, 'unknown_task', `No handler for task kind ${row.kind}`);
      const result = await handler(deps, JSON.parse(row.input) as TransformTaskInput);
      deps.db.update(tasks).set({ state: 'done', result: JSON.stringify(result), error: null, updatedAt: deps.clock() }).where(eq(tasks.id, id)).run();
    } catch (err) {
      const error = err instanceof AppError ? err.toJSON().error : { code: 'internal', message: 'The task failed unexpectedly' };
      if (!(err instanceof AppError) || err.status >= 500) deps.log.error({ err, taskId: id }, 'task failed');
      try {
        deps.db.update(tasks).set({ state: 'failed', error: JSON.stringify(error), updatedAt: deps.clock() }).where(eq(tasks.id, id)).run();
      } catch (dbErr) {
        // The DB closed under us (shutdown): the row stays `running` and is re-queued on the next start.
        deps.log.warn({ err: dbErr, taskId: id }, 'could not record task failure');
      }
    }
  }
}

const runners = new WeakMap<Deps, TaskRunner>();

export function taskRunner(deps: Deps): TaskRunner {
  let runner = runners.get(deps);
  if (!runner) {
    // Background work gets half the render slots: interactive /img misses keep the rest.
    runner = new TaskRunner(deps, Math.max(1, Math.floor(deps.config.RENDER_CONCURRENCY / 2)));
    runners.set(deps, runner);
  }
  return runner;
}

export function enqueueTransform(deps: Deps, ownerId: number | null, input: TransformTaskInput): TaskRow {
  const row = deps.db
    .insert(tasks)
    .values({ id: `task_${randomBytes(9).toString('base64url')}`, kind: 'transform', state: 'queued', input: JSON.stringify(input), ownerId })
    .returning()
    .get();
  taskRunner(deps).push(row.id);
  return row;
}

/** On start: tasks left queued or running by the previous process run again, oldest first. */
export function resumeTasks(deps: Deps): number {
  const pending = deps.db
    .select({ id: tasks.id })
    .from(tasks)
    .where(inArray(tasks.state, ['queued', 'running']))
    .orderBy(asc(tasks.createdAt))
    .all();
  if (pending.length) deps.db.update(tasks).set({ state: 'queued', updatedAt: deps.clock() }).where(eq(tasks.state, 'running')).run();
  for (const { id } of pending) taskRunner(deps).push(id);
  return pending.length;
}

export function stopTasks(deps: Deps) {
  return runners.get(deps)?.stop() ?? Promise.resolve();
}

export function taskView(row: TaskRow) {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    result: row.result ? (JSON.parse(row.result) as TransformResult) : null,
    error: row.error ? (JSON.parse(row.error) as { code: string; message: string }) : null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
