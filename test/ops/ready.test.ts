import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { LocalStore } from '../../src/storage/local.js';
import { testApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function readyz(app: TestApp) {
  const res = await app.request('/readyz');
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    body: (await res.json()) as { status: string; failed: string[]; checks: Record<string, { ok: boolean; error?: string }> },
  };
}

describe('GET /healthz', () => {
  test('answers 200 while the process runs, even when a dependency is down', async () => {
    t = await testApp();
    const before = await t.request('/healthz');
    expect(before.status).toBe(200);
    expect(await before.json()).toEqual({ status: 'ok' });
    await fs.rm(t.deps.config.cacheDir, { recursive: true });
    await fs.writeFile(t.deps.config.cacheDir, 'not a directory');
    expect((await t.request('/healthz')).status).toBe(200);
  });
});

describe('GET /readyz', () => {
  test('is green with every check named when the database, storage, cache dir and sharp work', async () => {
    t = await testApp();
    const r = await readyz(t);
    expect(r.status).toBe(200);
    expect(r.cacheControl).toBe('no-store');
    expect(r.body.status).toBe('ok');
    expect(r.body.failed).toEqual([]);
    expect(Object.keys(r.body.checks).sort()).toEqual(['cache', 'database', 'sharp', 'storage']);
    expect(Object.values(r.body.checks).every((c) => c.ok)).toBe(true);
  });

  test('goes red naming the database when the DB is closed', async () => {
    t = await testApp();
    t.deps.db.$client.close();
    const r = await readyz(t);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('fail');
    expect(r.body.failed).toEqual(['database']);
    expect(r.body.checks.database.error).toMatch(/not open/i);
  });

  test('goes red naming the cache when the cache directory is not writable, and green again once fixed', async () => {
    t = await testApp();
    const cacheDir = t.deps.config.cacheDir;
    const parked = `${cacheDir}.parked`;
    // Tests run as root, where chmod does not stop writes: replace the directory with a file instead.
    await fs.rename(cacheDir, parked);
    await fs.writeFile(cacheDir, 'not a directory');
    const red = await readyz(t);
    expect(red.status).toBe(503);
    expect(red.body.failed).toEqual(['cache']);
    expect(red.body.checks.cache.error).toMatch(/ENOTDIR|EEXIST/);
    // The probe is public: it names the failure, never the filesystem layout.
    expect(JSON.stringify(red.body)).not.toContain(t.dir);

    await fs.rm(cacheDir);
    await fs.rename(parked, cacheDir);
    expect((await readyz(t)).status).toBe(200);
  });

  test('goes red naming storage when the originals store cannot be read', async () => {
    const storeDir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-store-')), 'originals-root');
    t = await testApp({}, { deps: { store: new LocalStore(storeDir) } });
    expect((await readyz(t)).status).toBe(200);
    await fs.rm(storeDir, { recursive: true, force: true });
    await fs.writeFile(storeDir, 'not a directory');
    const r = await readyz(t);
    expect(r.status).toBe(503);
    expect(r.body.failed).toEqual(['storage']);
    await fs.rm(path.dirname(storeDir), { recursive: true, force: true });
  });
});
