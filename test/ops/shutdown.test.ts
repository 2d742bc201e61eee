import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDb } from '../../src/db/client.js';
import { tasks } from '../../src/db/schema.js';
import { startServer } from '../../src/server.js';
import { LocalStore } from '../../src/storage/local.js';
import { originalKey } from '../../src/storage/store.js';
import { sample, testApp } from '../helpers/app.js';
import { spawnCli } from './cli.js';

/**
 * The real server as a child process (`node bin/imgpath.js serve`), stopped with real signals.
 * Log lines on its stdout say what happened and in which order.
 */
interface Served {
  child: ChildProcess;
  url: string;
  adminKey: string;
  imageId: string;
  dataDir: string;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line matching, however late it comes. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function serve(env: Record<string, string> = {}): Promise<Served> {
  // Seed the library in-process, then hand its directories to the child.
  const t = await testApp();
  const imageId = await t.seed('sunset-12mp.jpg');
  await t.deps.cache.close();
  t.deps.db.$client.close();
  const child = spawnCli(
    ['serve'],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: t.deps.config.dataDir,
      CACHE_DIR: t.deps.config.cacheDir,
      IMPORT_SAMPLES: 'false',
      INBOX_DIR: 'off',
      LOG_LEVEL: 'debug',
      ...env,
    },
    t.dir,
  );
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let buffer = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const raw = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!raw.startsWith('{')) continue;
      const line = JSON.parse(raw) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      waiters.push({ match, resolve });
      void exited.then(({ code }) => reject(new Error(`server exited (${code}) before the expected log line; stderr: ${stderr}`)));
    });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await fs.rm(t.dir, { recursive: true, force: true });
  });
  const listening = await waitFor((l) => l.msg === 'imgpath listening');
  return {
    child,
    url: String(listening.url).replace('localhost', '127.0.0.1'),
    adminKey: t.adminKey,
    imageId,
    dataDir: t.deps.config.dataDir,
    lines,
    waitFor,
    exited,
  };
}

