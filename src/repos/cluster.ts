/**
 * What the nodes sharing one database agree on (issue 13 item 4): values made once for the whole
 * cluster, leases on work one node does at a time, and locks around work no two nodes may
 * interleave. PostgreSQL only (`Repos.cluster`): on SQLite one process is the whole cluster.
 */
export interface ClusterRepo {
  /**
   * The cluster's value `name`: `value` when this call stored it first, else whatever was stored
   * before (never overwritten), so every node ends up with the same one.
   */
  settle(name: string, value: string): Promise<string>;
  setting(name: string): Promise<string | undefined>;
  /**
   * Takes or renews lease `name` for `holder` until `until` (unix seconds), when it is free, held by
   * `holder` already, or ran out before `now`; false (nothing written) while another holder has it.
   */
  lease(name: string, holder: string, now: number, until: number): Promise<boolean>;
  /** Gives the lease up if `holder` has it, so the next node need not wait for it to run out. */
  release(name: string, holder: string): Promise<void>;
  /**
   * `work` while this node holds the cluster-wide lock `name`; another node asking for it waits.
   * Held on a connection of its own: a node that dies releases it with its connection.
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Closes the lock connections (Repos.close does). */
  close(): Promise<void>;
}
