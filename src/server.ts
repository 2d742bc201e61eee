import { createServer, type Server } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { frontListener } from './delivery/front.js';
import { createApp } from './app.js';
import { flushUsage } from './auth/state.js';
import { configureSharp, threadpoolCheck } from './cache/runtime.js';
import { firstStart } from './bootstrap.js';
import { startInbox } from './library/inbox.js';
import { whileLeased } from './cluster/lease.js';
import { resumeTasks, stopTasks } from './library/tasks.js';
import type { Config } from './config.js';
import { createDeps, type Deps } from './deps.js';
import { sweepLeftovers } from './ops/leftovers.js';
import { STALE_TEMP_MS } from './storage/atomic.js';
import { metricsOnlyRoutes } from './ops/ops.routes.js';
import { trackRequests } from './ops/shutdown.js';

export interface RunningServer {
  deps: Deps;
  server: ServerType;
  url: string;
  close(): Promise<void>;
}

/** Process-facing part: build deps, bind the port, run first-start, stop cleanly. */
export async function startServer(config: Config, overrides: Partial<Deps> = {}): Promise<RunningServer> {
  configureSharp(config);
  const deps = await createDeps(config, overrides);
  // In the background: serving does not wait for a walk of every originals and renditions folder.
  const sweep = () =>
    sweepLeftovers(config).then(
      (r) => {
        if (r.files > 0)
          deps.log.info({ files: r.files, bytes: r.bytes, places: r.places }, `removed ${r.files} stale temp file(s) left by an interrupted write`);
        else deps.log.debug('no stale temp files');
      },
      (err: unknown) => deps.log.warn({ err }, 'could not sweep stale temp files'),
    );
  void sweep();
  // A crash followed by a quick restart (systemd, a container policy) leaves temp files that are
  // still "fresh" at start-up: sweep again once they have aged, without keeping the process alive.
  setTimeout(() => void sweep(), STALE_TEMP_MS + 5_000).unref();
  const pool = threadpoolCheck(config);
  if (pool.starved) {
    deps.log.warn(
      { uvThreadpoolSize: pool.size, renderConcurrency: config.RENDER_CONCURRENCY },
      `UV_THREADPOOL_SIZE=${pool.size} <= RENDER_CONCURRENCY: cache hits queue behind renders; start Node with UV_THREADPOOL_SIZE=${pool.recommended}`,
    );
  } else deps.log.info({ uvThreadpoolSize: pool.size, renderConcurrency: config.RENDER_CONCURRENCY }, 'libuv threadpool');
  const app = createApp(deps);
  // The tracker listens first: it must see (and, while draining, mark) a request before the hit
  // memo answers it synchronously in the listener after it.
  const server = createServer();
  const requests = trackRequests(server);
  server.on('request', frontListener(deps, app));
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  // A dedicated metrics port keeps scrapes off the public port (bind it to a private network).
  const metricsServer =
    config.METRICS_PORT > 0 && config.METRICS !== 'off'
      ? await new Promise<ServerType>((resolve) => {
          const s = serve({ fetch: metricsOnlyRoutes(deps).fetch, port: config.METRICS_PORT, hostname: config.HOST }, () => resolve(s));
        })
      : undefined;
  if (metricsServer) deps.log.info({ port: config.METRICS_PORT }, 'metrics served on their own port');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = `http://${host}:${port}`;
  const first = await firstStart(deps, config.PUBLIC_URL ?? url);
  if (first.imported.length) deps.log.info({ images: first.imported }, `imported ${first.imported.length} sample images`);
  if (first.adminKey) {
    // The key is printed once, on its own line on stdout, never through pino (logs are shipped
    // elsewhere) and never inside a URL: the examples are signed URLs, or commands that send
    // the key in a header from $IMGPATH_KEY.
    const lines = [
      'Admin API key (shown once, store it now):',
      '',
      `  ${first.adminKey}`,
      '',
      'Try (no key needed):',
      ...first.exampleUrls.map((u) => `  ${u}`),
      '',
      'With the key (read -rs IMGPATH_KEY && export IMGPATH_KEY, then paste it):',
      ...first.exampleCommands.map((cmd) => `  ${cmd}`),
    ];
    process.stdout.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
  } else {
    for (const u of first.exampleUrls) deps.log.info(`example: ${u}`);
  }
  const inbox = config.inboxDir ? await watchInbox(deps, config.inboxDir) : undefined;
  const resumed = await resumeTasks(deps);
  if (resumed) deps.log.info({ tasks: resumed }, 're-queued tasks left by the previous process');
  deps.log.info({ url }, 'imgpath listening');

  // Stop accepting, let in-flight requests (and their renders) finish within
  // SHUTDOWN_TIMEOUT_MS, then flush the cache before the DB it indexes into is closed.
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const deadline = performance.now() + config.SHUTDOWN_TIMEOUT_MS;
      const stopMetrics = metricsServer && new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      (metricsServer as Server | undefined)?.closeAllConnections();
      // A drop-folder import mid-decode gets the same deadline, alongside the drain; a file cut
      // short stays in the inbox and is imported by the next start.
      const inboxClosed = inbox ? settlesWithin(inbox.close(), config.SHUTDOWN_TIMEOUT_MS) : Promise.resolve(true);
      const { forced } = await requests.drain(config.SHUTDOWN_TIMEOUT_MS);
      if (forced) deps.log.warn({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline reached: cut the requests still running');
      if (!(await inboxClosed))
        deps.log.warn({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline reached: drop-folder import left for the next start');
      await stopMetrics;
      // A task can be mid-render for up to RENDER_TIMEOUT_MS: give it only what is left of the
      // deadline. One cut here keeps its `running` row, which the next start re-queues.
      if (!(await settlesWithin(stopTasks(deps), deadline - performance.now()))) {
        deps.log.warn({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline reached: background tasks left for the next start');
      }
      // Purges of changes just made: unsent, the CDN would keep a deleted image for its max-age (a year).
      if (deps.cdn && !(await settlesWithin(deps.cdn.idle(), deadline - performance.now()))) {
        deps.log.warn({ queued: deps.cdn.stats().queued }, 'shutdown deadline reached: CDN purges left unsent');
      }
      await deps.cache.close();
      await flushUsage(deps); // per-key counters still batched in memory
      await deps.bus.close();
      await deps.repos.close();
    })());
  return { deps, server, url, close };
}

/** The drop folder: watched by this process alone, or on a cluster by one node at a time (a lease). */
function watchInbox(deps: Deps, dir: string) {
  const cluster = deps.repos.cluster;
  if (!cluster) return startInbox(deps, dir);
  return whileLeased({
    cluster,
    name: 'inbox',
    node: deps.config.NODE_NAME,
    leaseSeconds: deps.config.LEASE_SECONDS,
    clock: deps.clock,
    log: deps.log.child({ component: 'inbox' }),
    start: () => startInbox(deps, dir),
  });
}

/** Whether `work` settles within `ms`; when time runs out first the work goes on, unawaited. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([work.then(() => true), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
