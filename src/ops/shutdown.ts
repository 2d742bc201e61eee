import { spawn } from 'node:child_process';
import type { Server, ServerResponse } from 'node:http';
import { flushLogger, type Logger } from '../log.js';

export interface RequestTracker {
  /** Requests being answered right now. */
  readonly inFlight: number;
  /**
   * Stop accepting connections, let in-flight requests finish, then resolve. After `timeoutMs`
   * the remaining connections are cut (`forced: true`). Calling it again returns the same drain.
   */
  drain(timeoutMs: number): Promise<{ forced: boolean }>;
}

/** Must be attached right after the server starts, so every request is seen. */
export function trackRequests(server: Server): RequestTracker {
  const open = new Set<ServerResponse>();
  let draining = false;
  let drained: Promise<{ forced: boolean }> | undefined;

  // One listener function for every response (no closure or `once` wrapper per request: this runs on every hit).
  function closed(this: ServerResponse) {
    open.delete(this);
    // The socket just went idle: close it now instead of after the keep-alive timeout.
    if (draining) setImmediate(() => server.closeIdleConnections());
  }
  server.on('request', (_req, res: ServerResponse) => {
    open.add(res);
    // A request that arrives on a kept-alive socket while draining is answered, then the socket closes.
    if (draining) res.shouldKeepAlive = false;
    res.on('close', closed);
  });

  return {
    get inFlight() {
      return open.size;
    },
    drain(timeoutMs) {
      drained ??= new Promise((resolve) => {
        draining = true;
        let forced = false;
        for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
        const deadline = setTimeout(() => {
          forced = open.size > 0;
          server.closeAllConnections();
        }, timeoutMs);
        server.close(() => {
          clearTimeout(deadline);
          resolve({ forced });
        });
        server.closeIdleConnections();
      });
      return drained;
    },
  };
}

export interface SignalOptions {
  log: Logger;
  /** SHUTDOWN_TIMEOUT_MS: how long in-flight requests get. */
  timeoutMs: number;
  exit?: (code: number) => void;
  /** Kill the process from outside if even exiting hangs (default on; off for in-process tests). */
  watchdog?: boolean;
}

/**
 * process.exit waits for libuv's worker threads, so one stuck in a system call (a read of a FIFO,
 * a hung network disk) holds the exit forever — and the timer above with it, since it runs on the
 * thread that is stuck in exit. A small process outside sends SIGKILL after `ms` if we are still
 * its parent; it leaves by itself as soon as we are gone, so it never kills a reused pid.
 */
function startWatchdog(ms: number) {
  const script = `const [pid, ms] = process.argv.slice(1).map(Number);
const end = Date.now() + ms;
const tick = setInterval(() => {
  if (process.ppid !== pid) process.exit(0);
  if (Date.now() >= end) { clearInterval(tick); process.kill(pid, 'SIGKILL'); }
}, 100);`;
  spawn(process.execPath, ['-e', script, String(process.pid), String(ms)], { stdio: 'ignore', detached: true }).unref();
}

/**
 * SIGTERM/SIGINT: stop cleanly (exit 0), or exit 1 when stopping fails. A second signal, or
 * a close step hanging past the deadline, exits at once: an operator pressing Ctrl-C twice
 * means it, and an orchestrator would SIGKILL anyway.
 */
export function exitOnSignals(stop: () => Promise<void>, opts: SignalOptions) {
  const { log, timeoutMs } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      exit(1);
      return;
    }
    stopping = true;
    log.info({ signal, timeoutMs }, 'shutting down: finishing in-flight requests');
    // The drain is bounded by timeoutMs; this also bounds the steps after it (cache flush, DB close).
    setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown did not finish in time; exiting');
      exit(1);
    }, timeoutMs + 5_000).unref();
    if (opts.watchdog !== false) startWatchdog(timeoutMs + 6_000);
    stop().then(
      async () => {
        log.info('stopped');
        await flushLogger(log);
        exit(0);
      },
      async (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        await flushLogger(log);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
