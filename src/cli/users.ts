import type { Command } from 'commander';
import { hashPassword } from '../auth/passwords.js';
import { Users, checkPasswordRule, normaliseUsername, publicUser } from '../auth/users.js';
import { openDb } from '../db/client.js';
import { AppError } from '../errors.js';
import { configFromProcess } from './env.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is what `echo` and here-strings add; it is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `imgpath users create-admin|list`. Prompt-free so scripts and containers can run it: the
 * password comes from `--password` or, better (it stays out of `ps` and shell history), stdin.
 */
export function registerUserCommands(program: Command) {
  const users = program.command('users').description('manage user accounts');

  users
    .command('create-admin')
    .description('create an admin user (password from --password or stdin)')
    .requiredOption('--username <name>', 'the login name')
    .option('--password <password>', 'the password (prefer piping it on stdin)')
    .option('--force', 'if the user exists, make it an admin and set this password')
    .option('--json', 'print JSON')
    .action(async (o: { username: string; password?: string; force?: boolean; json?: boolean }) => {
      if (o.password === undefined && process.stdin.isTTY) program.error('give --password or pipe the password on stdin');
      const password = o.password ?? (await readStdin());
      const config = configFromProcess();
      const db = openDb(config.dbFile);
      try {
        const store = new Users(db, config.SCRYPT_COST);
        const name = normaliseUsername(o.username);
        const existing = store.byUsername(name);
        let user;
        if (existing && o.force) {
          checkPasswordRule(password);
          store.setPassword(existing.id, await hashPassword(password, config.SCRYPT_COST));
          store.setRole(existing.id, 'admin');
          user = store.get(existing.id)!;
        } else {
          user = await store.create(name, password, 'admin');
        }
        const shown = publicUser(user);
        process.stdout.write(o.json ? `${JSON.stringify(shown)}\n` : `admin ${shown.username} (id ${shown.id}) ready\n`);
      } catch (err) {
        if (err instanceof AppError) program.error(err.code === 'conflict' ? `${err.message} (use --force to promote it and reset its password)` : err.message);
        throw err;
      } finally {
        db.$client.close();
      }
    });

  users
    .command('list')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const db = openDb(configFromProcess().dbFile);
      const rows = db.query.users.findMany().sync().map(publicUser);
      db.$client.close();
      if (o.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
      for (const u of rows) process.stdout.write(`${u.id}\t${u.username}\t${u.role}\n`);
    });
}
