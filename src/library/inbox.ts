import fs from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Deps } from '../deps.js';
import { AppError } from '../errors.js';
import { readDroppedFile, StillWritingError } from './drop-file.js';
import { ingest } from './ingest.js';

/**
 * The watched drop folder (`INBOX_DIR`, default `$DATA_DIR/inbox`). A file copied in is imported
 * once its size has stopped changing, then moved to `.imported/` (so the inbox shows only what is
 * pending and a restart does not read everything again). A file in a first-level sub-folder goes
 * to the collection of that name. Anything that is not an image, or not a regular file of its own
 * (symlink, hard link, FIFO, device: see drop-file.ts), is logged with the reason and left where it
 * is: never deleted, never moved, and not retried until the file itself changes.
 */

export const IMPORTED_DIR = '.imported';

export interface InboxOptions {
  /** How long a file's size must stay unchanged before it is read (a copy still running grows). */
  stableMs?: number;
  /** Told about each file handled (tests, the CLI). */
  onResult?: (r: InboxResult) => void;
}

export type InboxResult =
  | { file: string; status: 'imported' | 'duplicate'; id: string }
  | { file: string; status: 'rejected'; code: string; message: string }
  | { file: string; status: 'failed'; message: string };

export interface Inbox {
  dir: string;
  /** Stop watching and wait for the import in progress. */
  close(): Promise<void>;
}

// Editors, browsers and rsync write to temporary names and rename when done.
const TEMPORARY = /(^\.|~$|\.(part|partial|crdownload|tmp|download|swp)$)/i;

export async function startInbox(deps: Deps, dir: string, opts: InboxOptions = {}): Promise<Inbox> {
  await fs.mkdir(dir, { recursive: true });
  const log = deps.log.child({ component: 'inbox' });
  const stableMs = opts.stableMs ?? 1500;
  // One file at a time: a folder of 500 photos must not start 500 decodes at once.
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const handle = async (file: string) => {
    if (closed) return;
    const result = await importOnce(deps, dir, file);
    // Already taken by a rescan (GET /update-images/{key}) since it was seen.
    if (!result) return;
    report(log, result);
    opts.onResult?.(result);
  };
  const enqueue = (file: string) => {
    queue = queue.then(() => handle(file)).catch((err) => log.error({ err, file }, 'inbox import crashed'));
  };

  const watcher: FSWatcher = watch(dir, {
    ignoreInitial: false,
    ignored: (p) => {
      const rel = path.relative(dir, p);
      return rel !== '' && rel.split(path.sep).some((part) => TEMPORARY.test(part));
    },
    awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: Math.max(20, Math.min(250, stableMs / 5)) },
    depth: 1,
    // A link is reported as itself (and refused), never followed into a folder or file elsewhere.
    followSymlinks: false,
  });
  watcher.on('add', enqueue);
  // A rejected file that is rewritten (the copy finished after all, or was fixed) is tried again.
  watcher.on('change', enqueue);
  watcher.on('error', (err) => log.error({ err }, 'inbox watcher error'));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  log.info({ dir }, 'watching the drop folder');

  return {
    dir,
    async close() {
      closed = true;
      await watcher.close();
      await queue;
    },
  };
}

function report(log: Deps['log'], result: InboxResult) {
  const { file } = result;
  if (result.status === 'rejected') log.warn({ file, code: result.code }, `not imported, left in place: ${result.message}`);
  else if (result.status === 'failed') log.error({ file }, `could not import: ${result.message}`);
  else log.info({ file, id: result.id }, result.status === 'duplicate' ? 'already in the library' : 'imported');
}

/**
 * Import what waits in the drop folder now, one file at a time, without waiting for the watcher's
 * quiet period: the Flask API's `GET /update-images/{key}`, called once a conversion script has
 * finished. Files are taken as they are at this moment (the watcher is the one that waits for a
 * copy to settle). Works whether or not a watcher runs in this process.
 */
export async function importPending(deps: Deps, dir: string): Promise<InboxResult[]> {
  const log = deps.log.child({ component: 'inbox' });
  const results: InboxResult[] = [];
  for (const file of await pendingFiles(dir)) {
    const result = await importOnce(deps, dir, file);
    if (!result) continue;
    report(log, result);
    results.push(result);
  }
  return results;
}

/** Entries the watcher would see: the folder and its first-level sub-folders, minus temporary names and `.imported/`. */
async function pendingFiles(dir: string): Promise<string[]> {
  const list = async (d: string) => fs.readdir(d, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const entry of await list(dir)) {
    if (TEMPORARY.test(entry.name) || entry.name === IMPORTED_DIR) continue;
    const full = path.join(dir, entry.name);
    if (!entry.isDirectory()) {
      out.push(full);
      continue;
    }
    for (const inner of await list(full)) {
      if (!TEMPORARY.test(inner.name) && !inner.isDirectory()) out.push(path.join(full, inner.name));
    }
  }
  return out.sort();
}

/** Files being imported now, by path: the watcher and a rescan never import one file twice. */
const importing = new Map<string, Promise<InboxResult | undefined>>();

/** Import `file` unless another caller is already at it or it is gone (then undefined). */
async function importOnce(deps: Deps, dir: string, file: string): Promise<InboxResult | undefined> {
  const running = importing.get(file);
  if (running) {
    await running;
    return undefined;
  }
  const job = (async () => ((await exists(file, true)) ? importFile(deps, dir, file) : undefined))();
  importing.set(file, job);
  try {
    return await job;
  } finally {
    importing.delete(file);
  }
}

async function importFile(deps: Deps, dir: string, file: string): Promise<InboxResult> {
  const rel = path.relative(dir, file);
  const parts = rel.split(path.sep);
  const collection = parts.length > 1 ? parts[0] : null;
  let bytes: Buffer;
  try {
    // Regular files only, sized on the open descriptor (a 4 GB file is refused without being read).
    bytes = await readDroppedFile(file, deps.config, dir);
  } catch (err) {
    if (err instanceof AppError) return { file, status: 'rejected', code: err.code, message: err.message };
    // Still growing after the quiet period (a stalled network copy): the next 'change' brings it back.
    if (err instanceof StillWritingError) return { file, status: 'failed', message: `${err.message}; will retry when it changes` };
    // Gone or unreadable since it was seen: nothing to import, nothing to retry.
    return { file, status: 'failed', message: (err as Error).message };
  }
  try {
    const { image, duplicate } = await ingest(deps, bytes, { filename: path.basename(file), collection });
    await moveAside(dir, rel);
    return { file, status: duplicate ? 'duplicate' : 'imported', id: image.id };
  } catch (err) {
    if (err instanceof AppError) return { file, status: 'rejected', code: err.code, message: err.message };
    return { file, status: 'failed', message: (err as Error).message };
  }
}

/** Move an imported file under `.imported/`, keeping its sub-folder, never overwriting an earlier one. */
async function moveAside(dir: string, rel: string) {
  const target = path.join(dir, IMPORTED_DIR, rel);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const { name, ext } = path.parse(target);
  let dest = target;
  for (let n = 1; await exists(dest); n++) dest = path.join(path.dirname(target), `${name}-${n}${ext}`);
  await fs.rename(path.join(dir, rel), dest);
}

/** `entry`: the name itself, a dangling or refused link included (lstat), so it is still reported. */
async function exists(p: string, entry = false) {
  return (entry ? fs.lstat(p) : fs.access(p)).then(
    () => true,
    () => false,
  );
}
