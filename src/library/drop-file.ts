import { constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import { checkUploadSize, type UploadSizeConfig } from './ingest.js';

/**
 * Reading a file somebody else put in a folder (the drop folder, `imgpath import DIR`). The
 * person who drops a file may have fewer rights than imgpath, so only a plain file of its own is
 * read:
 * - a symbolic link is refused: it can name a file the dropper could never read (another user's
 *   private original, `secrets.json`), and imgpath would read it for them;
 * - a hard link (a file with more than one name) is refused for the same reason: without
 *   `fs.protected_hardlinks` (off on some kernels and containers) anyone can link a file they
 *   cannot read; a copy has one name and is imported as usual;
 * - a FIFO, socket or device is refused before it is opened: reading a FIFO waits for a writer
 *   forever (holding a libuv thread, which also stops `process.exit`), a device never ends;
 * - the size is checked on the opened file and the bytes come from that same descriptor, so the
 *   file checked is the file read, whatever is renamed over the path in between.
 */

/** An entry that is not a plain file: left where it is, reported with `code` and why. */
export class NotRegularFileError extends AppError {
  constructor(code: 'symlink' | 'hard_link' | 'not_regular_file' | 'outside_folder', message: string) {
    super(415, code, message);
  }
}

/** The file changed size while it was read (a copy still running): try again once it is quiet. */
export class StillWritingError extends Error {}

// O_NOFOLLOW: a symlink put in place after the lstat fails the open (ELOOP) instead of being followed.
// O_NONBLOCK: a FIFO swapped in after the lstat opens at once instead of waiting for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The bytes of `file`, which must be a regular file with one name, at most MAX_UPLOAD_MB, and (when
 * `root` is given) really inside `root` — a sub-folder swapped for a symlink after it was listed
 * would otherwise lead the open elsewhere. Throws NotRegularFileError, TooLargeError (both
 * AppErrors: refused, leave the file alone), StillWritingError, or the system error (gone, EACCES).
 */
export async function readDroppedFile(file: string, config: UploadSizeConfig, root?: string): Promise<Buffer> {
  // Judged by the entry itself before anything opens it: opening a device can have effects of its own.
  refuseUnlessPlain(await fs.lstat(file));
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new NotRegularFileError('symlink', 'is a symbolic link (replaced after it was listed); only regular files are imported');
    if (code === 'ENXIO') throw new NotRegularFileError('not_regular_file', 'is a socket; only regular files are imported');
    throw err;
  }
  try {
    // From here on every check is on the descriptor: what is checked is what is read.
    const st = await handle.stat();
    refuseUnlessPlain(st);
    if (root) await checkInside(handle.fd, file, root);
    checkUploadSize(config, st.size);
    // One byte more than announced: a file still growing shows itself without a second stat.
    const buf = Buffer.allocUnsafe(st.size + 1);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled !== st.size) {
      // Grown past the limit while being copied in: refused like any large file, not retried forever.
      checkUploadSize(config, Math.max(filled, (await handle.stat()).size));
      throw new StillWritingError(`is still being written (${st.size} bytes when opened, ${filled > st.size ? 'more' : filled} when read)`);
    }
    return buf.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function refuseUnlessPlain(st: Stats) {
  if (st.isSymbolicLink()) throw new NotRegularFileError('symlink', 'is a symbolic link; only regular files are imported (copy the file itself in)');
  if (!st.isFile()) throw new NotRegularFileError('not_regular_file', `is ${kindOf(st)}; only regular files are imported`);
  if (st.nlink > 1) {
    throw new NotRegularFileError(
      'hard_link',
      `is a hard link (${st.nlink} names for one file); only files with a single name are imported (copy it in instead of linking)`,
    );
  }
}

function kindOf(st: Stats) {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Where the descriptor really points must be under `root`. Linux tells it exactly through
 * /proc/self/fd; elsewhere the path's parent is resolved, which narrows the race but cannot close it.
 */
async function checkInside(fd: number, file: string, root: string) {
  const realRoot = await fs.realpath(root);
  const real = await fs.readlink(`/proc/self/fd/${fd}`).catch(async () => path.join(await fs.realpath(path.dirname(file)), path.basename(file)));
  if (!real.startsWith(realRoot + path.sep)) {
    throw new NotRegularFileError('outside_folder', 'leads outside the folder (a sub-folder was replaced by a link); only files inside it are imported');
  }
}
