import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';

const root = path.resolve(import.meta.dirname, '..', '..');
let dir: string;
const env = () => ({ ...process.env, DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'silent', SCRYPT_COST: '14' });
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [path.join(root, 'bin/imgpath.js'), ...args], { env: env(), cwd: root, input, encoding: 'utf8', timeout: 60_000 });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-users-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function login(username: string, password: string) {
  const config = loadConfig({
    DATA_DIR: path.join(dir, 'data'),
    CACHE_DIR: path.join(dir, 'cache'),
    LOG_LEVEL: 'silent',
    IMPORT_SAMPLES: 'false',
    INBOX_DIR: 'off',
    SCRYPT_COST: '14',
  });
  const deps: Deps = await createDeps(config);
  try {
    const app = createApp(deps);
    const res = await app.request('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return { status: res.status, body: (await res.json()) as { user?: { role: string } } };
  } finally {
    await deps.cache.close();
    deps.db.$client.close();
  }
}

describe('imgpath users create', () => {
  it('--admin makes an admin who can log in as one; without it, a plain user', async () => {
    const r = cli(['users', 'create', '--admin', '--username', 'Chief', '--json'], 'chief passphrase 1\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: 'chief', role: 'admin' });
    const ok = await login('chief', 'chief passphrase 1');
    expect(ok.status).toBe(200);
    expect(ok.body.user?.role).toBe('admin');

    const plain = cli(['users', 'create', '--username', 'pleb', '--password', 'plain passphrase 2']);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^user pleb \(id \d+\) ready/);
    expect((await login('pleb', 'plain passphrase 2')).body.user?.role).toBe('user');
  });
});

describe('imgpath users create-admin', () => {
  it('takes the password from stdin (no prompt) and makes an admin who can log in', async () => {
    const r = cli(['users', 'create-admin', '--username', 'Boss', '--json'], 'stdin passphrase 123\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: 'boss', role: 'admin' });
    const ok = await login('boss', 'stdin passphrase 123');
    expect(ok.status).toBe(200);
    expect(ok.body.user?.role).toBe('admin');
  });

  it('takes --password too; refuses an existing name unless --force, which promotes and resets', async () => {
    expect(cli(['users', 'create-admin', '--username', 'ops', '--password', 'flag passphrase 1']).status).toBe(0);
    const dup = cli(['users', 'create-admin', '--username', 'ops', '--password', 'other passphrase 2']);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toMatch(/taken.*--force/);
    expect(cli(['users', 'create-admin', '--username', 'ops', '--password', 'other passphrase 2', '--force']).status).toBe(0);
    expect((await login('ops', 'flag passphrase 1')).status).toBe(401);
    expect((await login('ops', 'other passphrase 2')).status).toBe(200);
  });

  it('rejects a bad username or a short password with a message, and lists users', () => {
    expect(cli(['users', 'create-admin', '--username', 'x', '--password', 'long enough 123']).stderr).toMatch(/Invalid username/);
    expect(cli(['users', 'create-admin', '--username', 'shorty', '--password', 'short']).stderr).toMatch(/Password must be/);
    const list = cli(['users', 'list', '--json']);
    expect(
      JSON.parse(list.stdout)
        .map((u: { username: string }) => u.username)
        .sort(),
    ).toEqual(['boss', 'chief', 'ops', 'pleb']);
    expect(list.stdout).not.toContain('scrypt');
  });
});
