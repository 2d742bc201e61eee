import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.js';
import { firstStart } from './bootstrap.js';
import type { Config } from './config.js';
import { createDeps, type Deps } from './deps.js';

export interface RunningServer {
  deps: Deps;
  server: ServerType;
  url: string;
  close(): Promise<void>;
}

/** Process-facing part: build deps, bind the port, run first-start, stop cleanly. */
export async function startServer(config: Config, overrides: Partial<Deps> = {}): Promise<RunningServer> {
  const deps = await createDeps(config, overrides);
  const app = createApp(deps);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = `http://${host}:${port}`;
  const first = await firstStart(deps, config.PUBLIC_URL ?? url);
  if (first.imported.length) deps.log.info({ images: first.imported }, `imported ${first.imported.length} sample images`);
  if (first.adminKey) {
    // Printed once, on stdout, never logged through pino (logs are shipped elsewhere).
    process.stdout.write(`\n  Admin API key (shown once, store it now): ${first.adminKey}\n\n`);
  }
  for (const u of first.exampleUrls) deps.log.info(`example: ${u}`);
  deps.log.info({ url }, 'imgpath listening');

  const close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await deps.cache.close();
    deps.db.$client.close();
  };
  return { deps, server, url, close };
}
