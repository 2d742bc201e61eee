import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChangeBus, type ClusterChange, localBus } from '../../src/cluster/bus.js';
import { pgBus } from '../../src/cluster/pg-bus.js';
import { openPg } from '../../src/db/pg/client.js';
import type { Repos } from '../../src/repos/index.js';
import { createPgRepos } from '../../src/repos/pg/index.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { repoContract } from './contract.js';

let server: PostgresServer;
let n = 0;
const TEMPLATE = 'repos_template';

beforeAll(async () => {
  server = await startPostgres();
  // Migrated once; every test gets a copy (CREATE DATABASE … TEMPLATE is a file copy, far quicker than migrating).
  const db = await openPg(await server.createDatabase(TEMPLATE), { node: 'template' });
  await db.$client.end();
}, 120_000);
afterAll(() => server?.stop());

async function freshDatabase(): Promise<string> {
  const name = `repos_${++n}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE}" STRATEGY FILE_COPY`);
  } finally {
    await admin.end();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}

let shared: string;
repoContract('PostgreSQL', async () => {
  // One database for the suite, emptied before each test (quicker than a new one each time).
  shared ??= await freshDatabase();
  const db = await openPg(shared, { node: 'contract' });
  const { rows } = await db.$client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
  await db.$client.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
  // A node of a cluster hears the others on the bus. It starts listening with the first peer (a
  // LISTEN connection for every test would cost more than most tests): nobody else writes before.
  const heard: Array<(c: ClusterChange) => void> = [];
  let bus: ChangeBus | undefined;
  const repos = createPgRepos(db, { bus: { ...localBus(), subscribe: (fn) => heard.push(fn) } });
  const peers: Repos[] = [];
  return {
    repos,
    async peer() {
      if (!bus) {
        const listening = pgBus(shared, db.$client, { node: 'contract' });
        bus = listening;
        await listening.ready;
        listening.subscribe((c) => {
          for (const fn of heard) fn(c);
        });
      }
      const peer = createPgRepos(await openPg(shared, { node: `peer${peers.length}` }));
      peers.push(peer);
      return peer;
    },
    async cleanup() {
      await bus?.close();
      await Promise.all([repos, ...peers].map((r) => r.close()));
    },
  };
});

describe('repositories: PostgreSQL across nodes', () => {
  it('a change written by another node moves this node’s change mark, once the bus delivers it', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([openPg(url, { node: 'a' }), openPg(url, { node: 'b' })]);
    const bus = pgBus(url, a.$client, { node: 'a' });
    await bus.ready;
    const here = createPgRepos(a, { bus });
    const there = createPgRepos(b);
    try {
      const before = here.changes();
      await there.tasks.create({ id: 't', kind: 'transform', input: '{}', ownerId: null });
      await expect.poll(() => here.changes(), { timeout: 2000 }).not.toBe(before);
      // noteChange is the same door for whoever else learns of a change.
      const mark = here.changes();
      here.noteChange();
      expect(here.changes()).not.toBe(mark);
    } finally {
      await bus.close();
      await Promise.all([here.close(), there.close()]);
    }
  });

  it('a task is claimed by one node of many, each with its own connections', async () => {
    const url = await freshDatabase();
    const nodes = await Promise.all(['a', 'b', 'c', 'd'].map(async (node) => createPgRepos(await openPg(url, { node }))));
    try {
      for (let i = 0; i < 10; i++) await nodes[0]!.tasks.create({ id: `t${i}`, kind: 'transform', input: '{}', ownerId: null });
      const now = 1000;
      const won = await Promise.all(
        nodes.map(async (repos, k) => {
          const mine: string[] = [];
          for (const id of await repos.tasks.claimable(now, 100)) {
            if (await repos.tasks.claim(id, { node: `n${k}`, now, until: now + 30 })) mine.push(id);
          }
          return mine;
        }),
      );
      const all = won.flat().sort();
      expect(all).toEqual([...new Set(all)]);
      expect(all).toHaveLength(10);
    } finally {
      await Promise.all(nodes.map((r) => r.close()));
    }
  });
});

describe('cluster settings, leases and locks (PostgreSQL only)', () => {
  async function nodes(n: number) {
    const url = await freshDatabase();
    return Promise.all(Array.from({ length: n }, async (_, i) => createPgRepos(await openPg(url, { node: `n${i}` }))));
  }

  it('a setting is made once: of many nodes offering a value at once, every one gets the first stored', async () => {
    const all = await nodes(3);
    try {
      const got = await Promise.all(all.map((r, i) => r.cluster!.settle('secrets', `from-${i}`)));
      expect(new Set(got).size).toBe(1);
      expect(await all[0]!.cluster!.settle('secrets', 'later')).toBe(got[0]);
      expect(await all[1]!.cluster!.setting('secrets')).toBe(got[0]);
      expect(await all[1]!.cluster!.setting('unknown')).toBeUndefined();
    } finally {
      await Promise.all(all.map((r) => r.close()));
    }
  });

  it('a lease has one holder: renewed by it, refused to others until it runs out or is released', async () => {
    const [a, b] = await nodes(2);
    try {
      const [ca, cb] = [a!.cluster!, b!.cluster!];
      expect(await Promise.all([ca.lease('inbox', 'a', 100, 130), cb.lease('inbox', 'b', 100, 130)])).toEqual(expect.arrayContaining([true, false]));
      const [holder, other] = (await ca.lease('inbox', 'a', 110, 140)) ? [ca, cb] : [cb, ca];
      const [me, them] = holder === ca ? ['a', 'b'] : ['b', 'a'];
      expect(await holder.lease('inbox', me, 120, 150)).toBe(true);
      expect(await other.lease('inbox', them, 149, 179)).toBe(false);
      // Ran out: taken over.
      expect(await other.lease('inbox', them, 151, 181)).toBe(true);
      expect(await holder.lease('inbox', me, 152, 182)).toBe(false);
      // Released by its holder only.
      await holder.release('inbox', me);
      expect(await holder.lease('inbox', me, 153, 183)).toBe(false);
      await other.release('inbox', them);
      expect(await holder.lease('inbox', me, 153, 183)).toBe(true);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('a lock is held by one node at a time; a node that dies mid-work releases it', async () => {
    const [a, b] = await nodes(2);
    try {
      const order: string[] = [];
      const work = (name: string) => async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 100));
        order.push(`${name} out`);
        return name;
      };
      expect(await Promise.all([a!.cluster!.exclusive('x', work('a')), b!.cluster!.exclusive('x', work('b'))])).toEqual(['a', 'b']);
      expect(order.join(',')).toMatch(/^(a in,a out,b in,b out|b in,b out,a in,a out)$/);
      // A failing work releases the lock too; different names do not wait for each other.
      await expect(a!.cluster!.exclusive('x', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      let inner = '';
      await b!.cluster!.exclusive('x', () => a!.cluster!.exclusive('y', async () => void (inner = 'ran')));
      expect(inner).toBe('ran');
      // Its connection gone (the node died, the database restarted): the lock with it.
      let finish!: () => void;
      const held = a!.cluster!.exclusive('z', () => new Promise<void>((r) => (finish = r)));
      await new Promise((r) => setTimeout(r, 100));
      const pool = new pg.Pool({ connectionString: server.url });
      await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'n0:locks'");
      await pool.end();
      await expect(b!.cluster!.exclusive('z', async () => 'taken over')).resolves.toBe('taken over');
      finish();
      await held;
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });
});
