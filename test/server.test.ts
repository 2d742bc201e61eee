import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';

// The first-start experience over a real socket: empty DATA_DIR -> migrations, samples, admin key, example URL.
let dir: string;
let running: RunningServer;
let printed = '';

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-server-'));
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    printed += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    running = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'silent', INBOX_DIR: 'off' }),
    );
  } finally {
    process.stdout.write = write;
  }
});
afterAll(async () => {
  await running.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('first start', () => {
  it('creates the SQLite file, imports the samples and prints an admin key once', async () => {
    await expect(fs.stat(path.join(dir, 'data', 'imgpath.db'))).resolves.toBeTruthy();
    const key = printed.match(/(imgp_[A-Za-z0-9_-]+)/)?.[1];
    expect(key).toBeDefined();
    const originals = await fs.readdir(path.join(dir, 'data', 'originals'), { recursive: true });
    expect(originals.filter((f) => /^[0-9a-f]{64}$/.test(path.basename(String(f))))).toHaveLength(4);
  });

  it('prints the key once, on its own line, and no URL carries it: the examples work without it', async () => {
    const key = printed.match(/(imgp_[A-Za-z0-9_-]+)/)![1];
    expect(printed.split(key)).toHaveLength(2);
    expect(printed).toMatch(new RegExp(`^ +${key}$`, 'm'));
    expect(printed).not.toMatch(/[?&]key=/);
    const urls = printed.match(/^ +(http:\/\/\S+)$/gm)!.map((l) => l.trim());
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const u of urls) expect((await fetch(u)).status, u).toBe(200);
    // The commands send it from $IMGPATH_KEY in a header.
    const listing = printed.match(/curl -H "X-API-Key: \$IMGPATH_KEY" (\S+)/)![1];
    expect((await fetch(listing, { headers: { 'X-API-Key': key } })).status).toBe(200);
  });

  it('serves a sample over HTTP, original and resized with the printed key', async () => {
    const key = printed.match(/(imgp_[A-Za-z0-9_-]+)/)![1];
    const row = running.deps.db.$client.prepare("select id from images where filename = 'sunset-12mp.jpg'").get() as { id: string };
    const original = await fetch(`${running.url}/img/${row.id}`);
    expect(original.status).toBe(200);
    const small = await fetch(`${running.url}/img/w_300,r_90,f_webp/${row.id}`, { headers: { 'X-API-Key': key } });
    expect(small.status).toBe(200);
    const m = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
    expect([m.format, m.width]).toEqual(['webp', 300]);
    expect(m.height!).toBeGreaterThan(m.width!);
  });

  it('answers /healthz and JSON errors for unknown routes', async () => {
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    const res = await fetch(`${running.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('does not import again or mint another key on the next start', async () => {
    const { firstStart } = await import('../src/bootstrap.js');
    const again = await firstStart(running.deps, running.url);
    expect(again.imported).toEqual([]);
    expect(again.adminKey).toBeUndefined();
  });
});
