import { randomBytes } from 'node:crypto';
import { resolveCallerRef, type CallerRef } from '../auth/caller-ref.js';
import { requireCaller } from '../auth/access.js';
import { scopeFor } from '../auth/state.js';
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
    // Charged to its caller as the route's own render is (a caller is a key or a user: no address needed).
    return makeVariant(deps, { principal, image, spec, accept: input.accept, base: input.base, charged: scopeFor(principal, '') });
  },
};

/**
 * How long a claim on a task holds without renewal (unix seconds, the clock's unit; LEASE_SECONDS
 * in the config). A node that dies leaves its tasks to the others after at most this plus one
 * sweep; a node is only taken for dead after missing about two renewals, so a busy event loop
 * does not lose its work.
 */
export const TASK_LEASE_SECONDS = 30;
/** How often a running task's lease is renewed: three times per lease. */
const renewMsOf = (leaseSeconds: number) => (leaseSeconds * 1000) / 3;
/**
 * How often a node looks for queued tasks and tasks whose node died (a takeover; another node's
 * enqueue also wakes it at once through the cluster bus): twice per lease.
 */
const sweepMsOf = (leaseSeconds: number) => (leaseSeconds * 1000) / 2;
export const TASK_SWEEP_MS = sweepMsOf(TASK_LEASE_SECONDS);

export interface TaskRunnerOptions {
  concurrency: number;
  /** This node's name in the leases it holds (config.NODE_NAME). */
  node: string;
  leaseSeconds?: number;
  renewMs?: number;
  sweepMs?: number;
}

export class TaskRunner {
  private readonly waiting: string[] = [];
  /** Ids this node has waiting, running or backing off: a sweep does not push them again. */
  private readonly held = new Set<string>();
  /** Tasks waiting out a back-off: counted as work by `idle`, dropped by `stop` (they stay queued in the table). */
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  private sweeper: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly node: string;
  private readonly leaseSeconds: number;
  private readonly renewMs: number;
  private readonly sweepMs: number;

  constructor(
    private readonly deps: Deps,
    opts: TaskRunnerOptions,
  ) {
    this.concurrency = opts.concurrency;
    this.node = opts.node;
    this.leaseSeconds = opts.leaseSeconds ?? TASK_LEASE_SECONDS;
    this.renewMs = opts.renewMs ?? renewMsOf(this.leaseSeconds);
    this.sweepMs = opts.sweepMs ?? sweepMsOf(this.leaseSeconds);
  }

  push(id: string) {
    if (this.stopped || this.held.has(id)) return;
    this.held.add(id);
    this.waiting.push(id);
    this.pump();
  }

  /**
   * Pushes the tasks any node may claim now (queued, or left by a node whose lease ran out), and
   * from then on every `sweepMs`. The claim at run time decides which node runs each.
   */
  startSweeping() {
    if (this.sweeper || this.stopped) return;
    this.sweeper = setInterval(() => void this.sweep(), this.sweepMs);
    // A sweep must not keep a CLI or a test process alive.
    this.sweeper.unref();
  }

  /** One look for claimable tasks; answers how many it pushed. */
  async sweep(): Promise<number> {
    if (this.stopped) return 0;
    try {
      // Past what this node already holds, so held tasks at the head of the queue hide no others.
      const ids = await this.deps.repos.tasks.claimable(this.deps.clock(), this.held.size + this.concurrency * 2);
      let pushed = 0;
      for (const id of ids) {
        if (this.held.has(id)) continue;
        this.push(id);
        pushed++;
      }
      return pushed;
    } catch (err) {
      // The database away (or closed under a test): the next sweep tries again.
      this.deps.log.warn({ err }, 'task sweep failed');
      return 0;
    }
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Take no more work; running tasks finish, queued ones stay queued in the table for the next start (or another node). */
  stop() {
    this.stopped = true;
    clearInterval(this.sweeper);
    this.waiting.length = 0;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.held.clear();
    if (this.isIdle()) this.idleWaiters.splice(0).forEach((fn) => fn());
    return this.idle();
  }

  private isIdle() {
    return this.active === 0 && this.waiting.length === 0 && this.retries.size === 0;
  }

  private retryLater(id: string, delayMs: number) {
    const timer = setTimeout(() => {
      this.retries.delete(id);
      this.held.delete(id);
      this.push(id);
    }, delayMs);
    // A pending retry must not keep a CLI or a test process alive: the row stays queued for the next start.
    timer.unref();
    this.retries.set(id, timer);
  }

  private pump() {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.active++;
      void this.run(id).finally(() => {
        this.active--;
        if (!this.retries.has(id)) this.held.delete(id);
        this.pump();
        if (this.isIdle()) this.idleWaiters.splice(0).forEach((fn) => fn());
      });
    }
  }

