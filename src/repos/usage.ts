/** Counts gathered in memory for one key between two flushes (src/auth/usage.ts). */
export interface UsageDelta {
  requests: number;
  renders: number;
  bytes: number;
  /** Unix seconds of the last request in the batch; 0 when there was none. */
  lastUsedAt: number;
}

/** Per-key usage counters, added to in batches. */
export interface UsageRepo {
  /** Adds every delta in one unit of work (a crash loses the batch, never half of it). */
  add(batch: ReadonlyMap<string, UsageDelta>): Promise<void>;
  /** Whether the store can still be written (false once the app closed it). */
  readonly open: boolean;
}
