import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images } from '../../src/db/schema.js';
import { readDroppedFile, StillWritingError } from '../../src/library/drop-file.js';
import { startInbox, type Inbox, type InboxResult } from '../../src/library/inbox.js';
import { originalKey } from '../../src/storage/store.js';
import { SAMPLES, sample, testApp, type TestApp } from '../helpers/app.js';
import { makeUser } from './helpers.js';

/**
 * The drop folder and `imgpath import DIR` read files that someone with fewer rights may have put
 * there. Every kind of entry that is not a plain file of its own is refused by what it is, reported
 * with the reason, and left where it is; the private original they point at never becomes public.
 * All on real files: real symlinks, hard links, FIFOs (mkfifo), sockets.
 */

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'imgpath.js');
const MB = 1024 * 1024;

/** Poll until `check` holds (bounded); the assertion is on what the user sees, not on how fast. */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const lexists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  );

/** A listening Unix socket at `file` (a socket node in a folder): closed by the returned function. */
async function socketAt(file: string) {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * One folder holding every kind of entry, next to a library where bob owns a private original.
 * `expected` is the refusal code each entry must get (the directory named like an image is not an
 * entry at all: it is a folder, walked or watched, never read as a file).
 */
async function hostileFolder(t: TestApp, folder: string) {
  const bob = makeUser(t, `bob-${path.basename(folder)}`);
  const secret = sample('friends-portrait.jpg');
  await t.seed('friends-portrait.jpg', { ownerId: bob.id, visibility: 'private' });
  const hash = createHash('sha256').update(secret).digest('hex');
  const original = path.join(t.deps.config.dataDir, originalKey(hash));
  const elsewhere = path.join(t.dir, `elsewhere-${path.basename(folder)}`);
  await fs.mkdir(elsewhere, { recursive: true });
  await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(elsewhere, 'dune.jpg'));

  await fs.mkdir(folder, { recursive: true });
  await fs.symlink(original, path.join(folder, 'private-link.jpg'));
  await fs.symlink(elsewhere, path.join(folder, 'linked-folder'));
  await fs.link(original, path.join(folder, 'private-hardlink.jpg'));
  execFileSync('mkfifo', [path.join(folder, 'pipe.jpg')]);
  const closeSocket = await socketAt(path.join(folder, 'socket.jpg'));
  await fs.mkdir(path.join(folder, 'folder.jpg'));
  const expected: Record<string, string> = {
    'private-link.jpg': 'symlink',
    'linked-folder': 'symlink',
    'private-hardlink.jpg': 'hard_link',
    'pipe.jpg': 'not_regular_file',
    'socket.jpg': 'not_regular_file',
  };
  return { bob, hash, expected, closeSocket };
}

/** Nothing with bob's bytes exists except his own private row. */
function onlyBobHasIt(t: TestApp, hash: string, bobId: number) {
  const rows = t.deps.db.select({ ownerId: images.ownerId, visibility: images.visibility, hash: images.hash }).from(images).all();
  expect(rows.filter((r) => r.hash === hash)).toEqual([{ ownerId: bobId, visibility: 'private', hash }]);
}

