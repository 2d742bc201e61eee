import type { Logger } from '../log.js';
import type { ClusterRepo } from '../repos/cluster.js';

export interface Stoppable {
  close(): Promise<void>;
}

export interface LeasedOptions {
  cluster: Pick<ClusterRepo, 'lease' | 'release'>;
  /** The lease's name: one holder per name in the cluster. */
  name: string;
  /** This node (config.NODE_NAME). */
  node: string;
  /** How long a take or renewal holds (config.LEASE_SECONDS); tried and renewed three times as often. */
  leaseSeconds: number;
  /** Unix seconds (deps.clock). */
  clock: () => number;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Starts the work this lease guards; its `close` stops it. */
  start: () => Promise<Stoppable>;
}

export interface Leased extends Stoppable {
  /** Whether this node runs the work now (tests). */
  holding(): boolean;
}

/**
 * Runs work that one node of the cluster does at a time (the drop-folder watcher) while this node
 * holds its lease: tries to take it now and every third of a lease, renews it as often while it
 * runs. Another node's lease that runs out (the node died or stalled) is taken over. When a renewal
 * finds the lease taken, or the database stays unreachable until this node's lease would have run
 * out, the work stops: past that instant another node may have taken it over.
 */
export async function whileLeased(o: LeasedOptions): Promise<Leased> {
  let running: Stoppable | undefined;
  let heldUntil = 0;
  let closed = false;
  let turn: Promise<void> = Promise.resolve();

  const stop = async (why: string) => {
    const work = running;
    running = undefined;
    if (!work) return;
    o.log.info({ lease: o.name, node: o.node }, `stopped: ${why}`);
    await work.close();
  };
  const tick = async () => {
    if (closed) return;
    const now = o.clock();
    let held: boolean;
    try {
      held = await o.cluster.lease(o.name, o.node, now, now + o.leaseSeconds);
    } catch (err) {
      o.log.warn({ err, lease: o.name }, 'could not take or renew a cluster lease');
      // Ours until it would have run out (one second early: clocks differ); then it may be another's.
      if (running && o.clock() >= heldUntil - 1) await stop('lease not renewed in time');
      return;
    }
    if (closed) return;
    if (!held) return stop('another node holds the lease');
    heldUntil = now + o.leaseSeconds;
    if (!running) {
      running = await o.start();
      o.log.info({ lease: o.name, node: o.node }, 'took the lease: this node does the work');
    }
  };
  // One tick at a time: a slow database must not let two renewals (or two starts) overlap.
  const next = () => (turn = turn.then(tick).catch((err: unknown) => o.log.warn({ err, lease: o.name }, 'leased work failed to start')));
  await next();
  const timer = setInterval(() => void next(), (o.leaseSeconds * 1000) / 3);
  timer.unref();

  return {
    holding: () => running !== undefined,
    async close() {
      closed = true;
      clearInterval(timer);
      await turn;
      const had = running !== undefined;
      await stop('shutting down');
      // Given up at once, so another node need not wait for it to run out.
      if (had) await o.cluster.release(o.name, o.node).catch((err: unknown) => o.log.warn({ err, lease: o.name }, 'could not release a cluster lease'));
    },
  };
}
