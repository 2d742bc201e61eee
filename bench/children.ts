import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A TypeScript file of bench/ in its own Node process, with an IPC channel (`execArgv`: e.g. --cpu-prof, which NODE_OPTIONS refuses). */
export function forkTs(file: string, env: Record<string, string | undefined> = process.env, execArgv: string[] = []): ChildProcess {
  return fork(path.join(ROOT, 'bench', file), [], {
    cwd: ROOT,
    env,
    execArgv: ['--import', 'tsx', ...execArgv],
    // The server prints its first-start admin key and logs on stdout; the bench keeps its own output clean.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

/** The next IPC message (optionally of one `type`), or an error after `timeoutMs` or if the child dies. */
export function nextMessage<T>(child: ChildProcess, type?: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${type ?? 'message'} from child ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: { type?: string }) => {
      if (!type || m.type === type) done(null, m as T);
    };
    const onExit = (code: number | null) => done(new Error(`child ${child.pid} exited with ${code} before sending ${type ?? 'a message'}`));
    const done = (err: Error | null, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Resident memory of another process, sampled from /proc while a scenario runs (Linux only; 0 elsewhere). */
export class RssSampler {
  private peakKb = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly pid: number) {}

  private sample() {
    try {
      const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      if (kb > this.peakKb) this.peakKb = kb;
    } catch {
      // The process ended between samples.
    }
  }

  start() {
    this.peakKb = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
    return this;
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
    return this.peakKb;
  }
}

export function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