  private lease() {
    const now = this.deps.clock();
    return { node: this.node, now, until: now + this.leaseSeconds };
  }

  private async run(id: string) {
    const { deps, node } = this;
    let input: TransformTaskInput | undefined;
    const row = await deps.repos.tasks.claim(id, this.lease()).catch((err) => {
      deps.log.warn({ err, taskId: id }, 'could not claim task');
      return undefined;
    });
    // Taken by another node, finished, or unknown.
    if (!row) return;
    // Renewed while it runs: a lease that runs out tells the other nodes this one died.
    const renewal = setInterval(() => {
      deps.repos.tasks.renew(id, this.lease()).then(
        (held) => {
          if (!held) deps.log.warn({ taskId: id, node }, 'task taken over by another node: its outcome here will not be recorded');
        },
        (err) => deps.log.warn({ err, taskId: id }, 'could not renew task lease'),
      );
    }, this.renewMs);
    renewal.unref();
    try {
      const handler = HANDLERS[row.kind];
      if (!handler) throw new AppError(500, 'unknown_task', `No handler for task kind ${row.kind}`);
      input = JSON.parse(row.input) as TransformTaskInput;
      const result = await handler(deps, input);
      await deps.repos.tasks.finish(id, node, JSON.stringify(result), deps.clock());
    } catch (err) {
      try {
        await this.settleFailure(id, input, err);
      } catch (dbErr) {
        // The DB closed under us (shutdown): the row stays `running` until its lease runs out (or the next start).
        deps.log.warn({ err: dbErr, taskId: id }, 'could not record task failure');
      }
    } finally {
      clearInterval(renewal);
    }
  }

  /** Busy server: queue again after a back-off, until MAX_ATTEMPTS. Anything else: failed, with the error. */
  private async settleFailure(id: string, input: TransformTaskInput | undefined, err: unknown) {
    const { deps, node } = this;
    const attempts = (input?.attempts ?? 0) + 1;
    const transient = err instanceof OverloadedError || err instanceof StorageUnavailableError;
    if (transient && input && attempts < MAX_ATTEMPTS) {
      await deps.repos.tasks.requeue(id, node, JSON.stringify({ ...input, attempts }), deps.clock());
      // Stopping: it stays queued and runs on the next start.
      if (!this.stopped) this.retryLater(id, RETRY_BASE_MS * 2 ** (attempts - 1));
      return;
    }
    const error =
      err instanceof AppError ? { ...err.toJSON().error, ...(transient ? { attempts } : {}) } : { code: 'internal', message: 'The task failed unexpectedly' };
    if (transient) deps.log.warn({ taskId: id, attempts, code: error.code }, 'task gave up: the server stayed busy');
    else if (!(err instanceof AppError) || err.status >= 500) deps.log.error({ err, taskId: id }, 'task failed');
    await deps.repos.tasks.fail(id, node, JSON.stringify(error), deps.clock());
  }
}

export function taskRunner(deps: Deps): TaskRunner {
  // Background work gets half the render slots: interactive /img misses keep the rest.
  deps.taskRunner ??= new TaskRunner(deps, {
    concurrency: Math.max(1, Math.floor(deps.config.RENDER_CONCURRENCY / 2)),
    node: deps.config.NODE_NAME,
    leaseSeconds: deps.config.LEASE_SECONDS,
  });
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

/**
 * On start. One process alone on its database (SQLite): tasks left queued or running by the
 * previous process run again at once, oldest first. A shared database (PostgreSQL): only what no
 * live node holds (queued, or leased by a node that died). Either way a sweep then keeps looking.
 */
export async function resumeTasks(deps: Deps): Promise<number> {
  const runner = taskRunner(deps);
  let resumed: number;
  if (deps.repos.shared) resumed = await runner.sweep();
  else {
    const pending = await deps.repos.tasks.resume(deps.clock());
    for (const id of pending) runner.push(id);
    resumed = pending.length;
  }
  runner.startSweeping();
  return resumed;
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