describe('readDroppedFile', () => {
  let t: TestApp;
  beforeAll(async () => (t = await testApp()));
  afterAll(() => t.cleanup());

  it('reads a plain file and refuses one whose sub-folder was swapped for a link after it was listed', async () => {
    const root = path.join(t.dir, 'root');
    await fs.mkdir(path.join(root, 'album'), { recursive: true });
    await fs.writeFile(path.join(root, 'album', 'a.jpg'), 'bytes');
    expect((await readDroppedFile(path.join(root, 'album', 'a.jpg'), { MAX_UPLOAD_MB: 1, limits: { maxUploadBytes: 1024 * 1024 } }, root)).toString()).toBe(
      'bytes',
    );
    // The race the listing cannot see: the same path now leads through a link to another folder.
    const outside = path.join(t.dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'a.jpg'), 'secret');
    await fs.rm(path.join(root, 'album'), { recursive: true });
    await fs.symlink(outside, path.join(root, 'album'));
    await expect(readDroppedFile(path.join(root, 'album', 'a.jpg'), { MAX_UPLOAD_MB: 1, limits: { maxUploadBytes: 1024 * 1024 } }, root)).rejects.toMatchObject(
      { code: 'outside_folder' },
    );
  });

  it('a file growing past MAX_UPLOAD_MB while it is read: never more than the limit is read, and it ends refused as too_large', async () => {
    const file = path.join(t.dir, 'growing.bin');
    await fs.writeFile(file, Buffer.alloc(64 * 1024, 1));
    const chunk = Buffer.alloc(64 * 1024, 2);
    let writing = true;
    const writer = (async () => {
      // Up to 3 MB, a chunk at a time, while the reader below keeps reading it.
      for (let size = chunk.length; size < 3 * MB; size += chunk.length) {
        await fs.appendFile(file, chunk);
        await new Promise((r) => setTimeout(r, 2));
      }
      writing = false;
    })();
    const outcomes = new Set<string>();
    while (writing) {
      try {
        const bytes = await readDroppedFile(file, { MAX_UPLOAD_MB: 1, limits: { maxUploadBytes: 1024 * 1024 } }, t.dir);
        expect(bytes.length).toBeLessThanOrEqual(MB);
        outcomes.add('read');
      } catch (err) {
        if (err instanceof StillWritingError) outcomes.add('still_writing');
        else outcomes.add((err as { code: string }).code);
      }
    }
    await writer;
    // Read while small, caught growing, refused once past the limit — never more than the limit read.
    expect([...outcomes].every((o) => ['read', 'still_writing', 'too_large'].includes(o))).toBe(true);
    await expect(readDroppedFile(file, { MAX_UPLOAD_MB: 1, limits: { maxUploadBytes: 1024 * 1024 } }, t.dir)).rejects.toMatchObject({ code: 'too_large' });
  });
});

describe('the drop folder takes regular files only', () => {
  let t: TestApp;
  let inbox: Inbox;
  let dir: string;
  const results: InboxResult[] = [];
  let setup: Awaited<ReturnType<typeof hostileFolder>>;

  beforeAll(async () => {
    t = await testApp({ MAX_UPLOAD_MB: '2' });
    dir = path.join(t.dir, 'inbox');
    // Everything is in place before the watcher starts, as after a restart.
    setup = await hostileFolder(t, dir);
    inbox = await startInbox(t.deps, dir, { stableMs: 200, onResult: (r) => results.push(r) });
  });
  afterAll(async () => {
    await inbox.close();
    await setup.closeSocket();
    await t.cleanup();
  });

  it('refuses symlinks (to a file or a folder), hard links, FIFOs and sockets by name, leaves them in place, and moves on', async () => {
    // An image dropped after them is imported: nothing before it in the queue blocked it.
    const { default: sharp } = await import('sharp');
    await fs.writeFile(
      path.join(dir, 'marker.png'),
      await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
        .png()
        .toBuffer(),
    );
    await until(() => results.find((r) => r.file.endsWith('marker.png') && r.status === 'imported'), 'marker.png imported');
    for (const [name, code] of Object.entries(setup.expected)) {
      const r = await until(() => results.find((x) => path.basename(x.file) === name), `the report on ${name}`);
      expect(r, name).toMatchObject({ status: 'rejected', code });
      expect(await lexists(path.join(dir, name)), `${name} left in place`).toBe(true);
    }
    // The link to a folder was not followed: the photo in that folder was never read.
    expect(results.some((r) => r.file.includes('linked-folder') && r.file !== path.join(dir, 'linked-folder'))).toBe(false);
    onlyBobHasIt(t, setup.hash, setup.bob.id);
    // Each reported once, not retried while it stays the same.
    for (const name of Object.keys(setup.expected))
      expect(
        results.filter((r) => path.basename(r.file) === name),
        name,
      ).toHaveLength(1);
  });

  it('a directory named like an image is a folder (a collection), never read as a file', async () => {
    await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(dir, 'folder.jpg', 'inside.jpg'));
    const r = await until(() => results.find((x) => x.file.endsWith('inside.jpg')), 'inside.jpg');
    expect(r.status).toBe('imported');
    expect(results.some((x) => x.file === path.join(dir, 'folder.jpg'))).toBe(false);
    expect((await fs.stat(path.join(dir, 'folder.jpg'))).isDirectory()).toBe(true);
  });

  it('a file still growing past MAX_UPLOAD_MB is refused as too_large and left in place', async () => {
    const file = path.join(dir, 'growing.jpg');
    const handle = await fs.open(file, 'w');
    // Pauses shorter than the quiet period: the watcher waits, then sees 3 MB (MAX_UPLOAD_MB=2).
    for (let i = 0; i < 12; i++) {
      await handle.write(Buffer.alloc(256 * 1024, i));
      await new Promise((r) => setTimeout(r, 40));
    }
    await handle.close();
    const r = await until(() => results.find((x) => x.file === file), 'the report on growing.jpg');
    expect(r).toMatchObject({ status: 'rejected', code: 'too_large' });
    expect((await fs.stat(file)).size).toBe(3 * MB);
  });

  it('a symlink dropped while running is refused too', async () => {
    const original = path.join(t.deps.config.dataDir, originalKey(setup.hash));
    await fs.symlink(original, path.join(dir, 'late-link.jpg'));
    const r = await until(() => results.find((x) => x.file.endsWith('late-link.jpg')), 'late-link.jpg');
    expect(r).toMatchObject({ status: 'rejected', code: 'symlink' });
    onlyBobHasIt(t, setup.hash, setup.bob.id);
  });
});

