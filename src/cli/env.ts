import dotenv from 'dotenv';
import { ConfigError, loadConfig, type Config } from '../config.js';

/**
 * What libuv sized its pool from: it read the variable before this module ran, so a `.env` line
 * (loaded below) cannot change the pool and must not change what start-up reports either.
 */
const uvThreadpoolSizeAtStart = process.env.UV_THREADPOOL_SIZE;

/** The only place that reads the process environment (plus `.env`). */
export function configFromProcess(overrides: Record<string, string | undefined> = {}): Config {
  dotenv.config({ quiet: true });
  try {
    return loadConfig({ ...process.env, ...overrides, UV_THREADPOOL_SIZE: uvThreadpoolSizeAtStart });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
