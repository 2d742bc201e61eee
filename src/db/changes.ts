import type { Db } from './client.js';

/**
 * A mark that moves whenever the database may have changed, for the caches of the hit path
 * (image rows, preset specs, API key verdicts): reading it is one `PRAGMA data_version` instead of
 * one query per cache (issue 14).
 *
 * - Writes through this connection: every statement that is not read-only, and every `exec`,
 *   bumps a counter as it runs (the connection's `prepare` is wrapped once, at the first call).
 * - Writes by any other connection or process (the CLI): SQLite's data_version moves on their
 *   commit; one read of it serves the calls of the next millisecond.
 *
 * So a cache checked against the mark is never stale: it answers what a query would have.
 */
export type ChangeMark = () => string;

/** How long one read of data_version stands for the database's state: well under any request's own duration. */
const DATA_VERSION_REUSE_MS = 1;

const marks = new WeakMap<Db['$client'], ChangeMark>();

type Statement = ReturnType<Db['$client']['prepare']>;
const RUNNERS = ['run', 'get', 'all', 'iterate'] as const;

export function changeMark(db: Db): ChangeMark {
  const client = db.$client;
  let mark = marks.get(client);
  if (mark) return mark;
  let own = 0;
  const prepare = client.prepare.bind(client);
  const dataVersion = prepare('PRAGMA data_version').pluck();
  client.prepare = ((source: string) => {
    const stmt = prepare(source);
    if (stmt.readonly) return stmt;
    for (const name of RUNNERS) {
      const original = stmt[name] as (...args: unknown[]) => unknown;
      // Counted before and after: a cache filled during the statement (a trigger, a callback) is not trusted either.
      (stmt as unknown as Record<string, unknown>)[name] = function counted(this: Statement, ...args: unknown[]) {
        own++;
        try {
          return original.apply(this, args);
        } finally {
          own++;
        }
      };
    }
    return stmt;
  }) as typeof client.prepare;
  const exec = client.exec.bind(client);
  client.exec = ((source: string) => {
    own++;
    try {
      return exec(source);
    } finally {
      own++;
    }
  }) as typeof client.exec;
  // Another connection's commit is seen within DATA_VERSION_REUSE_MS (a query issued that much
  // earlier would have missed it too); this connection's own writes, at once.
  let version = 0;
  let readAt = -Infinity;
  mark = () => {
    const now = performance.now();
    if (now - readAt >= DATA_VERSION_REUSE_MS) {
      version = dataVersion.get() as number;
      readAt = now;
    }
    return `${own}.${version}`;
  };
  marks.set(client, mark);
  return mark;
}
