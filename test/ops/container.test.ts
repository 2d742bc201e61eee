import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema, loadConfig } from '../../src/config.js';
import { listen, testApp, type TestApp } from '../helpers/app.js';
import { ROOT } from './cli.js';

/**
 * There is no Docker engine where the tests run: these check what can be checked without one.
 * The commands the image runs (CMD, HEALTHCHECK) are run here against a real server; the build
 * context is checked against .dockerignore. docs/operations.md lists what stays unverified.
 */

const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const compose = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');

function run(argv: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    execFile(argv[0] === 'node' ? process.execPath : argv[0], argv.slice(1), { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err) =>
      resolve(err ? Number((err as { code?: number }).code ?? 1) : 0),
    );
  });
}

/** The JSON-array command after `HEALTHCHECK … CMD` (line continuations joined). */
function dockerHealthcheck(): string[] {
  const joined = dockerfile.replace(/\\\n/g, ' ');
  const m = /^HEALTHCHECK .*?CMD (\[.*\])\s*$/m.exec(joined);
  if (!m) throw new Error('no HEALTHCHECK CMD [...] in Dockerfile');
  return JSON.parse(m[1]) as string[];
}

/** The `test:` array of the compose healthcheck (a one-line flow sequence, which is valid JSON here). */
function composeHealthcheck(): string[] {
  const m = /^\s+test: (\[.*\])\s*$/m.exec(compose);
  if (!m) throw new Error('no healthcheck test in docker-compose.yml');
  const argv = JSON.parse(m[1]) as string[];
  expect(argv[0]).toBe('CMD');
  return argv.slice(1);
}

describe('container commands work outside a container', () => {
  let t: TestApp;
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    t = await testApp();
    server = await listen(t.app.fetch);
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });
  const port = () => new URL(server.url).port;

  test('the Dockerfile HEALTHCHECK exits 0 against a live server and 1 when nothing answers', async () => {
    const argv = dockerHealthcheck();
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    expect(await run(argv, { PORT: port() })).toBe(0);
    expect(await run(argv, { PORT: '1' })).toBe(1);
  });

  test('the compose healthcheck (readiness) exits 0 against a live server and 1 when it is not ready', async () => {
    const argv = composeHealthcheck();
    expect(await run(argv, { PORT: port() })).toBe(0);
    const cacheDir = t.deps.config.cacheDir;
    fs.renameSync(cacheDir, `${cacheDir}.parked`);
    fs.writeFileSync(cacheDir, 'not a directory');
    try {
      expect(await run(argv, { PORT: port() })).toBe(1);
    } finally {
      fs.rmSync(cacheDir);
      fs.renameSync(`${cacheDir}.parked`, cacheDir);
    }
  });

  test('CMD starts the CLI entry that the shutdown tests run', () => {
    const cmd = /^CMD (\[.*\])\s*$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd!)).toEqual(['node', 'bin/imgpath.js', 'serve']);
    expect(fs.existsSync(path.join(ROOT, 'bin/imgpath.js'))).toBe(true);
  });
});

describe('build context', () => {
  const ignored = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));

  test('every COPY source from the context exists and is not excluded by .dockerignore', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'samples']));
    for (const s of sources) {
      expect(fs.existsSync(path.join(ROOT, s)), `${s} exists`).toBe(true);
      expect(ignored, `${s} is not in .dockerignore`).not.toContain(s);
    }
    // Local state and secrets never enter the image.
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'data', 'cache', '.env', '.git']));
  });

  test('runs as a non-root user with volumes for data and cache', () => {
    expect(dockerfile).toMatch(/^FROM node:22-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^VOLUME \["\/app\/data", "\/app\/cache"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
    expect(compose).toMatch(/imgpath-data:\/app\/data/);
    expect(compose).toMatch(/imgpath-cache:\/app\/cache/);
  });
});

describe('.env.example', () => {
  const text = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');

  test('mentions every configuration variable', () => {
    const missing = Object.keys(configSchema.shape).filter((k) => !new RegExp(`^# ${k}=`, 'm').test(text));
    expect(missing).toEqual([]);
  });

  test('is a valid configuration once every line is uncommented', () => {
    const uncommented = text.replace(/^# ([A-Z0-9_]+=)/gm, '$1');
    const env = dotenv.parse(uncommented);
    expect(() => loadConfig(env)).not.toThrow();
  });
});
