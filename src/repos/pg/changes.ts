import type { ChangeBus, ClusterChange } from '../../cluster/bus.js';
import type { ChangeMark } from '../../db/changes.js';

/**
 * The change mark (src/db/changes.ts) on PostgreSQL. There is no data_version to read, so the
 * mark is a counter of this node's: it moves before and after every write this node makes
 * through the repositories (a cache filled while the write runs is not trusted either), and on
 * every change the cluster bus reports from elsewhere (another node, an operator at psql), which
 * the database announces itself (src/db/migrations-pg/0001_notify_changes.sql).
 */
export interface PgChanges {
  mark: ChangeMark;
  /** Something changed that this node did not write (a cluster notification, a resync). */
  note(): void;
  /**
   * `repo` with every method not listed in `reads` counted as a write. Writes are the default so a
   * method added later is never trusted by a cache by mistake; a forgotten read only costs a miss.
   */
  track<T extends object>(repo: T, reads: ReadonlyArray<keyof T>): T;
}

export function pgChanges(): PgChanges {
  let n = 0;
  return {
    mark: () => `${n}`,
    note() {
      n++;
    },
    track(repo, reads) {
      const skip = new Set<PropertyKey>(reads);
      // Descriptors, not a spread: a getter (UsageRepo.open) must stay live.
      const descriptors = Object.getOwnPropertyDescriptors(repo) as Record<string, PropertyDescriptor>;
      for (const [name, d] of Object.entries(descriptors)) {
        const fn = d.value;
        if (skip.has(name) || typeof fn !== 'function') continue;
        d.value = async (...args: unknown[]) => {
          n++;
          try {
            return await fn.apply(repo, args);
          } finally {
            n++;
          }
        };
      }
      const out = Object.defineProperties({}, descriptors);
      return out as typeof repo;
    },
  };
}

/**
 * `ImagesRepo.foreignWrites` on PostgreSQL: a counter of the changes to images (and their names)
 * the cluster bus reports from other nodes, and of its resyncs (notifications may have been lost).
 * This node's own writes never arrive on its bus, as on SQLite's data_version.
 */
export function foreignImageWrites(bus: ChangeBus | undefined): { mark: ChangeMark; note(): void } {
  let n = 0;
  const note = () => {
    n++;
  };
  bus?.subscribe((c: ClusterChange) => {
    if (c.kind === 'resync' || c.table === 'images' || c.table === 'image_aliases') note();
  });
  return { mark: () => `${n}`, note };
}
