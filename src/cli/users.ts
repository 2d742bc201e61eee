import type { Command } from 'commander';
import { createPasswordHasher } from '../auth/passwords.js';
import { Users, normaliseUsername, publicUser } from '../auth/users.js';
import { openData } from '../repos/open.js';
import { AppError } from '../errors.js';
import { configFromProcess } from './env.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is what `echo` and here-strings add; it is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * `imgpath users create [--admin]|create-admin|list`. Prompt-free so scripts and containers can
 * run it: the password comes from `--password` or, better (it stays out of `ps` and shell
 * history), stdin. This and `POST /users` with an admin credential are the only ways to make an
 * admin: registration never does.
 */
export function registerUserCommands(program: Command) {
  const users = program.command('users').description('manage user accounts');

  interface CreateOptions {
    username: string;
    password?: string;
    admin?: boolean;
    force?: boolean;
    json?: boolean;
  }

  async function create(o: CreateOptions) {
    if (o.password === undefined && process.stdin.isTTY) program.error('give --password or pipe the password on stdin');
    const password = o.password ?? (await readStdin());
    const role = o.admin ? 'admin' : 'user';
    const config = configFromProcess();
    const { repos } = await openData(config, { listen: false });
    try {
      // Its own queue: the CLI is a separate process, and hashes one password.
      // The operator at the terminal: no per-minute budget (that protects a running server from floods).
      const store = new Users(repos.users, createPasswordHasher({ ...config, PASSWORD_HASHES_PER_MIN: 0 }));
      const name = normaliseUsername(o.username);
      const existing = await store.byUsername(name);
      let user: Parameters<typeof publicUser>[0];
      if (existing && o.force) {
        await store.setPassword(existing.id, password);
        await store.setRole(existing.id, role);
        user = (await store.get(existing.id))!;
      } else {
        user = await store.create(name, password, role);
      }
      const shown = publicUser(user);
      process.stdout.write(o.json ? `${JSON.stringify(shown)}\n` : `${shown.role} ${shown.username} (id ${shown.id}) ready\n`);
    } catch (err) {
      if (err instanceof AppError) program.error(err.code === 'conflict' ? `${err.message} (use --force to set its role and reset its password)` : err.message);
      throw err;
    } finally {
      await repos.close();
    }
  }

  const createOptions = (cmd: Command) =>
    cmd
      .requiredOption('--username <name>', 'the login name')
      .option('--password <password>', 'the password (prefer piping it on stdin)')
      .option('--force', 'if the user exists, give it this role and set this password')
      .option('--json', 'print JSON');

  createOptions(users.command('create').description('create a user; --admin makes an administrator (password from --password or stdin)'))
    .option('--admin', 'make the user an administrator')
    .action((o: CreateOptions) => create(o));

  createOptions(users.command('create-admin').description('same as `users create --admin`')).action((o: CreateOptions) => create({ ...o, admin: true }));

  users
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { repos } = await openData(configFromProcess(), { listen: false });
      const rows = (await repos.users.list()).map(publicUser);
      await repos.close();
      if (o.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
      for (const u of rows) process.stdout.write(`${u.id}\t${u.username}\t${u.role}\n`);
    });
}
