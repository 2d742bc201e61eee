import type { UsageDelta, UsageRepo } from '../repos/usage.js';

/**
 * Per-key counters (requests, renders, bytes served, last use), summed in memory and written
 * in one transaction every few seconds: a DB write per delivered image would serialise the
 * hot path on SQLite's single writer. A crash loses at most one interval of counts.
 */

export const USAGE_FLUSH_MS = 5_000;

export class UsageCounters {
  private pending = new Map<string, UsageDelta>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly repo: UsageRepo,
    private readonly clock: () => number,
    flushMs = USAGE_FLUSH_MS,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  private entry(keyId: string) {
    let p = this.pending.get(keyId);
    if (!p) this.pending.set(keyId, (p = { requests: 0, renders: 0, bytes: 0, lastUsedAt: 0 }));
    return p;
  }

  request(keyId: string) {
    const p = this.entry(keyId);
    p.requests += 1;
    p.lastUsedAt = this.clock();
  }

  render(keyId: string) {
    this.entry(keyId).renders += 1;
  }

  bytes(keyId: string, n: number) {
    if (n > 0) this.entry(keyId).bytes += n;
  }

  /** Write the pending counts. Called by the timer, before usage is read, and on shutdown. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    if (!this.repo.open) {
      // The app was closed under us (tests, shutdown after flush): nothing left to write to.
      clearInterval(this.timer);
      this.pending.clear();
      return;
    }
    const batch = this.pending;
    this.pending = new Map();
    await this.repo.add(batch);
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    return this.flush();
  }
}
