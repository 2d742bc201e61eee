import { randomBytes } from 'node:crypto';
import { resolveCallerRef, type CallerRef } from '../auth/caller-ref.js';
import { requireCaller } from '../auth/access.js';
import type { TaskRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { AppError, OverloadedError, StorageUnavailableError } from '../errors.js';
import { parseOptions } from '../core/index.js';
import { managedImage } from './access.js';
import { iso } from './schemas.js';
import { makeVariant, type TransformResult } from './variants.js';

/**
 * Durable background work (`?async=1` transforms). The tasks table is the queue: a task is
 * written before it is announced, so a crash loses nothing — `resumeTasks` re-queues whatever
 * was queued or running when the process stopped. A task that finds the server busy (render
 * queue full, render deadline passed, storage briefly away) is queued again with a back-off instead of failing.
 */

/** Busy answers a task takes before it fails: waits of 1, 2, 4 and 8 s between them. */
export const MAX_ATTEMPTS = 5;
const RETRY_BASE_MS = 1000;

export interface TransformTaskInput {
  imageId: string;
  /** Options in URL form (the JSON body already mapped), parsed again when the task runs. */
  options: string;
  accept?: string;
  base: string;
  caller: CallerRef;
  /** Runs so far that found the server busy. */
  attempts?: number;
}

type Handler = (deps: Deps, input: TransformTaskInput) => Promise<TransformResult>;

const HANDLERS: Record<string, Handler> = {
  async transform(deps, input) {
    // The same checks as the route, with the caller's rights as they are now.
    const principal = requireCaller(await resolveCallerRef(deps, input.caller), 'upload', 'deliver');
    const image = await managedImage(deps, principal, input.imageId);
    const spec = parseOptions(deps, input.options);
    return makeVariant(deps, { principal, image, spec, accept: input.accept, base: input.base });
  },
};

export class TaskRunner {
  private readonly waiting: string[] = [];
  /** Tasks waiting out a back-off: counted as work by `idle`, dropped by `stop` (they stay queued in the table). */
  private readonly retries = new Set<NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly deps: Deps,
    private readonly concurrency: number,
  ) {}

  push(id: string) {
    if (this.stopped) return;
    this.waiting.push(id);
    this.pump();
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Take no more work; running tasks finish, queued ones stay queued in the table for the next start. */
  stop() {
    this.stopped = true;
    this.waiting.length = 0;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    if (this.isIdle()) this.idleWaiters.splice(0).forEach((fn) => fn());
    return this.idle();
  }

  private isIdle() {
    return this.active === 0 && this.waiting.length === 0 && this.retries.size === 0;
  }

  private retryLater(id: string, delayMs: number) {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.push(id);
    }, delayMs);
    // A pending retry must not keep a CLI or a test process alive: the row stays queued for the next start.
    timer.unref();
    this.retries.add(timer);
  }

  private pump() {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active++;
      void this.run(id).finally(() => {
        this.active--;
        this.pump();
        if (this.isIdle()) this.idleWaiters.splice(0).forEach((fn) => fn());
      });
    }
  }

  private async run(id: string) {
    const { deps } = this;
    let input: TransformTaskInput | undefined;
    try {
      const row = await deps.repos.tasks.claim(id, deps.clock());
      if (!row) return;
      const handler = HANDLERS[row.kind];
      if (!handler) throw new AppError(500, 'unknown_task', `No handler for task kind ${row.kind}`);
      input = JSON.parse(row.input) as TransformTaskInput;
      const result = await handler(deps, input);
      await deps.repos.tasks.finish(id, JSON.stringify(result), deps.clock());
    } catch (err) {
      try {
        await this.settleFailure(id, input, err);
      } catch (dbErr) {
        // The DB closed under us (shutdown): the row stays `running` and is re-queued on the next start.
        deps.log.warn({ err: dbErr, taskId: id }, 'could not record task failure');
      }
    }
  }

  /** Busy server: queue again after a back-off, until MAX_ATTEMPTS. Anything else: failed, with the error. */
  private async settleFailure(id: string, input: TransformTaskInput | undefined, err: unknown) {
    const { deps } = this;
    const attempts = (input?.attempts ?? 0) + 1;
    const transient = err instanceof OverloadedError || err instanceof StorageUnavailableError;
    if (transient && input && attempts < MAX_ATTEMPTS) {
      await deps.repos.tasks.requeue(id, JSON.stringify({ ...input, attempts }), deps.clock());
      // Stopping: it stays queued and runs on the next start.
      if (!this.stopped) this.retryLater(id, RETRY_BASE_MS * 2 ** (attempts - 1));
      return;
    }
    const error =
      err instanceof AppError ? { ...err.toJSON().error, ...(transient ? { attempts } : {}) } : { code: 'internal', message: 'The task failed unexpectedly' };
    if (transient) deps.log.warn({ taskId: id, attempts, code: error.code }, 'task gave up: the server stayed busy');
    else if (!(err instanceof AppError) || err.status >= 500) deps.log.error({ err, taskId: id }, 'task failed');
    await deps.repos.tasks.fail(id, JSON.stringify(error), deps.clock());
  }
}

export function taskRunner(deps: Deps): TaskRunner {
  // Background work gets half the render slots: interactive /img misses keep the rest.
  deps.taskRunner ??= new TaskRunner(deps, Math.max(1, Math.floor(deps.config.RENDER_CONCURRENCY / 2)));
  return deps.taskRunner;
}

export async function enqueueTransform(deps: Deps, ownerId: number | null, input: TransformTaskInput): Promise<TaskRow> {
  const row = await deps.repos.tasks.create({
    id: `task_${randomBytes(9).toString('base64url')}`,
    kind: 'transform',
    input: JSON.stringify(input),
    ownerId,
  });
  taskRunner(deps).push(row.id);
  return row;
}

/** On start: tasks left queued or running by the previous process run again, oldest first. */
export async function resumeTasks(deps: Deps): Promise<number> {
  const pending = await deps.repos.tasks.resume(deps.clock());
  for (const id of pending) taskRunner(deps).push(id);
  return pending.length;
}

export function stopTasks(deps: Deps) {
  return deps.taskRunner?.stop() ?? Promise.resolve();
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
