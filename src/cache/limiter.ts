import { OverloadedError } from '../errors.js';

export interface LimiterOptions {
  /** Renders running at once. */
  concurrency: number;
  /** Renders allowed to wait for a slot; one more is refused with 503 at once. */
  maxQueue: number;
  /** Deadline from the moment a render is asked for (queue wait included). */
  timeoutMs: number;
}

interface Waiter {
  start: () => void;
  fail: (err: Error) => void;
}

/**
 * Bounded render work: a fixed number of slots and a fixed-length queue, so an overload ends in a
 * fast 503 with Retry-After instead of a queue (and a heap) that grows without end.
 *
 * A render past its deadline answers 504 at once, but keeps its slot until the work really ends:
 * sharp cannot be interrupted, and releasing the slot early would let timed-out renders pile up on
 * the CPU beyond the configured concurrency.
 */
export class RenderLimiter {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private avgMs = 0;
  readonly counters = { rejected: 0, timeouts: 0, completed: 0, failed: 0 };

  constructor(private readonly opts: LimiterOptions) {
    for (const [name, v] of Object.entries(opts)) {
      if (!Number.isInteger(v) || v < (name === 'maxQueue' ? 0 : 1)) throw new Error(`Expected a positive integer for ${name} but received ${v}`);
    }
  }

  get inFlight() {
    return this.active;
  }

  get queued() {
    return this.queue.length;
  }

  /** Seconds a refused client should wait: roughly the time to drain what is queued now. */
  private retryAfter() {
    const drainMs = ((this.queue.length + 1) * (this.avgMs || 1000)) / this.opts.concurrency;
    return Math.min(30, Math.max(1, Math.ceil(drainMs / 1000)));
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.opts.concurrency && this.queue.length >= this.opts.maxQueue) {
      this.counters.rejected++;
      return Promise.reject(
        new OverloadedError(`Render queue is full (${this.active} rendering, ${this.queue.length} waiting); try again shortly`, this.retryAfter()),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const waiter: Waiter = {
        start: () => {
          this.active++;
          const began = performance.now();
          let out: Promise<T>;
          try {
            out = work();
          } catch (err) {
            out = Promise.reject(err);
          }
          out.then(
            (v) => {
              this.record(performance.now() - began, true);
              finish(() => resolve(v));
            },
            (err) => {
              this.record(performance.now() - began, false);
              finish(() => reject(err));
            },
          );
        },
        fail: (err) => finish(() => reject(err)),
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) {
          this.queue.splice(i, 1);
          this.counters.rejected++;
          waiter.fail(new OverloadedError(`No render slot became free within ${this.opts.timeoutMs} ms; try again shortly`, this.retryAfter()));
        } else {
          this.counters.timeouts++;
          waiter.fail(new OverloadedError(`Rendering took longer than ${this.opts.timeoutMs} ms and was abandoned`, this.retryAfter(), 504));
        }
      }, this.opts.timeoutMs);
      if (this.active < this.opts.concurrency) waiter.start();
      else this.queue.push(waiter);
    });
  }

  private record(ms: number, ok: boolean) {
    this.active--;
    if (ok) this.counters.completed++;
    else this.counters.failed++;
    // Exponential moving average: recent renders say more about the next drain time than old ones.
    this.avgMs = this.avgMs === 0 ? ms : this.avgMs * 0.8 + ms * 0.2;
    const next = this.queue.shift();
    if (next) next.start();
  }
}
