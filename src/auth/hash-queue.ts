import { OverloadedError } from '../errors.js';

export interface HashQueueOptions {
  /** Hashes running at once (each holds one libuv thread and its scrypt memory until done). */
  concurrency: number;
  /** Hashes allowed to wait for a slot; one more is refused with 503 at once. */
  maxQueue: number;
  /**
   * Hashes started per minute, server-wide (0 = no budget). The slots bound memory; this bounds
   * the CPU share: on 2 cores one hash running back to back is half the machine, and a flood from
   * many addresses (each under its own rate limit) would keep it there and double render p99.
   */
  perMinute?: number;
}

/** Up to this many hashes may start back to back before the per-minute pace applies (a morning's logins). */
const BURST = 10;

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
  private tokens: number;
  private refilledAt = performance.now();
  /** Observed by tests and metrics: `peakInFlight` never exceeds `concurrency`. */
  readonly counters = { started: 0, completed: 0, rejected: 0, peakInFlight: 0, peakWaiting: 0 };

  constructor(readonly opts: HashQueueOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
      throw new Error(`Expected a positive integer for concurrency but received ${opts.concurrency}`);
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new Error(`Expected a non-negative integer for maxQueue but received ${opts.maxQueue}`);
    this.tokens = this.burst;
  }

  private get burst() {
    return Math.min(BURST, Math.max(1, this.opts.perMinute ?? 0));
  }

  /** Takes one start from the per-minute budget, or says how many seconds until the next one. */
  private takeToken(): number {
    const perMinute = this.opts.perMinute ?? 0;
    if (perMinute <= 0) return 0;
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 60_000) * perMinute);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 60) / perMinute));
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
    const wait = this.takeToken();
    if (wait > 0) {
      this.counters.rejected++;
      throw new OverloadedError(`Password checks are over their budget of ${this.opts.perMinute} a minute on this server; try again shortly`, wait);
    }
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
