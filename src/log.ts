import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';
import { batchedLines } from './log-batch.js';
import { rotatingFile } from './log-file.js';

export type { Logger };

/**
 * Paths whose values never reach a log line: keys, tokens, passwords, secrets. Request URLs
 * are cleaned separately (`redactUrl`) because a secret there is inside a string, not a field.
 */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'password',
  'key',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.key',
  '*.token',
  '*.secret',
  '*.authorization',
  '*["x-api-key"]',
  '*.ADMIN_API_KEY',
  '*.SIGNING_KEYS',
  '*.JWT_SECRET',
  '*.S3_SECRET_ACCESS_KEY',
  '*.DATABASE_URL',
];

/** Query parameters that carry credentials (`?key=` for plain `<img src>` use, `?token=` policy JWTs). */
const SECRET_PARAMS = /^(key|token|api_?key|access_?token|password|passwd|secret|jwt|auth)$/i;

/** Routes whose next path segment is a credential (the Flask API's `/random-image/{apiKey}`, `/update-images/…`, `/update-key/…`). */
const SECRET_SEGMENT = /^(\/(?:random-image|update-images|update-key)\/)[^/?]+/;

/**
 * A delivery URL's signature (`/img/s--{kid}.{mac}--/…`): the MAC is a bearer credential for that
 * URL, so only the kid (which key signed, useful while rotating) is logged.
 */
const SIGNATURE_SEGMENT = /^(\/img\/s--)([^/?]*)--(?=\/|\?|$)/;

/** The URL as it may be logged: credential parameters keep their name, lose their value; a signature keeps its kid. */
export function redactUrl(pathAndQuery: string): string {
  pathAndQuery = pathAndQuery.replace(SECRET_SEGMENT, '$1[redacted]').replace(SIGNATURE_SEGMENT, redactSignature);
  const q = pathAndQuery.indexOf('?');
  if (q < 0) return pathAndQuery;
  const query = pathAndQuery
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeSafe(eq < 0 ? pair : pair.slice(0, eq));
      return SECRET_PARAMS.test(name) ? `${pair.slice(0, eq < 0 ? pair.length : eq)}=[redacted]` : pair;
    })
    .join('&');
  return `${pathAndQuery.slice(0, q)}?${query}`;
}

function redactSignature(_match: string, prefix: string, signature: string): string {
  const dot = signature.indexOf('.');
  return `${prefix}${dot < 0 ? '' : `${signature.slice(0, dot)}.`}[redacted]--`;
}

function decodeSafe(s: string) {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Lines to stdout are handed to the writer in batches (src/log-batch.ts), none later than this. */
const STDOUT_BATCH_DELAY_MS = 100;

export type LogConfig = Pick<Config, 'LOG_LEVEL'> & Partial<Pick<Config, 'LOG_FILE' | 'LOG_FILE_MAX_MB' | 'LOG_FILE_COUNT'>>;

/**
 * JSON lines on stdout (what log shippers read); human-readable when stdout is a terminal;
 * plus an optional size-rotated file. `destination` replaces stdout (tests capture lines).
 */
export function createLogger(config: LogConfig, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.LOG_LEVEL,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  // Asynchronous stdout: a slow reader of the pipe (a log shipper, a paused `docker logs`) must
  // not stall the event loop. pino flushes what is buffered on process exit, and the shutdown
  // path awaits flushLogger before exiting. The terminal stays synchronous: it is for people.
  const console =
    destination ??
    (process.stdout.isTTY
      ? pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' })
      : batchedLines({ fd: 1, delayMs: STDOUT_BATCH_DELAY_MS }, (o) => pino.destination({ ...o, sync: false })));
  if (!config.LOG_FILE) return pino(options, console);
  const file = rotatingFile(config.LOG_FILE, { maxBytes: (config.LOG_FILE_MAX_MB ?? 10) * 1024 * 1024, count: config.LOG_FILE_COUNT ?? 5 });
  return pino(
    options,
    pino.multistream([
      { stream: console, level: 'trace' },
      { stream: file, level: 'trace' },
    ]),
  );
}

/** Wait (at most `maxMs`) until buffered lines are written; used right before exit. */
export function flushLogger(log: Logger, maxMs = 1_000): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, maxMs).unref();
    try {
      log.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
