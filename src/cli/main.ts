#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { MAX_ROTATION_GRACE_SECONDS, SCOPES, parseDuration, type Scope } from '../auth/keys.js';
import { INTERNAL } from '../auth/principal.js';
import { MAX_SIGNED_LIFETIME, signDelivery } from '../delivery/sign.js';
import { maskedConfig, maskedUrl } from '../config.js';
import { createDeps } from '../deps.js';
import { AppError } from '../errors.js';
import { exitOnSignals } from '../ops/shutdown.js';
import { openData } from '../repos/open.js';
import { startServer } from '../server.js';
import { registerCacheCommands } from './cache.js';
import { configFromProcess } from './env.js';
import { runImport } from './import.js';
import { registerUserCommands } from './users.js';

const program = new Command('imgpath').description('On-the-fly image delivery server').showHelpAfterError();

const out = (json: boolean, value: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);

program
  .command('serve')
  .description('start the HTTP server')
  .option('-p, --port <port>', 'port (overrides PORT)')
  .action(async (o: { port?: string }) => {
    const config = configFromProcess(o.port ? { PORT: o.port } : {});
    const running = await startServer(config);
    exitOnSignals(running.close, { log: running.deps.log, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  });

program
  .command('import <dir>')
  .description('import every image under <dir> (recursively); other files are reported and left alone')
  .option('--json', 'one JSON object per file on stdout, then a summary')
  .option('--collection <name>', 'put the images in this collection')
  .option('--tags <list>', 'comma-separated tags')
  .addOption(new Option('--visibility <v>', 'public or private').choices(['public', 'private']))
  .option('--keep-paths', 'give each image its path below <dir>, without the extension, as public id (blog/2024/cat.jpg -> blog/2024/cat)')
  .action(async (dir: string, o: { json?: boolean; collection?: string; tags?: string; visibility?: 'public' | 'private'; keepPaths?: boolean }) => {
    const deps = await createDeps(configFromProcess());
    const summary = await runImport(deps, dir, {
      json: !!o.json,
      collection: o.collection,
      tags: o.tags?.split(','),
      visibility: o.visibility,
      keepPaths: !!o.keepPaths,
    });
    await deps.repos.close();
    process.exitCode = summary.imported + summary.duplicates === 0 && summary.rejected > 0 ? 1 : 0;
  });

program
  .command('sign <id> [options]')
  .description(
    'print a signed delivery URL (its path when PUBLIC_URL is not set) for an image id and options (e.g. w_300,f_webp); refuses what POST /sign refuses (exit 2). A public image gets a public-only URL (dead once the image is private); a private one expires (1 h by default)',
  )
  .option('--expires <seconds>', `make the URL expire after this many seconds (1..${MAX_SIGNED_LIFETIME}); an exp_ in the options obeys the same bounds`)
  .option('--ext <ext>', 'an extension on the id (jpg, png, webp, avif, gif), shorthand for f_')
  .option('--json', 'print JSON')
  .action(async (id: string, options: string | undefined, o: { expires?: string; ext?: string; json?: boolean }) => {
    // A refusal is a usage error (exit 2) with the reason only: the help text would bury it.
    const refuse = (message: string) => {
      process.stderr.write(`error: ${message}\n`);
      process.exitCode = 2;
    };
    const expiresIn = o.expires === undefined ? undefined : /^\d+$/.test(o.expires) ? Number(o.expires) : NaN;
    if (Number.isNaN(expiresIn)) return refuse(`--expires expects whole seconds (1..${MAX_SIGNED_LIFETIME}) but received ${o.expires}`);
    const config = configFromProcess();
    const deps = await createDeps(config);
    try {
      // The operator at the console: the server's own word, on every image.
      const { path, expiresAt } = await signDelivery(deps, INTERNAL, { id, options, ext: o.ext, expiresIn });
      const url = `${config.PUBLIC_URL ?? ''}${path}`;
      out(!!o.json, { path, url, expiresAt }, url);
    } catch (e) {
      // The API's 400/404 for the same request.
      if (!(e instanceof AppError)) throw e;
      refuse(`${e.code}: ${e.message}`);
    } finally {
      await deps.repos.close();
    }
  });

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key (printed once)')
  .option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, 'deliver')
  .option('--name <name>', 'a label', '')
  .option('--secret-file <path>', "use the key already in this file (e.g. the Flask API's key.txt) instead of a new one")
  .option('--json', 'print JSON')
  .action(async (o: { scopes: string; name: string; secretFile?: string; json?: boolean }) => {
    const scopes = o.scopes.split(',').map((s) => s.trim());
    const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad.length) program.error(`unknown scope(s) ${bad.join(', ')}; allowed: ${SCOPES.join(', ')}`);
    // Moving from a system whose key already sits in pages and scripts: keep that key working.
    const secret = o.secretFile === undefined ? undefined : readFileSync(o.secretFile, 'utf8').trim();
    if (secret !== undefined && !/^[\x21-\x7e]{16,256}$/.test(secret)) {
      program.error(`--secret-file must hold one key of 16 to 256 printable characters (no spaces); ${o.secretFile} does not`);
    }
    const deps = await createDeps(configFromProcess());
    if (secret !== undefined && (await deps.keys.verify(secret))) {
      await deps.repos.close();
      program.error('that key already exists on this server');
    }
    const k = await deps.keys.create({ name: o.name, scopes: scopes as Scope[], secret });
    out(!!o.json, k, `${k.key}\n(id ${k.id}, scopes ${k.scopes.join(',')}; shown once)`);
    await deps.repos.close();
  });
