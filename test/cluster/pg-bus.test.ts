import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClusterChange } from '../../src/cluster/bus.js';
import { pgBus } from '../../src/cluster/pg-bus.js';
import { openPg } from '../../src/db/pg/client.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

let server: PostgresServer;
let url: string;
const pools: pg.Pool[] = [];
let n = 0;
beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase();
  pools.push((await openPg(url, { node: 'migrate' })).$client);
}, 120_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
});

/** One imgpath node's view: its pool (named like openPg names it) and what its bus delivered. */
function node() {
  const name = `node${++n}`;
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: name });
  pool.on('error', () => {}); // an idle pooled connection cut by the test
  pools.push(pool);
  const seen: ClusterChange[] = [];
  const bus = pgBus(url, pool, { node: name, retryMs: 100 });
  bus.subscribe((c) => seen.push(c));
  return { bus, seen, pool };
}
const rows = (seen: ClusterChange[]) => seen.filter((c) => c.kind === 'row').map((c) => (c.kind === 'row' ? `${c.table} ${c.op} ${c.id}` : ''));

describe('the cluster bus on PostgreSQL LISTEN/NOTIFY (issue 13)', () => {
  it('the database announces every write to a watched table to the other nodes, after commit, never to the writer', async () => {
    const a = node();
    const b = node();
    await Promise.all([a.bus.ready, b.bus.ready]);
    const q = (sql: string) => a.pool.query(sql);
    await q("INSERT INTO users (username, password_hash) VALUES ('ada', 'x')");
    await q("INSERT INTO images (id, hash, format, width, height, bytes, orientation) VALUES ('img1', 'h', 'jpeg', 10, 10, 100, 'square')");
    await q("UPDATE images SET visibility = 'private' WHERE id = 'img1'");
    await q("INSERT INTO presets (name, options) VALUES ('thumb', 'w_100')");
    await q("INSERT INTO api_keys (id, prefix, hash, scopes) VALUES ('k1', 'p', 'hash1', 'deliver')");
    await q("UPDATE api_keys SET revoked_at = 1 WHERE id = 'k1'");
    await q('BEGIN');
    await q("DELETE FROM presets WHERE name = 'thumb'");
    await q("INSERT INTO tasks (id, kind, input) VALUES ('t1', 'transform', '{}')");
    // nothing is announced before the commit
    await new Promise((r) => setTimeout(r, 100));
    expect(rows(b.seen)).not.toContain('presets delete thumb');
    await q('COMMIT');
    await q("DELETE FROM images WHERE id = 'img1'");
    const expected = [
      'users insert 1',
      'images insert img1',
      'images update img1',
      'presets insert thumb',
      'api_keys insert k1',
      'api_keys update k1',
      'presets delete thumb',
      'tasks insert t1',
      'images delete img1',
    ];
    await expect.poll(() => rows(b.seen), { timeout: 1000 }).toEqual(expected);
    expect(a.seen).toEqual([]);
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('usage counters on a key are not announced (the hit path writes them), verdict columns are', async () => {
    const a = node();
    const b = node();
    await Promise.all([a.bus.ready, b.bus.ready]);
    await a.pool.query("INSERT INTO api_keys (id, prefix, hash, scopes) VALUES ('k2', 'p', 'hash2', 'deliver')");
    await a.pool.query("UPDATE api_keys SET requests = requests + 1, renders = 1, bytes_served = 10, last_used_at = 5 WHERE id = 'k2'");
    await a.pool.query("UPDATE api_keys SET scopes = 'deliver,upload' WHERE id = 'k2'");
    await expect.poll(() => rows(b.seen), { timeout: 1000 }).toEqual(['api_keys insert k2', 'api_keys update k2']);
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('a write from outside imgpath (an operator at psql) reaches every node', async () => {
    const a = node();
    await a.bus.ready;
    const psql = new pg.Client({ connectionString: url, application_name: 'psql' });
    await psql.connect();
    await psql.query("INSERT INTO presets (name, options) VALUES ('hero', 'w_1600')");
    await psql.end();
    await expect.poll(() => rows(a.seen), { timeout: 1000 }).toEqual(['presets insert hero']);
    await a.bus.close();
  });

  it('carries what the app publishes itself, in order', async () => {
    const a = node();
    const b = node();
    await Promise.all([a.bus.ready, b.bus.ready]);
    const sent: ClusterChange[] = [
      { kind: 'row', table: 'images', op: 'delete', id: 'x' },
      { kind: 'row', table: 'presets', op: 'update', id: 'y' },
    ];
    for (const change of sent) await a.bus.publish(change);
    await expect.poll(() => b.seen, { timeout: 1000 }).toEqual(sent);
    expect(a.seen).toEqual([]);
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('a listener whose connection is cut reconnects and announces resync, then receives again', async () => {
    const a = node();
    const b = node();
    await Promise.all([a.bus.ready, b.bus.ready]);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = 'LISTEN imgpath_changes'",
    );
    await admin.end();
    await expect.poll(() => b.seen.some((c) => c.kind === 'resync'), { timeout: 5000 }).toBe(true);
    await a.pool.query("INSERT INTO presets (name, options) VALUES ('after', 'w_1')");
    await expect.poll(() => rows(b.seen).at(-1), { timeout: 2000 }).toBe('presets insert after');
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('a listener that goes silent (a NAT or balancer forgot the idle connection: no FIN, no RST) is noticed by its heartbeat: resync, reconnect, receive again', async () => {
    // A TCP relay to PostgreSQL that can stop passing bytes on the connections it has, keeping them open.
    const pairs: Array<{ client: net.Socket; server: net.Socket; silent: boolean }> = [];
    const relay = net.createServer((client) => {
      const pair = { client, server: net.connect(server.port, '127.0.0.1'), silent: false };
      pairs.push(pair);
      client.on('data', (d) => pair.silent || pair.server.write(d));
      pair.server.on('data', (d) => pair.silent || client.write(d));
      for (const s of [client, pair.server]) s.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const through = url.replace(`:${server.port}/`, `:${(relay.address() as net.AddressInfo).port}/`);
    const a = node();
    const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'quiet' });
    pool.on('error', () => {});
    pools.push(pool);
    const b = pgBus(through, pool, { node: 'quiet', retryMs: 100, heartbeatMs: 200 });
    const seen: ClusterChange[] = [];
    b.subscribe((c) => seen.push(c));
    await Promise.all([a.bus.ready, b.ready]);
    for (const p of pairs) p.silent = true;
    await a.pool.query("INSERT INTO presets (name, options) VALUES ('unheard', 'w_1')");
    // Lost with the silent connection: every cache on that node starts again instead.
    await expect.poll(() => seen.some((c) => c.kind === 'resync'), { timeout: 3000 }).toBe(true);
    await expect.poll(() => pairs.length, { timeout: 3000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    await a.pool.query("INSERT INTO presets (name, options) VALUES ('heard', 'w_1')");
    await expect.poll(() => rows(seen).at(-1), { timeout: 2000 }).toBe('presets insert heard');
    await Promise.all([a.bus.close(), b.close()]);
    for (const p of pairs) for (const s of [p.client, p.server]) s.destroy();
    relay.close();
  });

  it('a subscriber that throws does not stop the others, and close() ends the listener', async () => {
    const errors: Error[] = [];
    const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'solo' });
    pool.on('error', () => {});
    pools.push(pool);
    const b = pgBus(url, pool, { node: 'solo', onError: (e) => errors.push(e) });
    const got = vi.fn();
    b.subscribe(() => {
      throw new Error('boom');
    });
    b.subscribe(got);
    const a = node();
    await Promise.all([a.bus.ready, b.ready]);
    await a.pool.query("INSERT INTO presets (name, options) VALUES ('p1', 'w_1')");
    await expect.poll(() => got.mock.calls.length, { timeout: 1000 }).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['boom']);
    await b.close();
    await a.pool.query("INSERT INTO presets (name, options) VALUES ('p2', 'w_1')");
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveBeenCalledTimes(1);
    await a.bus.close();
  });

  it('refuses a change too large for NOTIFY instead of failing inside PostgreSQL', async () => {
    const a = node();
    await expect(a.bus.publish({ kind: 'row', table: 'images', op: 'delete', id: 'x'.repeat(9000) })).rejects.toThrow(/too large/);
    await a.bus.close();
  });
});
