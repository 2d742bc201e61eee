/**
 * Changes every node must apply to its own caches (memory and disk renditions, image rows, key
 * verdicts, preset specs) when they happen on any node. One node: nothing to send, the change was
 * applied where it happened. Several nodes on PostgreSQL: LISTEN/NOTIFY (./pg-bus.ts).
 */
export type ClusterChange =
  | { kind: 'image-removed'; id: string }
  | { kind: 'image-changed'; id: string }
  | { kind: 'key-changed'; keyId: string }
  | { kind: 'preset-changed'; name: string }
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
