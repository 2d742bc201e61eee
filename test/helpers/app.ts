import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../../src/app.js';
import { SAMPLES_DIR } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { ingest, type IngestOptions } from '../../src/library/ingest.js';
import { LocalStore } from '../../src/storage/local.js';
import type { BlobStore } from '../../src/storage/store.js';

export const SAMPLES = SAMPLES_DIR;
const sampleCache = new Map<string, Buffer>();

/** Bytes of a bundled sample photo (sunset-12mp.jpg, friends-portrait.jpg, dune-2mp.jpg, dragonfly-alpha.png). */
export function sample(name: string): Buffer {
  let b = sampleCache.get(name);
  if (!b) sampleCache.set(name, (b = fs.readFileSync(path.join(SAMPLES, name))));
  return b;
}

export interface TestApp {
  dir: string;
  deps: Deps;
  app: ReturnType<typeof createApp>;
  /** A live admin API key (system key, scopes admin+upload+deliver). */
  adminKey: string;
  seed(name: string, opts?: IngestOptions): Promise<string>;
  request(pathOrUrl: string, init?: RequestInit): Promise<Response>;
  cleanup(): Promise<void>;
}

/**
 * A real app on a real SQLite file and real directories under a fresh temp dir.
 * `env` overrides configuration exactly as environment variables would.
 */
/**
 * The real local store as renders see a remote one (S3): no `localFile`, so every decode of an
 * original reads its bytes through `get` (and the originals cache keeps them).
 */
export function remoteView(store: BlobStore): BlobStore {
  return {
    kind: `${store.kind} (remote view)`,
    get: (key) => store.get(key),
    put: (key, data) => store.put(key, data),
    delete: (key) => store.delete(key),
    has: (key) => store.has(key),
    check: () => store.check(),
  };
}

/** `remoteOriginals`: originals in DATA_DIR as usual, read as from a remote store (`remoteView`). */
export async function testApp(env: Record<string, string> = {}, opts: { deps?: Partial<Deps>; remoteOriginals?: true } = {}): Promise<TestApp> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'imgpath-test-'));
  const config = loadConfig({
    DATA_DIR: path.join(dir, 'data'),
    CACHE_DIR: path.join(dir, 'cache'),
    LOG_LEVEL: 'silent',
    IMPORT_SAMPLES: 'false',
    INBOX_DIR: 'off',
    NODE_ENV: 'test',
    // Tests register and log in dozens of users in a second; the per-minute hashing budget has its own test.
    PASSWORD_HASHES_PER_MIN: '0',
    ...env,
  });
  const store = opts.remoteOriginals ? remoteView(new LocalStore(config.dataDir)) : undefined;
  const deps = await createDeps(config, { ...opts.deps, ...(store && { store }) });
  const app = createApp(deps);
  const adminKey = (await deps.keys.create({ scopes: ['admin', 'upload', 'deliver'], name: 'test admin' })).key;
  return {
    dir,
    deps,
    app,
    adminKey,
    async seed(name, o = {}) {
      const { image } = await ingest(deps, sample(name), { filename: name, ...o });
      return image.id;
    },
    request: (p, init) => Promise.resolve(app.request(p, init)),
    async cleanup() {
      await deps.cache.close();
      deps.db.$client.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Serve an app on 127.0.0.1 with a random port (for the few tests that go over a real socket). */
export async function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ url: string; server: ServerType; close(): Promise<void> }> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((r) => server.close(() => r())) };
}
