import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInbox, type Inbox, type InboxResult } from '../../src/library/inbox.js';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { SAMPLES, sample, testApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let inboxDir: string;
let inbox: Inbox;
const results: InboxResult[] = [];

type Row = { id: string; filename: string; collection: string | null; bytes: number; hash: string };
const rows = () => t.deps.db.$client.prepare('select id, filename, collection, bytes, hash from images').all() as Row[];

/** Poll until `check` holds (bounded); the assertion is on what the user sees, not on how fast. */
async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  t = await testApp();
  inboxDir = path.join(t.dir, 'inbox');
  await fs.mkdir(inboxDir);
  // Dropped while the server was down: imported when the watcher starts.
  await fs.copyFile(path.join(SAMPLES, 'dragonfly-alpha.png'), path.join(inboxDir, 'early.png'));
  inbox = await startInbox(t.deps, inboxDir, { stableMs: 300, onResult: (r) => results.push(r) });
});
afterAll(async () => {
  await inbox.close();
  await t.cleanup();
});

describe('the drop folder', () => {
  it('imports files that were there before the watcher started', async () => {
    await until(() => rows().find((r) => r.filename === 'early.png'), 'early.png');
  });

  it('imports a copied photo, which then shows up in /random without any refresh call', async () => {
    await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(inboxDir, 'dune.jpg'));
    const row = await until(() => rows().find((r) => r.filename === 'dune.jpg'), 'dune.jpg in the images table');
    const res = await t.request('/random?min_width=1600&orientation=landscape');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/img/${row.id}`);
    // Moved aside once imported, so the inbox shows only what is pending.
    await until(
      () =>
        fs.access(path.join(inboxDir, '.imported', 'dune.jpg')).then(
          () => true,
          () => false,
        ),
      'the move to .imported/',
    );
    await expect(fs.access(path.join(inboxDir, 'dune.jpg'))).rejects.toThrow();
  });

  it('files in a sub-folder go to the collection of that name', async () => {
    await fs.mkdir(path.join(inboxDir, 'wallpapers'));
    await fs.copyFile(path.join(SAMPLES, 'friends-portrait.jpg'), path.join(inboxDir, 'wallpapers', 'friends.jpg'));
    const row = await until(() => rows().find((r) => r.filename === 'friends.jpg'), 'friends.jpg');
    expect(row.collection).toBe('wallpapers');
    const res = await t.request('/random?collection=wallpapers');
    expect(res.headers.get('location')).toBe(`/img/${row.id}`);
  });

  it('leaves a non-image where it is, reports it once, and imports nothing', async () => {
    const note = path.join(inboxDir, 'notes.txt');
    await fs.writeFile(note, 'not a picture');
    await until(() => results.find((r) => r.file === note), 'the report on notes.txt');
    const before = rows().length;
    // Anything after it in the queue being handled shows the watcher moved on.
    await fs.copyFile(path.join(SAMPLES, 'sunset-12mp.jpg'), path.join(inboxDir, 'after-note.jpg'));
    await until(() => rows().find((r) => r.filename === 'after-note.jpg'), 'after-note.jpg');
    expect(rows().length).toBe(before + 1);
    expect(await fs.readFile(note, 'utf8')).toBe('not a picture');
    expect(results.filter((r) => r.file === note)).toEqual([expect.objectContaining({ status: 'rejected', code: 'unsupported_media_type' })]);
    expect(rows().some((r) => r.filename === 'notes.txt')).toBe(false);
  });

  it('refuses a file over MAX_UPLOAD_MB by its size, without reading it, and leaves it in place', async () => {
    // Sparse: 3 GiB on paper, nothing on disk; past what one read could even hold in a Buffer.
    const huge = path.join(inboxDir, 'huge.jpg');
    await fs.writeFile(huge, '');
    await fs.truncate(huge, 3 * 1024 ** 3);
    const result = await until(() => results.find((r) => r.file === huge), 'the report on huge.jpg');
    expect(result).toMatchObject({ status: 'rejected', code: 'too_large' });
    expect((await fs.stat(huge)).size).toBe(3 * 1024 ** 3);
    expect(rows().some((r) => r.filename === 'huge.jpg')).toBe(false);
    await fs.rm(huge);
  });

  it('waits for a copy in progress instead of importing half a file', async () => {
    // A fresh image (not a sample already imported), written in pieces with pauses shorter than the quiet period.
    const { default: sharp } = await import('sharp');
    const full = await sharp(sample('dune-2mp.jpg')).resize(800).jpeg({ quality: 70 }).toBuffer();
    const file = await fs.open(path.join(inboxDir, 'slow.jpg'), 'w');
    const step = Math.ceil(full.length / 6);
    for (let off = 0; off < full.length; off += step) {
      await file.write(full.subarray(off, off + step));
      await file.sync();
      await new Promise((r) => setTimeout(r, 60));
    }
    await file.close();
    await until(() => results.find((r) => r.file.endsWith('slow.jpg')), 'the report on slow.jpg');
    const row = rows().find((r) => r.filename === 'slow.jpg')!;
    expect(row.bytes).toBe(full.length);
    expect(row.hash).toBe(createHash('sha256').update(full).digest('hex'));
    expect(results.filter((r) => r.file.endsWith('slow.jpg'))).toHaveLength(1);
  });

  it('ignores temporary names (partial downloads, dot files)', async () => {
    await fs.writeFile(path.join(inboxDir, 'photo.jpg.part'), sample('dune-2mp.jpg').subarray(0, 1000));
    await fs.writeFile(path.join(inboxDir, '.hidden.jpg'), sample('dune-2mp.jpg'));
    await fs.copyFile(path.join(SAMPLES, 'dragonfly-alpha.png'), path.join(inboxDir, 'marker.png'));
    await until(() => results.find((r) => r.file.endsWith('marker.png')), 'marker.png');
    expect(results.some((r) => r.file.endsWith('.part') || r.file.endsWith('.hidden.jpg'))).toBe(false);
    await expect(fs.access(path.join(inboxDir, 'photo.jpg.part'))).resolves.toBeUndefined();
  });
});

describe('the server', () => {
  it('watches $DATA_DIR/inbox by default and stops watching on close', async () => {
    const dir = path.join(t.dir, 'server');
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write; // the first-start key banner
    const running = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: path.join(dir, 'data'),
        CACHE_DIR: path.join(dir, 'cache'),
        LOG_LEVEL: 'silent',
        IMPORT_SAMPLES: 'false',
      }),
    ).finally(() => (process.stdout.write = write));
    try {
      expect(running.deps.config.inboxDir).toBe(path.join(dir, 'data', 'inbox'));
      await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(dir, 'data', 'inbox', 'dune.jpg'));
      const res = await until(async () => {
        const r = await fetch(`${running.url}/random?redirect=0`);
        return r.status === 200 ? r : undefined;
      }, '/random to serve the dropped photo');
      expect(res.headers.get('content-type')).toBe('image/jpeg');
    } finally {
      await running.close();
    }
  });
});
