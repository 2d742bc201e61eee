/**
 * The real server in its own process (so the load generator never shares its event loop):
 * `startServer` with the environment the bench passes, then answers stats requests over IPC, and
 * records a CPU profile between `profile-start` and `profile-stop` (the load only, not start-up).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { configFromProcess } from '../src/cli/env.js';
import { ingest } from '../src/library/ingest.js';
import { startServer } from '../src/server.js';

const running = await startServer(configFromProcess());
// The large originals of the miss scenarios (bench/miss.ts largeOriginals), made by the bench, stored like uploads.
const large = (process.env.BENCH_LARGE_ORIGINAL ?? '').split(path.delimiter).filter(Boolean);
for (const file of large) await ingest(running.deps, await fs.readFile(file), { filename: path.basename(file), visibility: 'public' });
// Through the repositories: with DATABASE_URL the library is not in this node's SQLite file.
const { rows: list } = await running.deps.repos.images.page({ offset: 0, limit: 10_000 });
process.send!({
  type: 'ready',
  url: running.url,
  images: list.map((i) => ({
    id: i.id,
    filename: i.filename,
    width: i.width,
    height: i.height,
    bytes: i.bytes,
    file: large.find((f) => i.filename === path.basename(f)),
  })),
});

let profiler: Session | undefined;

process.on('message', async (msg: { type: string; file?: string }) => {
  if (msg.type === 'stats') {
    process.send!({
      type: 'stats',
      stats: running.deps.cache.stats(),
      memo: running.deps.hits.stats(),
      originals: running.deps.originals.stats(),
      memoryBudgetMb: running.deps.config.MEMORY_CACHE_MB,
      maxRssKb: process.resourceUsage().maxRSS,
    });
  } else if (msg.type === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    process.send!({ type: 'profiling' });
  } else if (msg.type === 'profile-stop') {
    const { profile } = await profiler!.post('Profiler.stop');
    profiler!.disconnect();
    profiler = undefined;
    await fs.writeFile(msg.file!, JSON.stringify(profile));
    process.send!({ type: 'profiled' });
  } else if (msg.type === 'close') {
    await running.close();
    process.send!({ type: 'closed' }, () => process.exit(0));
  }
});

// The bench died or was interrupted: never outlive it.
process.on('disconnect', () => process.exit(0));
