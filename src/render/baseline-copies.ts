import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { isCompleteProgressiveJpeg } from './jpeg-scans.js';

/**
 * Baseline copies of progressive JPEG originals, made losslessly by `jpegtran` and decoded in
 * their place. A progressive JPEG cannot be decoded in one pass: libjpeg reads every scan into a
 * whole-image coefficient buffer first, so even a 1/8 shrink-on-load decodes everything (12 MP:
 * ~10x the CPU of the same picture in baseline, +50 MB per render in flight). jpegtran rewrites
 * the same DCT coefficients as a baseline file (~0.2 s of CPU for 12 MP, once per original), whose
 * decode gives the very same pixels: every rendition stays byte-identical.
 *
 * Keyed by the original's content hash (its bytes never change under it), bounded in bytes, made
 * once per original however many misses ask at the same time. Without jpegtran on PATH (or with
 * BASELINE_COPY_MB=0) originals are decoded as they are.
 */
export class BaselineCopies {
  private readonly copies: LRUCache<string, Buffer>;
  /** Originals that get no copy (not a complete progressive JPEG, or jpegtran refused it). */
  private readonly none = new LRUCache<string, true>({ max: 10_000 });
  private readonly making = new Map<string, Promise<Buffer | undefined>>();
  readonly counters = { made: 0, used: 0, failed: 0 };

  constructor(
    private readonly opts: {
      maxBytes: number;
      /** The jpegtran executable; null: copies off. */
      jpegtran: string | null;
      onError?: (err: unknown) => void;
    },
  ) {
    this.copies = new LRUCache<string, Buffer>({ maxSize: Math.max(1, opts.maxBytes), sizeCalculation: (b) => b.length });
  }

  get enabled() {
    return this.opts.jpegtran !== null && this.opts.maxBytes > 0;
  }

  /** The baseline copy of the original `hash` when one is held: the original need not even be read. */
  held(hash: string, format: string): Buffer | undefined {
    if (!this.enabled || format !== 'jpeg') return undefined;
    const known = this.copies.get(hash);
    if (known) this.counters.used++;
    return known;
  }

  /** The bytes to decode for the original `hash` of `format`: its baseline copy when it has or gets one, else the original. */
  async decodable(hash: string, format: string, original: Buffer): Promise<Buffer> {
    if (!this.enabled || format !== 'jpeg') return original;
    const known = this.held(hash, format);
    if (known) return known;
    if (this.none.has(hash)) return original;
    let pending = this.making.get(hash);
    if (!pending) {
      pending = this.make(hash, original).finally(() => this.making.delete(hash));
      this.making.set(hash, pending);
    }
    const copy = await pending;
    if (!copy) return original;
    this.counters.used++;
    return copy;
  }

  private async make(hash: string, original: Buffer): Promise<Buffer | undefined> {
    if (!isCompleteProgressiveJpeg(original)) {
      this.none.set(hash, true);
      return undefined;
    }
    try {
      const copy = await transcode(this.opts.jpegtran!, original);
      if (isCompleteProgressiveJpeg(copy) || copy[0] !== 0xff || copy[1] !== 0xd8) throw new Error('jpegtran did not write a baseline JPEG');
      this.counters.made++;
      // A copy over the whole budget is refused by the LRU (silently): it still serves this render.
      this.copies.set(hash, copy);
      return copy;
    } catch (err) {
      this.counters.failed++;
      this.none.set(hash, true);
      this.opts.onError?.(err);
      return undefined;
    }
  }

  stats() {
    return { ...this.counters, entries: this.copies.size, bytes: this.copies.calculatedSize };
  }
}

/** Same coefficients, baseline (sequential) Huffman coding, every marker kept (EXIF orientation, ICC); any warning fails it. */
function transcode(jpegtran: string, input: Buffer, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(jpegtran, ['-copy', 'all', '-optimize', '-strict'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`jpegtran ${signal ? `killed by ${signal}` : `exited with ${code}`}: ${err.trim().split('\n')[0] ?? ''}`));
    });
    // EPIPE when jpegtran gives up early: its exit code says why.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** `jpegtran` on PATH (libjpeg-turbo-progs), or null. */
export function findJpegtran(envPath: string | undefined): string | null {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'jpegtran');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}
