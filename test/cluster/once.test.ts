import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES_DIR, firstStart } from '../../src/bootstrap.js';
import { whileLeased } from '../../src/cluster/lease.js';
import { deleteImage } from '../../src/library/images.js';
import { ingest } from '../../src/library/ingest.js';
import { originalKey } from '../../src/storage/store.js';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import type { ClusterRepo } from '../../src/repos/cluster.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

// Work that must happen once per cluster, with two nodes starting on one PostgreSQL (issue 13 item 4).
let server: PostgresServer;
const nodes: Deps[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const d of nodes) {
    await d.cache.close();
    await d.repos.close();
  }
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
  await server?.stop();
});

async function node(url: string, name: string, env: Record<string, string> = {}): Promise<Deps> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `imgpath-${name}-`));
  dirs.push(dir);
  const store = path.join(path.dirname(dir), `${path.basename(url)}-store`);
  const deps = await createDeps(
    loadConfig({
      DATABASE_URL: url,
      NODE_NAME: name,
      DATA_DIR: path.join(dir, 'data'),
      CACHE_DIR: path.join(dir, 'cache'),
      LOG_LEVEL: 'silent',
      INBOX_DIR: 'off',
      ...env,
    }),
    // One store for the nodes of a database, as a bucket would be.
    { store: new (await import('../../src/storage/local.js')).LocalStore(store) },
  );
  nodes.push(deps);
  return deps;
}

describe('once per cluster', () => {
  it('two nodes starting together import the samples once and mint one admin key', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([node(url, 'a', { IMPORT_SAMPLES: 'true' }), node(url, 'b', { IMPORT_SAMPLES: 'true' })]);
    const [fa, fb] = await Promise.all([firstStart(a, 'http://a'), firstStart(b, 'http://b')]);
    const samples = (await fs.readdir(SAMPLES_DIR)).filter((f) => /\.(jpe?g|png|webp|gif|avif)$/i.test(f));
    expect([fa.imported.length, fb.imported.length].sort()).toEqual([0, samples.length]);
    expect([fa.adminKey, fb.adminKey].filter(Boolean)).toHaveLength(1);
    expect(await a.repos.images.count()).toBe(samples.length);
    expect(await a.repos.keys.count()).toBe(1);
    // Both print URLs to try; the key's commands only where it was made.
    expect(fa.exampleUrls.length).toBeGreaterThan(0);
    expect(fb.exampleUrls.length).toBeGreaterThan(0);
    // Done for the cluster: an emptied library is not refilled by a later start.
    for (const id of fa.imported.length ? fa.imported : fb.imported) await a.repos.images.delete((await a.repos.images.byId(id))!);
    const later = await firstStart(await node(url, 'c', { IMPORT_SAMPLES: 'true' }), 'http://c');
    expect(later.imported).toEqual([]);
    expect(later.adminKey).toBeUndefined();
  });

  it('every node signs with the same generated secrets; the environment still wins', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([node(url, 'a'), node(url, 'b')]);
    expect(a.secrets.signingKeys).toEqual(b.secrets.signingKeys);
    expect(Buffer.from(a.secrets.jwtSecret).equals(Buffer.from(b.secrets.jwtSecret))).toBe(true);
    expect(a.secrets.signingKeys[0]!.secret.length).toBeGreaterThan(30);
    await expect(fs.access(path.join(a.config.dataDir, 'secrets.json'))).rejects.toThrow();
    const own = await node(url, 'c', { SIGNING_KEYS: 'mine:0123456789abcdef0123' });
    expect(own.secrets.signingKeys).toEqual([{ kid: 'mine', secret: '0123456789abcdef0123' }]);
    expect(Buffer.from(own.secrets.jwtSecret).equals(Buffer.from(a.secrets.jwtSecret))).toBe(true);
  });

  it('nodes starting together with ADMIN_API_KEY make one key, which works on both', async () => {
    const url = await server.createDatabase();
    const ADMIN_API_KEY = 'bootstrap-admin-key-0123456789';
    const [a, b] = await Promise.all([node(url, 'a', { ADMIN_API_KEY }), node(url, 'b', { ADMIN_API_KEY })]);
    expect(await a.repos.keys.count()).toBe(1);
    expect(await a.keys.verify(ADMIN_API_KEY)).toMatchObject({ id: 'key_bootstrap' });
    expect(await b.keys.verify(ADMIN_API_KEY)).toMatchObject({ id: 'key_bootstrap' });
  });
});

