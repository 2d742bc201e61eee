import fs from 'node:fs';
import path from 'node:path';
import pino, { type DestinationStream } from 'pino';

/**
 * LOG_FILE as its name says: lines go to exactly that path. Past `maxBytes` it is renamed to
 * `{file}.1` (older ones shift to `.2` … `.{count}`, the oldest is dropped) and a fresh `{file}`
 * is opened: the scheme `tail -F`, logrotate users and log shippers expect. (pino-roll, used
 * before, wrote `{file}.1`, `{file}.2` … and never the file named.)
 *
 * Writes are asynchronous (pino.destination, a SonicBoom that pino flushes on exit), so a slow
 * disk never stalls a request; only the rare rotation renames synchronously.
 */
export function rotatingFile(file: string, opts: { maxBytes: number; count: number }): DestinationStream & { flushSync(): void } {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let size = existingSize(file);
  // Opened synchronously, so the file exists (and can be renamed) from the first line on.
  const open = () => pino.destination({ fd: fs.openSync(file, 'a'), sync: false });
  let dest = open();

  function rotate() {
    try {
      for (let i = opts.count - 1; i >= 1; i--) renameIfThere(`${file}.${i}`, `${file}.${i + 1}`);
      renameIfThere(file, `${file}.1`);
    } catch {
      // Cannot rename (permissions, a read-only mount): keep writing where we are rather than lose lines.
      return;
    }
    // Lines still queued land in the renamed file (its fd follows the rename); end() writes them, then closes.
    const previous = dest;
    dest = open();
    previous.end();
    size = 0;
  }

  return {
    write(line: string) {
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > opts.maxBytes) rotate();
      size += bytes;
      dest.write(line);
    },
    flushSync() {
      try {
        dest.flushSync();
      } catch {
        // Not open yet: nothing buffered can have been written either.
      }
    },
  };
}

function existingSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function renameIfThere(from: string, to: string) {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
