import dotenv from 'dotenv';
import { ConfigError, loadConfig, type Config } from '../config.js';

/** The only place that reads the process environment (plus `.env`). */
export function configFromProcess(overrides: Record<string, string | undefined> = {}): Config {
  dotenv.config({ quiet: true });
  try {
    return loadConfig({ ...process.env, ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
