import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import autocannon from 'autocannon';
import { forkTs, nextMessage, percentile, RssSampler } from './children.js';
import type { RawJob, RawResult } from './raw-child.js';

/** One bounded run against one target. */
export interface Sample {
  ok: number;
  errors: number;
  seconds: number;
  latencies: number[];
  peakKb: number;
  /** Raw sharp only: bytes of all outputs together. */
  outBytes?: number;
  /** CPU time (user + system) the target process spent during the run, in ms; 0 where /proc is unavailable. */
  cpuMs?: number;
}

export interface Summary {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
  peakMb: number;
  /**
   * The target's CPU time per answered request, in µs: unlike req/s, it hardly moves when other
   * processes on a shared machine take the cores (0 when not measured).
   */
  cpuUs: number;
}

/** Rounds of one side added up: throughput over the summed time, percentiles over every request. */
export function summarize(samples: Sample[]): Summary {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const ok = samples.reduce((n, s) => n + s.ok, 0);
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  return {
    rps: seconds > 0 ? ok / seconds : 0,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ok,
    errors: samples.reduce((n, s) => n + s.errors, 0),
    peakMb: Math.round(Math.max(0, ...samples.map((s) => s.peakKb)) / 1024),
    cpuUs: ok > 0 ? (1000 * samples.reduce((n, s) => n + (s.cpuMs ?? 0), 0)) / ok : 0,
  };
}

/**
 * autocannon against `url`, each request taking the next of `paths` (so misses never repeat),
 * bounded by `amount` requests when given, else by `seconds`; a guard stops it regardless.
 */
export async function http(opts: { url: string; paths: string[]; connections: number; amount?: number; seconds: number; pid: number }): Promise<Sample> {
  let i = 0;
  const latencies: number[] = [];
  const sampler = new RssSampler(opts.pid).start();
  // A run bounded by `amount` is timed here, to its last response: autocannon notices that its
  // clients are done only at its next sample tick (every second), so its own `duration` rounds up
  // to whole seconds (20 misses in 1.1 s read as 2.0 s: a flat 10.0 req/s whatever the server did).
  const began = performance.now();
  let lastResponse = began;
  const cpuBefore = cpuMsOf(opts.pid);
  // Without a callback autocannon returns its instance, which is also thenable (the types say one or the other).
  const instance = autocannon({
    url: opts.url,
    connections: Math.min(opts.connections, opts.amount ?? Infinity),
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds }),
    timeout: 60,
    requests: [{ setupRequest: (req) => ({ ...req, path: opts.paths[i++ % opts.paths.length] }) }],
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  instance.on('response', (_client, status, _bytes, ms) => {
    lastResponse = performance.now();
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const guard = setTimeout(() => instance.stop(), (opts.seconds + 10) * 1000);
  const result = await instance;
  clearTimeout(guard);
  const seconds = opts.amount ? (lastResponse - began) / 1000 : result.duration;
  const cpuMs = cpuMsOf(opts.pid) - cpuBefore;
  return { ok: result['2xx'], errors: result.errors + result.non2xx, seconds, latencies, peakKb: sampler.stop(), cpuMs };
}

/** utime + stime of a process from /proc (Linux), in ms; 0 elsewhere. */
function cpuMsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** USER_HZ: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/** A long-lived raw-sharp process (see raw-child.ts). */
export async function rawSharp(renderConcurrency: number) {
  const child: ChildProcess = forkTs('raw-child.ts');
  child.send({ type: 'setup', renderConcurrency });
  await nextMessage(child, 'ready');
  return {
    async run(job: Omit<RawJob, 'type'>): Promise<Sample> {
      const sampler = new RssSampler(child.pid!).start();
      const cpuBefore = cpuMsOf(child.pid!);
      child.send({ type: 'job', ...job } satisfies RawJob);
      const r = await nextMessage<RawResult>(child, 'result', (job.maxSeconds + 60) * 1000);
      const cpuMs = cpuMsOf(child.pid!) - cpuBefore;
      return { ok: r.ok, errors: r.errors, seconds: r.seconds, latencies: r.latenciesMs, peakKb: Math.max(sampler.stop(), 0), outBytes: r.outBytes, cpuMs };
    },
    close() {
      if (child.connected) child.send({ type: 'close' });
    },
  };
}