describe('originals shared by nodes', () => {
  it("a node's delete or upload of some bytes waits while another node holds those bytes' lock", async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([node(url, 'a'), node(url, 'b')]);
    const bytes = await fs.readFile(path.join(SAMPLES_DIR, 'dune-2mp.jpg'));
    const { image } = await ingest(a, bytes);
    const key = originalKey(image.hash);
    // B, in another process, is between "write the original" and "insert its row" (or between
    // "nobody else uses it" and "remove the file"): A must not decide about the file meanwhile.
    const during = await b.repos.cluster!.exclusive(`original:${image.hash}`, async () => {
      const deleting = deleteImage(a, image);
      await new Promise((r) => setTimeout(r, 300));
      const seen = { row: Boolean(await a.repos.images.byId(image.id)), file: await a.store.has(key) };
      return { seen, deleting };
    });
    expect(during.seen).toEqual({ row: true, file: true });
    expect(await during.deleting).toEqual({ purgedOriginal: true });
    expect(await a.store.has(key)).toBe(false);

    const uploading = await b.repos.cluster!.exclusive(`original:${image.hash}`, async () => {
      const upload = ingest(a, bytes);
      await new Promise((r) => setTimeout(r, 300));
      return { file: await a.store.has(key), upload };
    });
    expect(uploading.file).toBe(false);
    expect((await uploading.upload).duplicate).toBe(false);
    expect(await a.store.has(key)).toBe(true);
  });
});

describe('work one node does at a time (the drop folder)', () => {
  it('runs on the lease holder only; another node takes over when the holder stops renewing, or at once when it lets go', async () => {
    const url = await server.createDatabase();
    const [a, b, c] = await Promise.all([node(url, 'a'), node(url, 'b'), node(url, 'c')]);
    let now = 1_000;
    const clock = () => now;
    const running = new Set<string>();
    const log = { info() {}, warn() {} };
    let aDown = false;
    // A's database calls fail from `aDown` on: a node cut off (or frozen), as far as the others can tell.
    const aCluster: Pick<ClusterRepo, 'lease' | 'release'> = {
      lease: (...args) => (aDown ? Promise.reject(new Error('unreachable')) : a.repos.cluster!.lease(...args)),
      release: (...args) => a.repos.cluster!.release(...args),
    };
    const leased = (deps: Deps, cluster: Pick<ClusterRepo, 'lease' | 'release'>) =>
      whileLeased({
        cluster,
        name: 'inbox',
        node: deps.config.NODE_NAME,
        leaseSeconds: 3,
        clock,
        log,
        start: async () => {
          running.add(deps.config.NODE_NAME);
          return { close: async () => void running.delete(deps.config.NODE_NAME) };
        },
      });
    const la = await leased(a, aCluster);
    const lb = await leased(b, b.repos.cluster!);
    expect([...running]).toEqual(['a']);
    expect([la.holding(), lb.holding()]).toEqual([true, false]);

    // A stops renewing; once its lease has run out, A has stopped and B has taken over.
    aDown = true;
    now += 4;
    await expect.poll(() => [...running], { timeout: 3000, interval: 50 }).toEqual(['b']);
    aDown = false;
    // A, back, does not take it back while B renews.
    await new Promise((r) => setTimeout(r, 1200));
    expect([...running]).toEqual(['b']);

    // B shuts down cleanly: its lease is released, so C takes over at its next try, not a lease later.
    const lc = await leased(c, c.repos.cluster!);
    await lb.close();
    await expect.poll(() => running.size, { timeout: 3000, interval: 50 }).toBe(1);
    expect(running.has('b')).toBe(false);
    await Promise.all([la.close(), lc.close()]);
    expect(running.size).toBe(0);
  });
});
