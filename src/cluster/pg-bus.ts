import pg from 'pg';
import type { ChangeBus, ClusterChange } from './bus.js';

const CHANNEL = 'imgpath_changes';
/** NOTIFY payloads must stay under 8000 bytes; ours are ids and names, far below. */
const MAX_PAYLOAD = 7900;
/** A silent listener is given up within two of these (and a resync tells every cache); one `SELECT 1` each. */
const HEARTBEAT_MS = 2000;

/**
 * The cluster bus on PostgreSQL LISTEN/NOTIFY. One dedicated connection listens (a pooled one
 * would be handed to queries and lose its LISTEN); publishing uses any connection of `pool`.
 * A dropped listener reconnects with backoff and then announces `resync`: whatever was sent while
 * it was away is lost, so every cache must start again from the database.
 *
 * A listener only reads, so a connection that went silent without a FIN or RST (a NAT, balancer
 * or firewall that forgot it while idle; PostgreSQL on a host that vanished) would look alive
 * forever, and this node would go on trusting its caches: a revoked key, a deleted or private
 * image still served here, and refilled into the CDN after its purge. So the listener is pinged
 * every `heartbeatMs`; a ping unanswered by the next one gives the connection up.
 *
 * `node` must be the application_name of `pool`'s connections (openPg sets it): the row triggers
 * sign their notifications with it, and a node skips what it wrote itself.
 */
export function pgBus(
  url: string,
  pool: pg.Pool,
  opts: { node: string; onError?: (err: Error) => void; retryMs?: number; heartbeatMs?: number },
): ChangeBus & { ready: Promise<void> } {
  const node = opts.node;
  const subscribers: Array<(c: ClusterChange) => void> = [];
  let listener: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const deliver = (c: ClusterChange) => {
    for (const fn of subscribers) {
      try {
        fn(c);
      } catch (err) {
        opts.onError?.(err as Error);
      }
    }
  };

  const connect = async (again: boolean) => {
    // Named apart from the pool: its own notifications are none, and an operator sees who listens.
    const client = new pg.Client({ connectionString: url, application_name: `${node}:listen`, keepAlive: true });
    let given = false;
    let beat: NodeJS.Timeout | undefined;
    /** This connection is heard no more; a new one is scheduled (it announces the resync). */
    const lost = () => {
      given = true;
      clearInterval(beat);
      if (listener !== client) return;
      listener = undefined;
      if (!closed) schedule();
    };
    client.on('error', (err) => opts.onError?.(err));
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (given || msg.channel !== CHANNEL || !msg.payload) return;
      let parsed: { from: string; change: ClusterChange };
      try {
        parsed = JSON.parse(msg.payload);
      } catch {
        return;
      }
      if (parsed.from !== node) deliver(parsed.change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      opts.onError?.(err as Error);
      await client.end().catch(() => {});
      schedule();
      return;
    }
    if (closed) {
      await client.end().catch(() => {});
      return;
    }
    listener = client;
    if (again) deliver({ kind: 'resync' });
    let pinged = false;
    const giveUp = () => {
      if (given) return;
      opts.onError?.(new Error('cluster bus: the listening connection stopped answering; reconnecting'));
      lost();
      // A silent peer never acknowledges a goodbye either: the socket is closed from this side.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      client.end().catch(() => {});
    };
    beat = setInterval(() => {
      if (pinged) return giveUp();
      pinged = true;
      client.query('SELECT 1').then(() => {
        pinged = false;
      }, giveUp);
    }, opts.heartbeatMs ?? HEARTBEAT_MS);
    beat.unref();
  };
  const schedule = () => {
    if (retry || closed) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect(true);
    }, opts.retryMs ?? 500);
    retry.unref();
  };
  /** Resolves once the first LISTEN is in place (or its first try failed and a retry is scheduled). */
  const ready = connect(false);

  return {
    ready,
    async publish(change) {
      const payload = JSON.stringify({ from: node, change });
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) throw new Error(`cluster change too large to notify (${payload.length} bytes)`);
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    },
    subscribe(fn) {
      subscribers.push(fn);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await ready;
      await listener?.end().catch(() => {});
    },
  };
}
