import { OverloadedError } from '../errors.js';

export interface HashQueueOptions {
  /** Hashes running at once (each holds one libuv thread and its scrypt memory until done). */
  concurrency: number;
  /** Hashes allowed to wait for a slot; one more is refused with 503 at once. */
  maxQueue: number;
}

/**
 * Password hashing has its own small, fixed set of slots, apart from rendering. scrypt runs on
 * libuv's thread pool, the same pool sharp's renders and file reads use: without this bound, ten
 * logins at once took every pool thread (and ~128 MiB each) and a 20 ms render waited seconds.
 * A wait list of fixed length keeps memory bounded too; past it the caller gets a fast 503 with
 * Retry-After, the same shape as a full render queue.
 */
export class HashQueue {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private avgMs = 0;
  /** Observed by tests and metrics: `peakInFlight` never exceeds `concurrency`. */
  readonly counters = { started: 0, completed: 0, rejected: 0, peakInFlight: 0, peakWaiting: 0 };

  constructor(readonly opts: HashQueueOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error(`Expected a positive integer for concurrency but received ${opts.concurrency}`);
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new Error(`Expected a non-negative integer for maxQueue but received ${opts.maxQueue}`);
  }

  get inFlight() {
    return this.active;
  }

  get queued() {
    return this.waiting.length;
  }

  /** Seconds a refused client should wait: roughly the time to drain what is queued now. */
  private retryAfter() {
    const drainMs = ((this.waiting.length + 1) * (this.avgMs || 1000)) / this.opts.concurrency;
    return Math.min(30, Math.max(1, Math.ceil(drainMs / 1000)));
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.opts.concurrency) this.active++;
    else if (this.waiting.length >= this.opts.maxQueue) {
      this.counters.rejected++;
      throw new OverloadedError(`Password checks are busy (${this.active} running, ${this.waiting.length} waiting); try again shortly`, this.retryAfter());
    } else {
      // `release` hands its slot straight to the first waiter (`active` unchanged), so a caller
      // arriving between the release and the waiter's wake-up cannot slip in as one too many.
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        this.counters.peakWaiting = Math.max(this.counters.peakWaiting, this.waiting.length);
      });
    }
    this.counters.started++;
    this.counters.peakInFlight = Math.max(this.counters.peakInFlight, this.active);
    const began = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - began;
      this.avgMs = this.avgMs === 0 ? ms : this.avgMs * 0.8 + ms * 0.2;
      this.counters.completed++;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
