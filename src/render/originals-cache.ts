import { spawn } from 'node:child_process';
import { LRUCache } from 'lru-cache';
import { isCompleteProgressiveJpeg, startsProgressive } from './jpeg-scans.js';
import { type Reduced, reduce, reducedSize, reductionFor } from './reduced.js';
import type { Input } from './types.js';

/**
 * Originals as renders decode them, kept in memory for the next miss (ORIGINALS_CACHE_MB), keyed
 * by content hash (the bytes never change under it). A burst of misses on one original (the
 * widths of a srcset, a new page) reads it once: a read of a few MB costs more than its size
 * suggests, the fresh pages it lands in fault in one by one (a 2 MB original: 5-8 ms per miss on
 * the bench VM against 0.4 ms into memory already touched), and from S3 it is a GET each time.
 * Originals on local disk are not kept here: renders hand their file to libvips, which reads it from
 * the OS page cache (already the cache of those files) with no copy in the JS heap at all.
 *
 * A progressive JPEG is kept as its baseline copy, made losslessly by `jpegtran` and decoded in
 * its place. A progressive JPEG cannot be decoded in one pass: libjpeg reads every scan into a
 * whole-image coefficient buffer first, so even a 1/8 shrink-on-load decodes everything (12 MP:
 * ~10x the CPU of the same picture in baseline, +50 MB per render in flight). jpegtran rewrites
 * the same DCT coefficients as a baseline file (~0.2 s of CPU for 12 MP, once per original),
 * whose decode gives the very same pixels: every rendition stays byte-identical. Made once per
 * original however many misses ask at the same time; without jpegtran on PATH originals are
 * kept and decoded as they are.
 *
 * An original that keeps being shrunk is also kept decoded at 1/2, 1/4 or 1/8 of its size
 * (`reduced`, see reduced.ts): the next renders that shrink it as much start from those pixels
 * instead of decoding it again. ORIGINALS_CACHE_MB=0 turns all three off.
 */
export class OriginalsCache {
  /** What to decode, per original (by hash): its bytes, or its baseline copy; and its reductions (`hash@k`). */
  private readonly kept: LRUCache<string, Buffer | Reduced>;
  /** Originals that get no copy (not a complete progressive JPEG, or jpegtran refused it). */
  private readonly none = new LRUCache<string, true>({ max: 10_000 });
  private readonly making = new Map<string, Promise<Buffer | undefined>>();
  private readonly copies = new WeakSet<Buffer>();
  /** Reductions asked for once (`hash@k`): made on the second ask, so a one-off render pays nothing for them. */
  private readonly asked = new LRUCache<string, true>({ max: 10_000 });
  /** Originals no reduction can stand in for (see reduced.ts `reduce`). */
  private readonly unreducible = new LRUCache<string, true>({ max: 10_000 });
  /**
   * Originals whose reduction failed to be made (an I/O error, a decode error): not asked again for
   * a while, so a broken one does not cost every render an extra decode, nor a passing error its
   * reductions for good.
   */
  private readonly failing: LRUCache<string, true>;
  private readonly reducing = new Map<string, Promise<Reduced | undefined>>();
  /**
   * made / used / failed: baseline copies; reused: misses that read no original;
   * reductionsMade / reductionsUsed: renders started from a reduction (made: the decodes that made one).
   */
  readonly counters = { made: 0, used: 0, failed: 0, reused: 0, reductionsMade: 0, reductionsUsed: 0 };

  constructor(
    private readonly opts: {
      maxBytes: number;
      /** The jpegtran executable; null: copies off. */
      jpegtran: string | null;
      /** `what`: what failed (a baseline copy, a reduction); the render goes on from the original. */
      onError?: (err: unknown, what: string) => void;
      /** How long an original whose reduction failed is not offered one again (default 60 s). */
      retryReductionMs?: number;
    },
  ) {
    this.failing = new LRUCache<string, true>({ max: 10_000, ttl: Math.max(1, opts.retryReductionMs ?? 60_000) });
    this.kept = new LRUCache<string, Buffer | Reduced>({
      maxSize: Math.max(1, opts.maxBytes),
      // At least 1: lru-cache throws on 0, and an original can be an empty file (a crash mid-write, a full disk).
      sizeCalculation: (v) => Math.max(1, Buffer.isBuffer(v) ? v.length : v.data.length),
    });
  }

