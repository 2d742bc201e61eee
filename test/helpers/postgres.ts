import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the maintenance database. */
  url: string;
  port: number;
  /** A new empty database on this server; its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real, throwaway PostgreSQL 15 (Debian's packages) on 127.0.0.1: `initdb -A trust` into a
 * temp dir, `pg_ctl start`, stopped by the postmaster's PID. initdb refuses to run as root, so as
 * root it runs as the `postgres` user (runuser). Throws when it cannot start: a missing server
 * must never look like a pass.
 */
export async function startPostgres(): Promise<PostgresServer> {
  if (!fs.existsSync(path.join(BIN, 'initdb')))
    throw new Error(`PostgreSQL not found in ${BIN}: run scripts/install-test-deps.sh (apt-get install postgresql)`);
  const root = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpath-pg-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const as = (cmd: string, args: string[]) => (root ? run('runuser', ['-u', 'postgres', '--', path.join(BIN, cmd), ...args]) : run(path.join(BIN, cmd), args));
  if (root) await run('chown', ['postgres:postgres', dir]);
  const port = await freePort();
  let pid = 0;
  const kill = () => {
    try {
      if (pid) process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  };
  process.once('exit', kill);
  try {
    await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // fsync off and a socket in the temp dir: a test server, thrown away with its data.
    await as('pg_ctl', [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      '60',
      '-l',
      path.join(dir, 'log'),
      '-o',
      `-h 127.0.0.1 -p ${port} -k ${dir} -F -c max_connections=200`,
    ]);
    pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch (err) {
    kill();
    process.off('exit', kill);
    const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8').slice(-2000) : '';
    throw new Error(`PostgreSQL did not start: ${(err as { stderr?: string; message: string }).stderr || (err as Error).message}\n${log}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let n = 0;
  return {
    url,
    port,
    async createDatabase(name = `t${process.pid}_${++n}`) {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      process.off('exit', kill);
      try {
        process.kill(pid, 'SIGINT'); // "fast" shutdown: disconnects clients, no checkpoint wait
      } catch {
        // already gone
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
