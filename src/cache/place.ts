import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { OutputFormat } from '../spec/index.js';
import { atomicWrite } from '../storage/atomic.js';
import { openIfExists } from '../storage/read.js';
import type { BlobStore } from '../storage/store.js';

/**
 * Where an indexed tier keeps its bytes: files under a directory (the disk tier) or objects in a
 * bucket every node reads (the shared tier, RENDITIONS_STORE=s3). The index says how many bytes a
 * key holds; a place answers exactly that many or nothing, so a torn or foreign object is never served.
 */
export interface RenditionPlace {
  /** The bytes of `key` when there are exactly `bytes` of them; undefined when missing or of another size. */
  read(key: string, format: string, bytes: number): Promise<Buffer | undefined>;
  /** Atomic: a reader sees the whole rendition or none. */
  write(key: string, format: string, data: Buffer): Promise<void>;
  remove(key: string, format: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]{1,128}$/;
const EXT: Record<OutputFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', gif: 'gif' };

/** `ab/abcdef….webp`: the cache key's first two characters spread the entries over 4096 folders. */
export function renditionName(key: string, format: string) {
  if (!KEY.test(key)) throw new Error(`invalid cache key ${JSON.stringify(key)}`);
  return `${key.slice(0, 2)}/${key}.${EXT[format as OutputFormat] ?? 'bin'}`;
}

export class FilePlace implements RenditionPlace {
  constructor(readonly dir: string) {}

  file(key: string, format: string) {
    return path.join(this.dir, renditionName(key, format));
  }

  read(key: string, format: string, bytes: number) {
    return readExactly(this.file(key, format), bytes);
  }

  write(key: string, format: string, data: Buffer) {
    return atomicWrite(this.file(key, format), data);
  }

  async remove(key: string, format: string) {
    await fsp.rm(this.file(key, format), { force: true });
  }
}

/** Renditions as objects under `renditions/` of a BlobStore (S3): its puts are atomic already. */
export class BlobPlace implements RenditionPlace {
  constructor(
    private readonly store: BlobStore,
    private readonly prefix = 'renditions/',
  ) {}

  async read(key: string, format: string, bytes: number) {
    const data = await this.store.get(this.prefix + renditionName(key, format));
    return data && data.length === bytes ? data : undefined;
  }

  write(key: string, format: string, data: Buffer) {
    return this.store.put(this.prefix + renditionName(key, format), data);
  }

  remove(key: string, format: string) {
    return this.store.delete(this.prefix + renditionName(key, format));
  }
}

/**
 * Renditions up to this size are read synchronously: from the page cache (where a hot rendition
 * is) a read of a few KB costs microseconds, while the three thread-pool round trips of an
 * asynchronous open, read and close cost a disk hit most of its time, and on a busy machine each
 * hands the core away (issue 14). The disk tier's index is read synchronously already (SQLite), so
 * a cold disk stalls a hit there too; larger renditions are read asynchronously all the same.
 */
export const SYNC_READ_MAX_BYTES = 64 * 1024;

/**
 * The file's bytes when it holds exactly `bytes` of them, else undefined (missing, torn,
 * truncated or grown). One read of `bytes + 1` answers both "too short" and "too long"
 * without a separate stat: open, read, close, where readFile needs open, stat, read, read, close.
 */
async function readExactly(file: string, bytes: number): Promise<Buffer | undefined> {
  if (bytes <= 0) return undefined;
  if (bytes <= SYNC_READ_MAX_BYTES) return readExactlySync(file, bytes);
  const handle = await openIfExists(file);
  if (!handle) return undefined;
  try {
    const buf = Buffer.allocUnsafeSlow(bytes + 1);
    // Regular files answer a read in full up to end-of-file (Linux caps a single read near 2 GiB,
    // far above any rendition), so one read tells the size.
    const { bytesRead: filled } = await handle.read(buf, 0, buf.length, 0);
    return filled === bytes ? buf.subarray(0, bytes) : undefined;
  } finally {
    await handle.close();
  }
}

function readExactlySync(file: string, bytes: number): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.allocUnsafeSlow(bytes + 1);
    const filled = fs.readSync(fd, buf, 0, buf.length, 0);
    return filled === bytes ? buf.subarray(0, bytes) : undefined;
  } finally {
    fs.closeSync(fd);
  }
}