  get enabled() {
    return this.opts.maxBytes > 0;
  }

  private get copying() {
    return this.opts.jpegtran !== null && this.enabled;
  }

  /** What to decode for the original `hash` when it is held: the original need not even be read. */
  held(hash: string): Buffer | undefined {
    const found = this.enabled ? this.kept.get(hash) : undefined;
    const known = Buffer.isBuffer(found) ? found : undefined;
    if (known) {
      this.counters.reused++;
      if (this.copies.has(known)) this.counters.used++;
    }
    return known;
  }

  /**
   * The bytes to decode for the original `hash` of `format`, given as read: its baseline copy
   * when it has or gets one, else the original; either is kept for the next miss.
   */
  async decodable(hash: string, format: string, original: Buffer): Promise<Buffer> {
    if (!this.enabled) return original;
    if (!this.copying || format !== 'jpeg' || this.none.has(hash)) return this.keep(hash, original);
    let pending = this.making.get(hash);
    if (!pending) {
      pending = this.make(hash, original).finally(() => this.making.delete(hash));
      this.making.set(hash, pending);
    }
    const copy = await pending;
    if (!copy) return this.keep(hash, original);
    this.counters.used++;
    return copy;
  }

  /**
   * For an original stored as a local file, which renders decode from the file itself: true when
   * it must be read instead, for its baseline copy. Only a JPEG not known to get none may, and its
   * `head()` (its first bytes; undefined: no file) then says whether its frame is progressive.
   */
  async wantsBytes(hash: string, format: string, head: () => Promise<Buffer | undefined>): Promise<boolean> {
    if (!this.copying || format !== 'jpeg' || this.none.has(hash)) return false;
    const first = await head();
    if (first === undefined) return true;
    if (startsProgressive(first) === false) {
      this.none.set(hash, true);
      return false;
    }
    return true;
  }

  private keep(hash: string, bytes: Buffer): Buffer {
    // One over the whole budget is refused by the LRU (silently): it still serves this render.
    this.kept.set(hash, bytes);
    return bytes;
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
      this.copies.add(copy);
      return this.keep(hash, copy);
    } catch (err) {
      this.counters.failed++;
      this.none.set(hash, true);
      this.opts.onError?.(err, 'baseline copy of a progressive JPEG');
      return undefined;
    }
  }

  /**
   * Pixels of the original `hash` (whose bytes to decode are `input`, `size` once auto-oriented)
   * at 1/k of its size, for a render whose first step shrinks it by `shrink`; undefined when no
   * reduction fits that shrink, the original cannot have one, or this is the first time that
   * reduction is asked for (then the render decodes `input` as usual).
   */
  async reduced(
    hash: string,
    format: string,
    input: Input,
    size: { width: number; height: number },
    shrink: number,
    maxInputPixels: number,
  ): Promise<Reduced | undefined> {
    const k = this.enabled ? reductionFor(format, shrink) : undefined;
    if (k === undefined || this.unreducible.has(hash) || this.failing.has(hash)) return undefined;
    const target = reducedSize(size, k);
    // One the budget could not keep would be made again by every render: each would pay for two.
    if (!target || target.width * target.height * 4 > this.opts.maxBytes / 2) return undefined;
    const key = `${hash}@${k}`;
    let found = this.kept.get(key) as Reduced | undefined;
    if (!found) {
      if (!this.asked.has(key)) {
        this.asked.set(key, true);
        return undefined;
      }
      let pending = this.reducing.get(key);
      if (!pending) {
        pending = this.makeReduced(hash, key, input, size, k, maxInputPixels).finally(() => this.reducing.delete(key));
        this.reducing.set(key, pending);
      }
      found = await pending;
      if (!found) return undefined;
    }
    this.counters.reductionsUsed++;
    return found;
  }

  private async makeReduced(hash: string, key: string, input: Input, size: { width: number; height: number }, k: number, maxInputPixels: number) {
    try {
      const made = await reduce(input, size, k, maxInputPixels);
      if (!made) {
        this.unreducible.set(hash, true);
        return undefined;
      }
      this.counters.reductionsMade++;
      this.kept.set(key, made);
      return made;
    } catch (err) {
      this.failing.set(hash, true);
      this.opts.onError?.(err, 'reduction');
      return undefined;
    }
  }

  stats() {
    return { ...this.counters, entries: this.kept.size, bytes: this.kept.calculatedSize };
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
