/**
 * Changes every node must apply to its own caches (memory and disk renditions, image rows, key
 * verdicts, preset specs) when they happen on any node. One node: nothing to send, the change was
 * applied where it happened. Several nodes on PostgreSQL: LISTEN/NOTIFY (./pg-bus.ts), where the
 * database announces its own row changes (triggers in src/db/migrations-pg/0001_notify_changes.sql).
 */
export type WatchedTable = 'images' | 'image_aliases' | 'presets' | 'users' | 'api_keys' | 'tasks';
export type ClusterChange =
  /** A row of a watched table was written; `id` is its key (images.id, presets.name, users.id, …). */
  | { kind: 'row'; table: WatchedTable; op: 'insert' | 'update' | 'delete'; id: string }
  /** Notifications may have been missed (the listening connection dropped): forget every cached row and verdict. */
  | { kind: 'resync' };

export interface ChangeBus {
  /** Tell the other nodes; a node never receives its own changes. */
  publish(change: ClusterChange): Promise<void>;
  subscribe(fn: (change: ClusterChange) => void): void;
  close(): Promise<void>;
}

/** The single-node bus: there is nobody to tell. */
export function localBus(): ChangeBus {
  return {
    publish: async () => {},
    subscribe: () => {},
    close: async () => {},
  };
}
