import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { sweepLeftovers } from '../../src/ops/leftovers.js';
import { STALE_TEMP_MS } from '../../src/storage/atomic.js';
import { testApp } from '../helpers/app.js';
import { runCli, spawnCli } from './cli.js';

/**
 * Nothing is left behind by a crash: every temp name imgpath writes is swept once it is older than
 * STALE_TEMP_MS (at start-up and by `imgpath cache prune`), and a younger one — another process's
 * write in flight — is kept. Real files, a real server killed with SIGKILL in the middle of a write.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const OLD = Date.now() / 1000 - 3600;
/** Write `file` with `bytes` bytes, last modified `ageS` seconds ago (default: an hour, long stale). */
async function plant(file: string, bytes: number, ageS = 3600) {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, Buffer.alloc(bytes, 7));
  const t = Date.now() / 1000 - ageS;
  await fs.utimes(file, t, t);
  return file;
}
const exists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  );

/** Every `*.tmp` under `dir`. */
async function temps(dir: string) {
  const all = (await fs.readdir(dir, { recursive: true }).catch(() => [] as string[])) as string[];
  return all.filter((f) => f.endsWith('.tmp')).map((f) => path.join(dir, f));
}

describe('sweepLeftovers', () => {
  it('removes stale temp names from every folder imgpath writes, keeps fresh ones and everything else, and counts files and bytes', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-sweep-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const config = loadConfig({ DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), INBOX_DIR: path.join(dir, 'inbox') });
    const originals = path.join(config.dataDir, 'originals', 'ab');
    const renditions = path.join(config.cacheDir, 'renditions', 'cd');
    const imported = path.join(config.inboxDir!, '.imported');
    const stale = [
      await plant(path.join(originals, 'ab12.0123456789ab.tmp'), 1000),
      await plant(path.join(renditions, 'cdkey.webp.0123456789ab.tmp'), 300),
      await plant(path.join(config.dataDir, 'secrets.json.tmp'), 20),
      await plant(path.join(config.cacheDir, '.ready-0123456789ab'), 2),
      await plant(path.join(imported, 'album', 'a.jpg.0123456789ab.tmp'), 50),
    ];
    const kept = [
      // Writes in flight in another process: touched a moment ago, or just under the age.
      await plant(path.join(originals, 'ab34.fedcba987654.tmp'), 400, 1),
      await plant(path.join(renditions, 'cdkey2.png.fedcba987654.tmp'), 400, STALE_TEMP_MS / 1000 - 60),
      // Not temp names: the real files next to them.
      await plant(path.join(originals, 'ab12'), 1000),
      await plant(path.join(config.dataDir, 'secrets.json'), 20),
      await plant(path.join(imported, 'photo.jpg'), 10),
      // The inbox itself is the user's: their `.tmp` is a copy in progress, however old.
      await plant(path.join(config.inboxDir!, 'upload.tmp'), 10),
      await plant(path.join(config.inboxDir!, 'b.jpg.0123456789ab.tmp'), 10),
    ];

    const report = await sweepLeftovers(config);
    expect(report).toMatchObject({ files: 5, bytes: 1372 });
    expect(Object.fromEntries(Object.entries(report.places).map(([k, v]) => [k, [v.files, v.bytes]]))).toEqual({
      originals: [1, 1000],
      renditions: [1, 300],
      secrets: [1, 20],
      readiness: [1, 2],
      imported: [1, 50],
    });
    for (const f of stale) expect(await exists(f), f).toBe(false);
    for (const f of kept) expect(await exists(f), f).toBe(true);
    // Nothing left to do the second time; missing folders (no inbox, S3 originals) are not an error.
    expect(await sweepLeftovers(config)).toEqual({ files: 0, bytes: 0, places: {} });
    expect(await sweepLeftovers(loadConfig({ DATA_DIR: path.join(dir, 'none'), CACHE_DIR: path.join(dir, 'none2'), INBOX_DIR: 'off' }))).toMatchObject({
      files: 0,
    });
  });
});

