/**
 * Password hashing against rendering, over HTTP on 127.0.0.1, against a server process started by
 * the caller: the cost of one login (time, resident memory above the idle server), and render
 * latency alone versus while a flood of failed logins runs. Shared by `npm run bench` and
 * `npx tsx bench/logins.ts`. Every loop is bounded in requests and seconds; it reports, never asserts.
 */
import { percentile, RssSampler } from './children.js';

export interface Target {
  url: string;
  pid: number;
  /** An admin key of that server (to create the user whose password is guessed). */
  adminKey: string;
  /** An image id to render. */
  imageId: string;
}

const rssKb = (pid: number) => new RssSampler(pid).start().stop();

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** A user to guess the password of (made with the admin key, so open registration is not needed). */
export async function ensureVictim(t: Target, username = 'victim') {
  const res = await post(`${t.url}/auth/register`, { username, password: 'the real passphrase 42' }, { 'X-API-Key': t.adminKey });
  if (res.status !== 201 && res.status !== 409) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
}

export interface LoginCost {
  /** Median wall time of one failed login, alone on the server. */
  medianMs: number;
  maxMs: number;
  /** Peak resident memory above the idle server during one login. */
  rssDeltaMb: number;
  /** The hash format stored for a new password (parameters included). */
  stored?: string;
}

/** `n` failed logins one after another; the first one warms up and is not counted. */
export async function loginCost(t: Target, n = 5): Promise<LoginCost> {
  await ensureVictim(t);
  const times: number[] = [];
  let delta = 0;
  for (let i = 0; i <= n; i++) {
    await new Promise((r) => setTimeout(r, 300)); // let the allocator hand the last hash's memory back
    const idle = rssKb(t.pid);
    const sampler = new RssSampler(t.pid).start();
    const began = performance.now();
    const res = await post(`${t.url}/auth/login`, { username: 'victim', password: `wrong guess ${i}` });
    const ms = performance.now() - began;
    const peak = sampler.stop();
    await res.arrayBuffer();
    if (res.status !== 401) throw new Error(`login answered ${res.status}, expected 401`);
    if (i === 0) continue;
    times.push(ms);
    delta = Math.max(delta, peak - idle);
  }
  times.sort((a, b) => a - b);
  return { medianMs: percentile(times, 50), maxMs: times[times.length - 1], rssDeltaMb: Math.round(delta / 1024) };
}

export interface FloodResult {
  renderAlone: { p50: number; p99: number; n: number };
  renderDuringFlood: { p50: number; p99: number; n: number };
  logins: { sent: number; byStatus: Record<string, number>; p50: number; p99: number };
  idleRssMb: number;
  peakRssMb: number;
}

/**
 * Renders of small distinct variants (every one a cache miss, ~20 ms each) one after another,
 * first alone, then while `connections` clients post failed logins as fast as they are answered.
 * Each failed login comes from its own address (X-Forwarded-For; the server runs with
 * TRUST_PROXY=true) and names its own user, so per-address and per-name limits do not stop the
 * flood: only the hashing queue stands between it and the renders.
 */
export async function loginFlood(
  t: Target,
  opts: { renders?: number; connections?: number; maxLogins?: number; maxSeconds?: number; widthBase?: number } = {},
): Promise<FloodResult> {
  const renders = opts.renders ?? 40;
  const connections = opts.connections ?? 10;
  const maxLogins = opts.maxLogins ?? 400;
  const maxSeconds = opts.maxSeconds ?? 60;
  let width = opts.widthBase ?? 120;
  const render = async (count: number) => {
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const began = performance.now();
      const res = await fetch(`${t.url}/img/w_${width++},f_webp/${t.imageId}`);
      await res.arrayBuffer();
      if (res.ok) ms.push(performance.now() - began);
    }
    ms.sort((a, b) => a - b);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: ms.length };
  };

  await render(3); // warm-up
  const renderAlone = await render(renders);
  const idle = rssKb(t.pid);
  const sampler = new RssSampler(t.pid).start();
  const byStatus: Record<string, number> = {};
  const loginMs: number[] = [];
  let sent = 0;
  let stop = false;
  const deadline = Date.now() + maxSeconds * 1000;
  const client = async (c: number) => {
    while (!stop && sent < maxLogins && Date.now() < deadline) {
      const k = sent++;
      const began = performance.now();
      try {
        const res = await post(
          `${t.url}/auth/login`,
          { username: `nobody${k}`, password: `guess number ${k}` },
          { 'X-Forwarded-For': `10.${c}.${(k >> 8) & 255}.${k & 255}` },
        );
        await res.arrayBuffer();
        byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
        loginMs.push(performance.now() - began);
        // A refused client waits as told, as a well-behaved one would; an attacker would not, and costs a map lookup.
        if (res.status === 503) await new Promise((r) => setTimeout(r, 50));
      } catch {
        byStatus.error = (byStatus.error ?? 0) + 1;
      }
    }
  };
  const flood = Promise.all(Array.from({ length: connections }, (_, c) => client(c)));
  await new Promise((r) => setTimeout(r, 1000)); // hashing under way
  const renderDuringFlood = await render(renders);
  stop = true;
  await flood;
  const peak = sampler.stop();
  loginMs.sort((a, b) => a - b);
  return {
    renderAlone,
    renderDuringFlood,
    logins: { sent: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus, p50: percentile(loginMs, 50), p99: percentile(loginMs, 99) },
    idleRssMb: Math.round(idle / 1024),
    peakRssMb: Math.round(peak / 1024),
  };
}

export function formatFlood(r: FloodResult, connections: number) {
  const f = (x: number) => x.toFixed(1).padStart(7);
  return [
    `  render alone            p50 ${f(r.renderAlone.p50)} ms  p99 ${f(r.renderAlone.p99)} ms  (${r.renderAlone.n} small misses, one at a time)`,
    `  render during flood     p50 ${f(r.renderDuringFlood.p50)} ms  p99 ${f(r.renderDuringFlood.p99)} ms  (${r.renderDuringFlood.n} misses while ${connections} clients post failed logins)`,
    `  logins                  ${r.logins.sent} answered ${JSON.stringify(r.logins.byStatus)}  p50 ${f(r.logins.p50)} ms  p99 ${f(r.logins.p99)} ms`,
    `  server RSS              idle ${r.idleRssMb} MB, peak during flood ${r.peakRssMb} MB (+${r.peakRssMb - r.idleRssMb} MB)`,
  ].join('\n');
}
