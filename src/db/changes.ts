import type Database from 'better-sqlite3';

/**
 * A mark that moves whenever the database may have changed, for the caches of the hit path
 * (image rows, preset specs, API key verdicts): reading it is one `PRAGMA data_version` instead of
 * one query per cache (issue 14).
 *
 * - Writes through this connection: every statement that is not read-only, and every `exec`,
 *   bumps a counter as it runs (the connection's `prepare` is wrapped once, when `openDb` opens it,
 *   before any statement is prepared: a statement prepared earlier would write unseen).
 * - Writes by any other connection or process (the CLI): SQLite's data_version moves on their
 *   commit; one read of it serves the calls of the next millisecond.
 *
 * So a cache checked against the mark is never stale: it answers what a query would have.
 */
export type ChangeMark = () => string;

/** How long one read of data_version stands for the database's state: well under any request's own duration. */
const DATA_VERSION_REUSE_MS = 1;

type Statement = ReturnType<Database.Database['prepare']>;
const RUNNERS = ['run', 'get', 'all', 'iterate'] as const;

/** Wraps one connection (once: `openDb` calls it, and the mark lives on the handle it returns as `db.changes`). */
export function trackChanges(client: Database.Database): ChangeMark {
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
  // The mark as last built: every hit compares it, and it changes far more rarely than it is read.
  let mark = '0.0';
  let markOwn = 0;
  let markVersion = 0;
  return () => {
    const now = performance.now();
    if (now - readAt >= DATA_VERSION_REUSE_MS) {
      version = dataVersion.get() as number;
      readAt = now;
    }
    if (own !== markOwn || version !== markVersion) {
      markOwn = own;
      markVersion = version;
      mark = `${own}.${version}`;
    }
    return mark;
  };
}

/** The mark of this connection (the hit-path caches take it from `deps.repos.changes` or here). */
export function changeMark(db: { changes: ChangeMark }): ChangeMark {
  return db.changes;
}
