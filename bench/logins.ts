/**
 * `npx tsx bench/logins.ts`: what one login costs the server (time, memory) with the configured
 * password hashing, what ten concurrent failed logins from one address do to it, and render
 * latency during a flood of failed logins. Real server process on 127.0.0.1, temp directories.
 * Extra environment (e.g. SCRYPT_COST) is passed to the server. Reports only.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forkTs, nextMessage, RssSampler } from './children.js';
import { formatFlood, loginCost, loginFlood, type Target } from './login-flood.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-logins-'));
const adminKey = `bench-admin-${'x'.repeat(16)}`;
const child = forkTs('server-child.ts', {
  ...process.env,
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: path.join(tmp, 'data'),
  CACHE_DIR: path.join(tmp, 'cache'),
  ADMIN_API_KEY: adminKey,
  ALLOW_UNSIGNED_TRANSFORMS: 'true',
  IMPORT_SAMPLES: 'true',
  INBOX_DIR: 'off',
  LOG_LEVEL: 'error',
  NODE_ENV: 'production',
  RATE_LIMIT_MISS_PER_MIN: '0',
  RATE_LIMIT_API_PER_MIN: '0',
  TRUST_PROXY: 'true',
});
try {
  const ready = await nextMessage<{ url: string; images: Array<{ id: string; filename: string | null }> }>(child, 'ready', 120_000);
  const t: Target = { url: ready.url, pid: child.pid!, adminKey, imageId: ready.images.find((i) => i.filename === 'dune-2mp.jpg')!.id };
  process.stdout.write(
    `imgpath logins  ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores, Node ${process.version}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '(default 4)'}, SCRYPT settings from env: ${
      Object.entries(process.env)
        .filter(([k]) => k.startsWith('SCRYPT') || k.startsWith('PASSWORD'))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(defaults)'
    }\n`,
  );

  const one = await loginCost(t, 5);
  process.stdout.write(
    `  one failed login        median ${one.medianMs.toFixed(0)} ms, max ${one.maxMs.toFixed(0)} ms, peak RSS +${one.rssDeltaMb} MB over the idle server\n`,
  );

  // Ten at once from one address: the per-address budget (10/min by default) lets all ten reach the hash.
  await new Promise((r) => setTimeout(r, 500));
  const idle = new RssSampler(t.pid).start().stop();
  const sampler = new RssSampler(t.pid).start();
  const began = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const res = await fetch(`${t.url}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '10.9.9.9' },
        body: JSON.stringify({ username: `someone${i}`, password: 'a wrong guess' }),
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  const wall = performance.now() - began;
  const peak = sampler.stop();
  const counts = statuses.reduce<Record<number, number>>((m, s) => {
    m[s] = (m[s] ?? 0) + 1;
    return m;
  }, {});
  process.stdout.write(
    `  10 concurrent, 1 address  all answered in ${wall.toFixed(0)} ms ${JSON.stringify(counts)}, RSS ${Math.round(idle / 1024)} -> peak ${Math.round(peak / 1024)} MB\n`,
  );

  await new Promise((r) => setTimeout(r, 61_000 / 10)); // not needed for the flood (own addresses), only to settle memory
  const flood = await loginFlood(t, { renders: 40, connections: 10, maxLogins: 300, maxSeconds: 45 });
  process.stdout.write(`login flood\n${formatFlood(flood, 10)}\n`);
} finally {
  if (child.connected) child.send({ type: 'close' });
  await new Promise((r) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      r(null);
    }, 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      r(null);
    });
  });
  await fs.rm(tmp, { recursive: true, force: true });
}
