import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';

/** `imgpath keys rotate --grace`: the CLI writes the grace, a server on the same database honours it. */

const root = path.resolve(import.meta.dirname, '..', '..');
let dir: string;
const vars = () => ({ DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'silent', IMPORT_SAMPLES: 'false', INBOX_DIR: 'off' });
const cli = (args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/imgpath.js'), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars() },
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-keys-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

/** Status of GET /auth/me for each secret, on a server over the CLI's database, with the clock at `now`. */
async function statuses(now: number, ...secrets: string[]) {
  const deps = await createDeps(loadConfig(vars()), { clock: () => now });
  try {
    const app = createApp(deps);
    return await Promise.all(secrets.map(async (key) => (await app.request('/auth/me', { headers: { 'X-API-Key': key } })).status));
  } finally {
    await deps.cache.close();
    deps.db.$client.close();
  }
}

describe('imgpath keys rotate', () => {
  it('--grace 1h keeps the old secret working for exactly one hour; no --grace ends it at once', async () => {
    const deps = await createDeps(loadConfig(vars()));
    const k = await deps.keys.create({ scopes: ['deliver'] });
    await deps.cache.close();
    deps.db.$client.close();

    const before = Math.floor(Date.now() / 1000);
    const graced = cli(['keys', 'rotate', k.id, '--grace', '1h', '--json']);
    expect(graced.status, graced.stderr).toBe(0);
    const r = JSON.parse(graced.stdout) as { key: string; previousValidUntil: number };
    // Bounds, not a measured duration: the deadline is the rotation's clock plus 3600.
    expect(r.previousValidUntil).toBeGreaterThanOrEqual(before + 3600);
    expect(r.previousValidUntil).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(await statuses(r.previousValidUntil - 1, k.key, r.key)).toEqual([200, 200]);
    expect(await statuses(r.previousValidUntil, k.key, r.key)).toEqual([401, 200]);

    const plain = cli(['keys', 'rotate', k.id, '--json']);
    expect(plain.status, plain.stderr).toBe(0);
    const r2 = JSON.parse(plain.stdout) as { key: string; previousValidUntil: number | null };
    expect(r2.previousValidUntil).toBeNull();
    expect(await statuses(Math.floor(Date.now() / 1000), r.key, r2.key)).toEqual([401, 200]);
  });

  it('refuses a grace beyond the maximum (unreadable ones: parseDuration in credential-lifetime.test.ts)', () => {
    const r = cli(['keys', 'rotate', 'key_whatever', '--grace', '30d']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--grace expects a duration');
  });
});

describe('imgpath keys create --secret-file', () => {
  it('keeps the key a Flask deployment already has in its pages: /random-image/{key} answers with it', async () => {
    const secret = 'a3f1'.repeat(16); // 64 hex characters, like `openssl rand -hex 32`
    const file = path.join(dir, 'key.txt');
    await fs.writeFile(file, `${secret}\n`);
    const made = cli(['keys', 'create', '--scopes', 'deliver', '--name', 'flask', '--secret-file', file, '--json']);
    expect(made.status, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).key).toBe(secret);
    expect(await statuses(Math.floor(Date.now() / 1000), secret)).toEqual([200]);
    // The same key twice, and files that do not hold one key, are refused with exit 1 and a reason.
    const again = cli(['keys', 'create', '--secret-file', file]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('already exists');
    for (const bad of ['short', 'two words here and more', '']) {
      await fs.writeFile(file, bad);
      const res = cli(['keys', 'create', '--secret-file', file]);
      expect(res.status, bad).not.toBe(0);
      expect(res.stderr).toContain('--secret-file');
    }
  });
});
