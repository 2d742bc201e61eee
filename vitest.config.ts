import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // sharp and better-sqlite3 are native: separate processes keep a crash in one file local.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for a browser or a server to get somewhere (a login is a scrypt hash, an
    // upload a decode): on a loaded 2-core CI box that is seconds, not poll's 1 s default.
    expect: { poll: { timeout: 15_000 } },
  },
});
