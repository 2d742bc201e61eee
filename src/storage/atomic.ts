import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Write to a temp name in the same directory, then rename: a crash leaves the old file or none, never half a file. */
export async function atomicWrite(file: string, data: Buffer | Uint8Array) {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // The folder is made only when missing: once the sharded folders exist (nearly every write),
    // a mkdir per write is a wasted trip through the thread pool on every miss.
    await fs.writeFile(tmp, data).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(tmp, data);
    });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * How long a temp file may sit untouched before a sweep takes it for a crash's leftover. A write
 * in progress moves its temp file's mtime with every chunk, so a live one is seconds old; ten
 * minutes also covers a stalled network disk and clock skew between hosts sharing the folder (a
 * second server, `imgpath import`), while a `kill -9`'s leftovers still go at the next start.
 */
export const STALE_TEMP_MS = 10 * 60_000;

/** The names atomicWrite gives its temp files: `<file>.<12 hex>.tmp`. */
export const ATOMIC_TEMP = /\.[0-9a-f]{12}\.tmp$/;

export interface SweepOptions {
  /** Names that are temp files in this folder. */
  match: RegExp;
  /** Into sub-folders too (the sharded `ab/` folders of originals and renditions). */
  recursive: boolean;
  olderThanMs?: number;
  now?: number;
}

export interface SweepResult {
  files: number;
  bytes: number;
}

/** Removes the temp files in `dir` not written to for `olderThanMs`; a missing folder has none. */
export async function removeStaleTempFiles(dir: string, opts: SweepOptions): Promise<SweepResult> {
  const cutoff = (opts.now ?? Date.now()) - (opts.olderThanMs ?? STALE_TEMP_MS);
  const result: SweepResult = { files: 0, bytes: 0 };
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (opts.recursive) await walk(p);
      } else if (e.isFile() && opts.match.test(e.name)) {
        const st = await fs.lstat(p).catch(() => null);
        // Gone since the listing (its write finished and renamed it), or fresh: a write in progress.
        if (!st || st.mtimeMs > cutoff) continue;
        await fs.rm(p, { force: true });
        result.files++;
        result.bytes += st.size;
      }
    }
  };
  await walk(dir);
  return result;
}
