/**
 * Originals are content-addressed and shared between owners, so "is anyone still using this
 * hash? then delete the file" (delete) and "write the file, then the row that uses it" (ingest)
 * must not interleave, or a fresh upload loses its bytes to a delete of the same file.
 * Work on one hash runs one at a time, in arrival order; different hashes never wait on each other.
 *
 * In-process only: several processes sharing one store (S3 behind many instances) can still race;
 * there a lost original is re-uploadable, and a cross-process lock would cost every upload a round trip.
 */
const tails = new Map<string, Promise<void>>();

export async function withHashLock<T>(hash: string, work: () => Promise<T>): Promise<T> {
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