keys
  .command('list')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    const deps = await createDeps(configFromProcess());
    const rows = (await deps.keys.list()).map(({ hash: _h, ...k }) => k);
    if (o.json) out(true, rows, '');
    else for (const k of rows) process.stdout.write(`${k.id}\t${k.prefix}…\t${k.scopes}\t${k.revokedAt ? 'revoked' : 'live'}\t${k.name}\n`);
    await deps.repos.close();
  });
keys
  .command('rotate <id>')
  .description('give a key a new secret; the old one (and the policy tokens minted with it) ends at once, or after --grace')
  .option('--grace <duration>', `keep the old secret working this long: 90s, 30m, 1h, 2d (max ${MAX_ROTATION_GRACE_SECONDS / 86400}d)`, '0')
  .option('--json', 'print JSON')
  .action(async (id: string, o: { grace: string; json?: boolean }) => {
    const grace = parseDuration(o.grace);
    if (grace === undefined || grace > MAX_ROTATION_GRACE_SECONDS) {
      return program.error(`--grace expects a duration such as 90s, 30m, 1h or 2d, at most ${MAX_ROTATION_GRACE_SECONDS / 86400}d, but received ${o.grace}`);
    }
    const deps = await createDeps(configFromProcess());
    const k = await deps.keys.rotate(id, grace);
    if (!k) return program.error(`no live key ${id}`);
    const until =
      k.previousValidUntil === null ? 'the old secret no longer works' : `the old secret works until ${new Date(k.previousValidUntil * 1000).toISOString()}`;
    out(!!o.json, k, `${k.key}\n(id ${k.id}; ${until})`);
    await deps.repos.close();
  });
keys.command('revoke <id>').action(async (id: string) => {
  const deps = await createDeps(configFromProcess());
  if (!(await deps.keys.revoke(id))) program.error(`no key ${id}`);
  process.stdout.write(`revoked ${id}\n`);
  await deps.repos.close();
});

program
  .command('db')
  .description('database tasks')
  .command('migrate')
  .description('apply pending migrations to the configured database (DATABASE_URL, else the SQLite file in DATA_DIR), then exit')
  .action(async () => {
    const config = configFromProcess();
    // Opening migrates (several nodes at once are safe): nothing else is started.
    const { repos } = await openData(config, { listen: false });
    await repos.close();
    const where = config.DATABASE_URL ? `PostgreSQL at ${maskedUrl(config.DATABASE_URL)}` : `database at ${config.dbFile}`;
    process.stdout.write(`${where} is up to date\n`);
  });

program
  .command('config')
  .description('print the effective configuration (secrets masked)')
  .action(() => {
    process.stdout.write(`${JSON.stringify(maskedConfig(configFromProcess()), null, 2)}\n`);
  });

registerCacheCommands(program);
registerUserCommands(program);

await program.parseAsync(process.argv);
