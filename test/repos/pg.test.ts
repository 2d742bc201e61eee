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
