import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../../src/config.js';
import { ROOT, runCli } from './cli.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-cli-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const base = () => ({ DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), IMPORT_SAMPLES: 'false', INBOX_DIR: 'off', LOG_LEVEL: 'silent' });

describe('a bad configuration stops the start', () => {
  test.each([
    [{ PORT: 'abc' }, 'PORT', /number/i],
    [{ METRICS: 'sometimes' }, 'METRICS', /public.*admin.*off/],
    [{ SHUTDOWN_TIMEOUT_MS: '-5' }, 'SHUTDOWN_TIMEOUT_MS', />=\s*0|too small/i],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /info/],
  ])('%o → exit 2 naming the variable and what is allowed', async (bad, name, allowed) => {
    const r = await runCli(['serve'], { ...base(), ...bad }, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(name);
    expect(r.stderr).toMatch(allowed);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  test('values from .env are read and validated the same way', async () => {
    const envDir = await fs.mkdtemp(path.join(dir, 'dotenv-'));
    await fs.writeFile(path.join(envDir, '.env'), 'MAX_OUTPUT_DIM=99999999\n');
    const r = await runCli(['config'], base(), envDir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MAX_OUTPUT_DIM');
  });
});

describe('imgpath config', () => {
  test('prints the effective config with every secret masked', async () => {
    const secrets = {
      ADMIN_API_KEY: 'admin-key-value-0123456789',
      SIGNING_KEYS: 'k1:signing-secret-0123456789,k0:older-secret-0123456789',
      JWT_SECRET: 'jwt-secret-value-0123456789-0123456789',
      S3_ACCESS_KEY_ID: 'AKIAEXAMPLEKEYID',
      S3_SECRET_ACCESS_KEY: 's3-secret-value-0123456789',
    };
    const r = await runCli(['config'], { ...base(), ...secrets, PORT: '8080' }, dir);
    expect(r.code).toBe(0);
    for (const value of Object.values(secrets)) expect(r.stdout).not.toContain(value);
    expect(r.stdout).not.toContain('signing-secret');
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const name of Object.keys(secrets)) expect(printed[name]).toBe('***');
    expect(printed.PORT).toBe(8080);
    expect(printed.METRICS).toBe('admin');
  });
});

describe('docs/config.md', () => {
  const doc = () => fs.readFile(path.join(ROOT, 'docs', 'config.md'), 'utf8');
  const rows = (text: string) => new Map([...text.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*([^|]*)\|/gm)].map((m) => [m[1], m[2].trim()]));

  test('documents every variable of the config schema, and only those', async () => {
    const documented = rows(await doc());
    const keys = Object.keys(configSchema.shape);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
    expect([...documented.keys()].filter((k) => !keys.includes(k))).toEqual([]);
  });

  test('states the same defaults as the schema', async () => {
    const documented = rows(await doc());
    const defaults = configSchema.parse({}) as Record<string, unknown>;
    for (const [name, cell] of documented) {
      const literal = /^`([^`]*)`$/.exec(cell)?.[1];
      // Prose ("unset", "CPU cores × 16") and derived defaults (`$DATA_DIR/inbox`) are not schema literals.
      if (literal === undefined || defaults[name] === undefined) continue;
      expect({ name, default: literal }).toEqual({ name, default: String(defaults[name]) });
    }
  });
});