describe('imgpath import DIR takes regular files only', () => {
  it('reports every symlink, hard link, FIFO and socket with its reason, leaves it untouched, and imports the rest', async () => {
    const t = await testApp();
    const folder = path.join(t.dir, 'drop');
    const setup = await hostileFolder(t, folder);
    await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(folder, 'folder.jpg', 'inside.jpg'));
    const config = t.deps.config;
    await t.deps.cache.close();
    t.deps.db.$client.close();
    try {
      // The CLI as a user runs it: its own process, its own open of the same library.
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: config.dataDir,
        CACHE_DIR: config.cacheDir,
        LOG_LEVEL: 'silent',
        IMPORT_SAMPLES: 'false',
      };
      const { stdout } = await run(process.execPath, [BIN, 'import', folder, '--json'], { env, cwd: t.dir, timeout: 30_000 });
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { file?: string; status?: string; error?: { code: string }; summary?: unknown });
      const byName = Object.fromEntries(lines.filter((l) => l.file).map((l) => [path.relative(folder, l.file!), l]));
      for (const [name, code] of Object.entries(setup.expected)) {
        expect(byName[name], name).toMatchObject({ status: 'rejected', error: { code } });
        expect(await lexists(path.join(folder, name)), `${name} left in place`).toBe(true);
      }
      expect(byName[path.join('folder.jpg', 'inside.jpg')]).toMatchObject({ status: 'imported' });
      expect(Object.keys(byName).sort()).toEqual([...Object.keys(setup.expected), path.join('folder.jpg', 'inside.jpg')].sort());
      expect(lines.at(-1)!.summary).toEqual({ imported: 1, duplicates: 0, rejected: 5 });

      const { stdout: text, stderr } = await run(process.execPath, [BIN, 'import', folder], { env, cwd: t.dir, timeout: 30_000 });
      expect(stderr).toContain(`skipped ${path.join(folder, 'pipe.jpg')}: is a FIFO (named pipe); only regular files are imported`);
      expect(stderr).toContain(`skipped ${path.join(folder, 'private-link.jpg')}: is a symbolic link`);
      expect(text).toContain('0 imported, 1 duplicates, 5 rejected');
    } finally {
      await setup.closeSocket();
    }
    const { openDb } = await import('../../src/db/client.js');
    const db = openDb(config.dbFile);
    try {
      const rows = db.select({ ownerId: images.ownerId, visibility: images.visibility, hash: images.hash }).from(images).all();
      expect(rows.filter((r) => r.hash === setup.hash)).toEqual([{ ownerId: setup.bob.id, visibility: 'private', hash: setup.hash }]);
    } finally {
      db.$client.close();
      await fs.rm(t.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
