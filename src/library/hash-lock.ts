import type { ClusterRepo } from '../repos/cluster.js';

/**
 * Originals are content-addressed and shared between owners, so "is anyone still using this
 * hash? then delete the file" (delete) and "write the file, then the row that uses it" (ingest)
 * must not interleave, or a fresh upload loses its bytes to a delete of the same file.
 * Work on one hash runs one at a time, in arrival order; different hashes never wait on each other.
 *
 * Nodes sharing one database and store (PostgreSQL, `cluster`) race the same way across
 * processes, so there the work also holds the cluster-wide lock of that hash (an advisory lock:
 * one more round trip per upload and delete, taken after this process's own queue, so a node's
 * uploads of one file hold one database connection between them, not one each).
 */
const tails = new Map<string, Promise<void>>();

export async function withHashLock<T>(repos: { cluster?: Pick<ClusterRepo, 'exclusive'> }, hash: string, work: () => Promise<T>): Promise<T> {
  const { cluster } = repos;
  return inProcess(hash, cluster ? () => cluster.exclusive(`original:${hash}`, work) : work);
}

async function inProcess<T>(hash: string, work: () => Promise<T>): Promise<T> {
  const before = tails.get(hash) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const mine = before.then(() => done);
  tails.set(hash, mine);
  await before;
  try {
    return await work();
  } finally {
    release();
    // Last in the chain: drop the entry so the map holds only hashes with work in flight.
    if (tails.get(hash) === mine) tails.delete(hash);
  }
}