/** A POST whose body never finishes: the server holds it in flight until the client or a deadline gives up. */
function stalledRequest(url: string) {
  const req = http.request(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000' } });
  const outcome = new Promise<string>((resolve) => {
    req.once('response', (res) => resolve(`status ${res.statusCode}`));
    req.once('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
  req.write('{"email":"a@b.c",');
  return outcome;
}

describe('graceful shutdown', () => {
  test('SIGTERM during a 12 MP render: the response completes with 200, then the process exits 0', async () => {
    // A generous deadline: this test is about finishing the render, not about cutting it.
    const s = await serve({ SHUTDOWN_TIMEOUT_MS: '120000' });
    const pending = fetch(`${s.url}/img/w_3000,f_webp,e_sharpen/${s.imageId}`, { headers: { 'X-API-Key': s.adminKey } });
    await s.waitFor((l) => l.msg === 'request start' && String(l.url).startsWith('/img/'));
    s.child.kill('SIGTERM');

    const res = await pending;
    expect(res.status).toBe(200);
    const image = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(image.width).toBe(3000);
    expect(image.format).toBe('webp');
    expect(await s.exited).toEqual({ code: 0, signal: null });

    // In order: the signal was taken, the in-flight render was answered, then the process stopped.
    const order = s.lines.map((l) => (l.msg === 'request' ? `request ${l.status}` : l.msg));
    const at = (m: string) => order.indexOf(m);
    expect(at('shutting down: finishing in-flight requests')).toBeGreaterThanOrEqual(0);
    expect(at('request 200')).toBeGreaterThan(at('shutting down: finishing in-flight requests'));
    expect(at('stopped')).toBeGreaterThan(at('request 200'));
    // Nothing listens any more.
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  test('a request still running at SHUTDOWN_TIMEOUT_MS is cut, and the process still closes cleanly', async () => {
    const s = await serve({ SHUTDOWN_TIMEOUT_MS: '300' });
    const outcome = stalledRequest(s.url);
    await s.waitFor((l) => l.msg === 'request start' && l.url === '/auth/login');
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(await outcome).toMatch(/^error /);
    expect(s.lines.some((l) => l.msg === 'shutdown deadline reached: cut the requests still running')).toBe(true);
  });

  test('a second signal exits at once with code 1', async () => {
    const s = await serve({ SHUTDOWN_TIMEOUT_MS: '600000' });
    void stalledRequest(s.url);
    await s.waitFor((l) => l.msg === 'request start' && l.url === '/auth/login');
    s.child.kill('SIGTERM');
    await s.waitFor((l) => l.msg === 'shutting down: finishing in-flight requests');
    s.child.kill('SIGINT');
    expect(await s.exited).toEqual({ code: 1, signal: null });
    expect(s.lines.some((l) => l.msg === 'second signal: exiting without waiting')).toBe(true);
  });
});

describe('shutdown with a hostile drop folder', () => {
  test('a FIFO and a symlink in the inbox are refused without being opened, and SIGTERM still exits 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    // Reading a FIFO with no writer blocks a libuv thread for good, and process.exit then waits on it forever.
    const inbox = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-inbox-'));
    cleanups.push(() => fs.rm(inbox, { recursive: true, force: true }));
    execFileSync('mkfifo', [path.join(inbox, 'pipe.jpg')]);
    await fs.symlink('/etc/hostname', path.join(inbox, 'link.jpg'));
    const s = await serve({ INBOX_DIR: inbox, SHUTDOWN_TIMEOUT_MS: '1000' });
    const refused = (name: string) => s.waitFor((l) => String(l.msg).startsWith('not imported, left in place') && String(l.file).endsWith(name));
    expect(await refused('pipe.jpg')).toMatchObject({ code: 'not_regular_file', level: 40 });
    expect(await refused('link.jpg')).toMatchObject({ code: 'symlink', level: 40 });
    // The server is still serving while the FIFO sits there.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

    const started = performance.now();
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - started).toBeLessThan(1000 + 2000);
    expect((await fs.lstat(path.join(inbox, 'pipe.jpg'))).isFIFO()).toBe(true);
  }, 30_000);

  test('a worker thread stuck for good (an original that became a FIFO) cannot hold the process: it is killed just after the deadline', async () => {
    const s = await serve({ SHUTDOWN_TIMEOUT_MS: '500' });
    const hash = createHash('sha256').update(sample('sunset-12mp.jpg')).digest('hex');
    const original = path.join(s.dataDir, originalKey(hash));
    await fs.rm(original);
    execFileSync('mkfifo', [original]);
    // The render's read of the original now waits for a writer that never comes, in a libuv thread.
    const outcome = fetch(`${s.url}/img/w_200/${s.imageId}`, { headers: { 'X-API-Key': s.adminKey } }).then(
      (r) => `status ${r.status}`,
      () => 'cut',
    );
    await s.waitFor((l) => l.msg === 'request start' && String(l.url).startsWith('/img/'));
    await new Promise((r) => setTimeout(r, 200));

    const started = performance.now();
    s.child.kill('SIGTERM');
    // Closing itself finishes within the deadline; process.exit then waits on the stuck thread,
    // and the watchdog ends it (SIGTERM's own backstop runs on the blocked thread).
    await s.waitFor((l) => l.msg === 'stopped');
    expect(performance.now() - started).toBeLessThan(500 + 2_000);
    expect(await s.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(performance.now() - started).toBeLessThan(500 + 6_000 + 2_000);
    expect(await outcome).toBe('cut');
  }, 30_000);
});

describe('start-up', () => {
  test('reports the libuv pool size, and warns with the value to set when renders can fill it', async () => {
    const roomy = await serve({ RENDER_CONCURRENCY: '2', UV_THREADPOOL_SIZE: '6' });
    expect(await roomy.waitFor((l) => l.msg === 'libuv threadpool')).toMatchObject({ uvThreadpoolSize: 6, renderConcurrency: 2, level: 30 });
    roomy.child.kill('SIGTERM');
    expect(await roomy.exited).toEqual({ code: 0, signal: null });

    const starved = await serve({ RENDER_CONCURRENCY: '4' });
    const warning = await starved.waitFor((l) => l.uvThreadpoolSize !== undefined);
    expect(warning).toMatchObject({ uvThreadpoolSize: 4, renderConcurrency: 4, level: 40 });
    expect(warning.msg).toContain('UV_THREADPOOL_SIZE=8');
    starved.child.kill('SIGTERM');
    expect(await starved.exited).toEqual({ code: 0, signal: null });
  });
});

describe('shutdown deadline and background tasks', () => {
  test('a task still rendering at SHUTDOWN_TIMEOUT_MS does not hold the shutdown; it is left for the next start', async () => {
    const t = await testApp();
    const imageId = await t.seed('dune-2mp.jpg');
    await t.deps.cache.close();
    t.deps.db.$client.close();
    cleanups.push(() => fs.rm(t.dir, { recursive: true, force: true }));
    const config = loadConfig({
      DATA_DIR: t.deps.config.dataDir,
      CACHE_DIR: t.deps.config.cacheDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      IMPORT_SAMPLES: 'false',
      INBOX_DIR: 'off',
      SHUTDOWN_TIMEOUT_MS: '200',
      RENDER_TIMEOUT_MS: '600000',
    });
    // Originals that never arrive until released (a remote store: no local file to decode): the task's render outlives any deadline.
    const local = new LocalStore(config.dataDir);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let reads = 0;
    const store = Object.assign(Object.create(local) as LocalStore, {
      localFile: undefined,
      get: async (key: string) => {
        reads++;
        await released;
        return local.get(key);
      },
    });
    const running = await startServer(config, { store });
    const res = await fetch(`${running.url}/images/${imageId}/transform?async=1`, {
      method: 'POST',
      headers: { 'X-API-Key': t.adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ resize: { width: 150 } }),
    });
    expect(res.status).toBe(202);
    while (reads === 0) await new Promise((r) => setTimeout(r, 10));

    await running.close();
    release();
    const db = openDb(config.dbFile);
    try {
      // Not done, not failed: `running` rows are re-queued by the next start.
      expect(db.select({ state: tasks.state }).from(tasks).all()).toEqual([{ state: 'running' }]);
    } finally {
      db.$client.close();
    }
  }, 20_000);
});
