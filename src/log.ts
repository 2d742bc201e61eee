import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Paths whose values never reach a log line: keys, tokens, passwords, signatures. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'password',
  'key',
  'token',
  '*.password',
  '*.key',
  '*.token',
  '*.secret',
];

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({ level: config.LOG_LEVEL, redact: { paths: REDACT, censor: '[redacted]' } });
}
