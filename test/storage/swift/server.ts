import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export interface SwiftServer {
  endpoint: string;
  /** tempauth's static user "test:tester" (proxy-server.conf.in). */
  accessKeyId: string;
  secretAccessKey: string;
  runDir: string;
  stop(): Promise<void>;
}

/**
 * A real OpenStack Swift with s3api on 127.0.0.1 (start.sh). Throws when it cannot start, so
 * the S3 tests fail loudly rather than skip: a missing Swift must never look like a pass.
 */
export async function startSwift(): Promise<SwiftServer> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpath-swift-'));
  // If the worker dies before afterAll, the servers must not outlive it.
  const killOnExit = () => killRecordedPids(runDir);
  process.once('exit', killOnExit);
  let stdout: string;
  try {
    ({ stdout } = await run(path.join(here, 'start.sh'), [runDir], { timeout: 300_000 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    killRecordedPids(runDir);
    process.off('exit', killOnExit);
    const hasLogs = fs.readdirSync(runDir).some((name) => name.endsWith('.log'));
    if (!hasLogs) fs.rmSync(runDir, { recursive: true, force: true });
    throw new Error(`Swift (S3 test server) did not start: ${e.stderr?.trim() || e.message}${hasLogs ? `\nlogs: ${runDir}` : ''}`);
  }
  const endpoint = /^S3_ENDPOINT=(\S+)$/m.exec(stdout)?.[1];
  if (!endpoint) throw new Error(`start.sh printed no S3_ENDPOINT: ${stdout}`);
  return {
    endpoint,
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    runDir,
    async stop() {
      process.off('exit', killOnExit);
      await run(path.join(here, 'stop.sh'), [runDir]);
      fs.rmSync(runDir, { recursive: true, force: true });
    },
  };
}

function killRecordedPids(runDir: string) {
  for (const f of fs.readdirSync(runDir).filter((name) => name.endsWith('.pid'))) {
    try {
      process.kill(Number(fs.readFileSync(path.join(runDir, f), 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
