import type { ChildProcess } from 'node:child_process';
import { spawnCli } from '../ops/cli.js';

/**
 * A real imgpath node as a child process (`node bin/imgpath.js serve`), as an operator runs it:
 * JSON log lines on stdout are parsed, the rest (the first start's admin key) kept as text.
 */
export interface Node {
  name: string;
  child: ChildProcess;
  url: string;
  env: Record<string, string>;
  lines: Array<Record<string, unknown>>;
  /** Everything on stdout that is not a log line (the admin key banner). */
  text(): string;
  stderr(): string;
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startNode(name: string, env: Record<string, string>, cwd: string): Promise<Node> {
  const child = spawnCli(['serve'], { PORT: '0', HOST: '127.0.0.1', NODE_NAME: name, ...env }, cwd);
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let buffer = '';
  let text = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const raw = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!raw.startsWith('{')) {
        text += `${raw}\n`;
        continue;
      }
      const line = JSON.parse(raw) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 120_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`${name}: no such log line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before the expected log line; stderr: ${stderr}`));
      });
    });
  const listening = await waitFor((l) => l.msg === 'imgpath listening');
  return {
    name,
    child,
    url: String(listening.url).replace('localhost', '127.0.0.1'),
    env,
    lines,
    text: () => text,
    stderr: () => stderr,
    waitFor,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
