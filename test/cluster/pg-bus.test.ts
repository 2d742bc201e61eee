import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClusterChange } from '../../src/cluster/bus.js';
import { pgBus } from '../../src/cluster/pg-bus.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

let server: PostgresServer;
let url: string;
const pools: pg.Pool[] = [];
beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase();
}, 120_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
});

function node() {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {}); // an idle pooled connection cut by the test
  pools.push(pool);
  const seen: ClusterChange[] = [];
  const bus = pgBus(url, pool, { retryMs: 100 });
  bus.subscribe((c) => seen.push(c));
  return { bus, seen, pool };
}

describe('the cluster bus on PostgreSQL LISTEN/NOTIFY (issue 13)', () => {
  it('carries every kind of change to the other nodes, in order, and never back to the sender', async () => {
    const a = node();
    const b = node();
    const c = node();
    await Promise.all([a.bus.ready, b.bus.ready, c.bus.ready]);
    const sent: ClusterChange[] = [
      { kind: 'image-removed', id: 'abc123' },
      { kind: 'image-changed', id: 'blog/2024/cat' },
      { kind: 'key-changed', keyId: 'k_1' },
      { kind: 'preset-changed', name: 'thumb' },
    ];
    for (const change of sent) await a.bus.publish(change);
    await expect.poll(() => b.seen.length, { timeout: 1000 }).toBe(4);
    await expect.poll(() => c.seen.length, { timeout: 1000 }).toBe(4);
    expect(b.seen).toEqual(sent);
    expect(c.seen).toEqual(sent);
    expect(a.seen).toEqual([]);
    await Promise.all([a.bus.close(), b.bus.close(), c.bus.close()]);
  });

  it('a listener whose connection is cut reconnects and announces resync, then receives again', async () => {
    const a = node();
    const b = node();
    await Promise.all([a.bus.ready, b.bus.ready]);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // Cut every other connection to this database listening on the channel (b's and a's listeners).
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = 'LISTEN imgpath_changes'",
    );
    await admin.end();
    await expect.poll(() => b.seen.some((c) => c.kind === 'resync'), { timeout: 5000 }).toBe(true);
    await a.bus.publish({ kind: 'image-removed', id: 'after' });
    await expect.poll(() => b.seen.at(-1), { timeout: 2000 }).toEqual({ kind: 'image-removed', id: 'after' });
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('a subscriber that throws does not stop the others, and close() ends the listener', async () => {
    const errors: Error[] = [];
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {});
    pools.push(pool);
    const b = pgBus(url, pool, { onError: (e) => errors.push(e) });
    const got = vi.fn();
    b.subscribe(() => {
      throw new Error('boom');
    });
    b.subscribe(got);
    const a = node();
    await Promise.all([a.bus.ready, b.ready]);
    await a.bus.publish({ kind: 'preset-changed', name: 'x' });
    await expect.poll(() => got.mock.calls.length, { timeout: 1000 }).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['boom']);
    await b.close();
    await a.bus.publish({ kind: 'preset-changed', name: 'y' });
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveBeenCalledTimes(1);
    await a.bus.close();
  });

  it('refuses a change too large for NOTIFY instead of failing inside PostgreSQL', async () => {
    const a = node();
    await expect(a.bus.publish({ kind: 'image-removed', id: 'x'.repeat(9000) })).rejects.toThrow(/too large/);
    await a.bus.close();
  });
});