/** `imgpath serve` as a child, its JSON log lines collected. */
function serve(env: Record<string, string>, cwd: string) {
  const child: ChildProcess = spawnCli(['serve'], { PORT: '0', HOST: '127.0.0.1', IMPORT_SAMPLES: 'false', LOG_LEVEL: 'debug', ...env }, cwd);
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => {
    buffer += d;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const raw = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (raw.startsWith('{')) lines.push(JSON.parse(raw) as Record<string, unknown>);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const waitFor = async (match: (l: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 600; i++) {
      const seen = lines.find(match);
      if (seen) return seen;
      if (child.exitCode !== null || child.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`expected log line never came; stderr: ${stderr}`);
  };
  return { child, lines, exited, waitFor };
}

describe('a server killed with SIGKILL mid-write', () => {
  it('leaves a torn temp original; the next start sweeps it once stale, keeps a fresh one, and `cache prune` reports the rest', async () => {
    const t = await testApp();
    const { dataDir, cacheDir } = t.deps.config;
    const adminKey = t.adminKey;
    await t.deps.cache.close();
    t.deps.db.$client.close();
    cleanups.push(() => fs.rm(t.dir, { recursive: true, force: true }));
    const inbox = path.join(t.dir, 'inbox');
    const env = { DATA_DIR: dataDir, CACHE_DIR: cacheDir, INBOX_DIR: inbox };
    const originals = path.join(dataDir, 'originals');

    const first = serve(env, t.dir);
    const url = String((await first.waitFor((l) => l.msg === 'imgpath listening')).url).replace('localhost', '127.0.0.1');
    // Large, distinct, barely compressible uploads: each write of the original takes a while.
    const noise = () =>
      sharp({ create: { width: 2400, height: 2400, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 80 } } })
        .jpeg({ quality: 100 })
        .toBuffer();
    const bodies = await Promise.all([noise(), noise(), noise(), noise()]);
    let uploading = true;
    const uploads = (async () => {
      for (let i = 0; uploading; i++) {
        await fetch(`${url}/images`, {
          method: 'POST',
          headers: { 'X-API-Key': adminKey, 'Content-Type': 'image/jpeg' },
          body: bodies[i % bodies.length],
        }).catch(() => undefined);
      }
    })();
    // Freeze the server again and again until it is caught with an original half-written, then kill it there.
    let caught: string[] = [];
    const deadline = Date.now() + 60_000;
    while (caught.length === 0 && Date.now() < deadline) {
      first.child.kill('SIGSTOP');
      caught = await temps(originals);
      if (caught.length === 0) {
        first.child.kill('SIGCONT');
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    first.child.kill('SIGKILL');
    uploading = false;
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await uploads;
    expect(caught.length).toBeGreaterThan(0);
    expect(await temps(originals)).toEqual(caught);

    // Time passes (aged by hand); meanwhile another process sharing the folders starts writing.
    const crashBytes = (await Promise.all(caught.map((f) => fs.stat(f)))).reduce((n, s) => n + s.size, 0);
    for (const f of caught) await fs.utimes(f, OLD, OLD);
    const staleRendition = await plant(path.join(cacheDir, 'renditions', 'ab', 'abkey.webp.0123456789ab.tmp'), 100);
    const fresh = await plant(path.join(originals, 'ff', 'ff00.fedcba987654.tmp'), 10, 1);

    const second = serve(env, t.dir);
    const swept = await second.waitFor((l) => l.msg === `removed ${caught.length + 1} stale temp file(s) left by an interrupted write`);
    expect(swept).toMatchObject({ files: caught.length + 1, bytes: crashBytes + 100, level: 30 });
    expect(swept.places).toMatchObject({ originals: { files: caught.length, bytes: crashBytes }, renditions: { files: 1, bytes: 100 } });
    expect(await temps(originals)).toEqual([fresh]);
    expect(await exists(staleRendition)).toBe(false);
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });

    // `imgpath cache prune` sweeps and reports the same way, sparing the write in flight.
    await plant(path.join(originals, 'ab', 'ab99.0123456789ab.tmp'), 1000);
    await plant(path.join(inbox, '.imported', 'x.jpg.0123456789ab.tmp'), 24);
    const json = await runCli(['cache', 'prune', '--json'], { ...env, LOG_LEVEL: 'silent' }, t.dir);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      tempFiles: 2,
      tempBytes: 1024,
      tempPlaces: { originals: { files: 1, bytes: 1000 }, imported: { files: 1, bytes: 24 } },
    });
    expect(await temps(originals)).toEqual([fresh]);
    await plant(path.join(originals, 'ab', 'ab98.0123456789ab.tmp'), 2048);
    const text = await runCli(['cache', 'prune'], { ...env, LOG_LEVEL: 'silent' }, t.dir);
    expect(text.stdout).toContain('removed 1 stale temp file(s), 0.0 MB, left by interrupted writes (originals 1)');
    expect(await exists(fresh)).toBe(true);
  }, 120_000);
});
