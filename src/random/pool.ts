import { createHash } from 'node:crypto';

/**
 * The in-memory candidate set behind /random. Every pick is O(log n): each image sits in a few
 * pre-filtered buckets (visibility slice × collection × orientation, and visibility slice × tag),
 * each bucket sorted by (width, id) so `min_width` is one binary search and a uniform pick is an
 * index into what remains. A tag combined with a collection or orientation uses an intersection
 * bucket built on first use (one scan of the smaller side) and kept up to date afterwards.
 *
 * Why not rejection sampling: a seeded pick must be a pure function of the library, and a
 * sampler whose path depends on luck or on what was cached gives the same seed different images.
 */

export type Orientation = 'landscape' | 'portrait' | 'square';

/** What a pick looks at; nothing else of the image is kept here. */
export interface PoolEntry {
  id: string;
  ownerId: number | null;
  visibility: 'public' | 'private';
  collection: string | null;
  orientation: Orientation;
  width: number;
  height: number;
  tags: readonly string[];
}

export interface RandomFilters {
  collection?: string;
  tag?: string;
  orientation?: Orientation;
  minWidth?: number;
}

/**
 * The disjoint visibility slices a caller may pick from: `*` (everything), `pub` (public images),
 * `own:{userId}` / `own:sys` (private images of one owner / of no owner).
 */
export type Audience = readonly string[];

const ALL = '*';
/** Intersection buckets kept at once; older ones are dropped and rebuilt when asked again. */
const MAX_COMBOS = 64;

export function sliceOf(e: Pick<PoolEntry, 'visibility' | 'ownerId'>): string {
  return e.visibility === 'public' ? 'pub' : `own:${e.ownerId ?? 'sys'}`;
}

// JSON quoting keeps user-chosen names ("*", "a|b") from colliding with the key syntax.
const baseKey = (slice: string, collection?: string, orientation?: string) =>
  `${slice}|c=${collection === undefined ? ALL : JSON.stringify(collection)}|o=${orientation ?? ALL}`;
const tagKey = (slice: string, tag: string) => `${slice}|t=${JSON.stringify(tag)}`;

function bucketKeys(e: PoolEntry): string[] {
  const keys: string[] = [];
  for (const slice of [ALL, sliceOf(e)]) {
    for (const c of e.collection === null ? [undefined] : [e.collection, undefined]) {
      for (const o of [e.orientation, undefined]) keys.push(baseKey(slice, c, o));
    }
    for (const t of e.tags) keys.push(tagKey(slice, t));
  }
  return keys;
}

/** Whether `e` is in `slice` and passes every filter except min_width (buckets handle that). */
export function matches(e: PoolEntry, slice: string, f: RandomFilters): boolean {
  return (
    (slice === ALL || sliceOf(e) === slice) &&
    (f.collection === undefined || e.collection === f.collection) &&
    (f.orientation === undefined || e.orientation === f.orientation) &&
    (f.tag === undefined || e.tags.includes(f.tag))
  );
}

const before = (a: PoolEntry, width: number, id: string) => a.width < width || (a.width === width && a.id < id);

/** Entries sorted by (width, id): removal by binary search, min_width by binary search. */
class Bucket {
  constructor(readonly items: PoolEntry[] = []) {}

  /** First index whose entry is not before (width, id). */
  private seek(width: number, id: string) {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.items[mid], width, id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(e: PoolEntry) {
    const i = this.seek(e.width, e.id);
    if (this.items[i]?.id === e.id) this.items[i] = e;
    else this.items.splice(i, 0, e);
  }

  remove(e: PoolEntry) {
    const i = this.seek(e.width, e.id);
    if (this.items[i]?.id === e.id) this.items.splice(i, 1);
  }

  firstAtLeast(width: number) {
    return width <= 0 ? 0 : this.seek(width, '');
  }
}

interface Combo {
  slice: string;
  filters: RandomFilters;
  bucket: Bucket;
}

/** The candidates of one query: a run at the end of one bucket per visibility slice. */
interface Candidates {
  runs: Array<{ bucket: Bucket; start: number }>;
  total: number;
}

export class RandomPool {
  private readonly entries = new Map<string, PoolEntry>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly combos = new Map<string, Combo>();

  /**
   * Bulk load (start-up, resync): one global sort, then entries are appended to their buckets in
   * order, so no bucket needs sorting; bucket keys are built once per distinct (slice, collection,
   * orientation) and per (slice, tag), not once per image.
   */
  static from(list: Iterable<PoolEntry>): RandomPool {
    const pool = new RandomPool();
    const lists = new Map<string, PoolEntry[]>();
    const listFor = (key: string) => {
      let l = lists.get(key);
      if (!l) lists.set(key, (l = []));
      return l;
    };
    const baseTargets = new Map<string, PoolEntry[][]>();
    const tagTargets = new Map<string, PoolEntry[][]>();
    const sorted = [...list].sort((a, b) => a.width - b.width || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const e of sorted) {
      pool.entries.set(e.id, e);
      const slice = sliceOf(e);
      const signature = `${slice}\u0000${e.orientation}\u0000${e.collection === null ? '\u0001' : e.collection}`;
      let targets = baseTargets.get(signature);
      if (!targets) baseTargets.set(signature, (targets = bucketKeys({ ...e, tags: [] }).map(listFor)));
      for (const l of targets) l.push(e);
      for (const tag of e.tags) {
        const tk = `${slice}\u0000${tag}`;
        let tl = tagTargets.get(tk);
        if (!tl) tagTargets.set(tk, (tl = [tagKey(ALL, tag), tagKey(slice, tag)].map(listFor)));
        for (const l of tl) l.push(e);
      }
    }
    for (const [k, l] of lists) pool.buckets.set(k, new Bucket(l));
    return pool;
  }

  get size() {
    return this.entries.size;
  }

  get(id: string) {
    return this.entries.get(id);
  }

  /** Add or replace (a changed image may move between buckets). */
  upsert(e: PoolEntry) {
    this.remove(e.id);
    this.entries.set(e.id, e);
    for (const k of bucketKeys(e)) {
      let b = this.buckets.get(k);
      if (!b) this.buckets.set(k, (b = new Bucket()));
      b.insert(e);
    }
    for (const c of this.combos.values()) if (matches(e, c.slice, c.filters)) c.bucket.insert(e);
  }

  remove(id: string) {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    for (const k of bucketKeys(e)) {
      const b = this.buckets.get(k);
      if (!b) continue;
      b.remove(e);
      // Dropped when empty, so tags and collections that are gone do not leak keys.
      if (b.items.length === 0) this.buckets.delete(k);
    }
    for (const c of this.combos.values()) c.bucket.remove(e);
    return true;
  }

  count(filters: RandomFilters, audience: Audience) {
    return this.candidates(filters, audience).total;
  }

  /** The candidate at fraction `u` ∈ [0,1) of the ordered candidate list; the same u and library give the same image. */
  pick(filters: RandomFilters, audience: Audience, u: number): PoolEntry | undefined {
    const c = this.candidates(filters, audience);
    if (c.total === 0) return undefined;
    return at(c, Math.min(c.total - 1, Math.floor(u * c.total)));
  }

  /** Up to `n` distinct candidates in random order (Floyd's sampling: O(n), whatever the library size). */
  sample(filters: RandomFilters, audience: Audience, n: number, rng: () => number): PoolEntry[] {
    const c = this.candidates(filters, audience);
    const k = Math.min(n, c.total);
    const chosen = new Set<number>();
    for (let j = c.total - k; j < c.total; j++) {
      const t = Math.floor(rng() * (j + 1));
      chosen.add(chosen.has(t) ? j : t);
    }
    const picked = [...chosen].map((i) => at(c, i));
    // Floyd's set is uniform but not in random order: shuffle so position means nothing.
    for (let i = picked.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [picked[i], picked[j]] = [picked[j], picked[i]];
    }
    return picked;
  }

  /** Whether `e` is a candidate of this query (used to check a remembered pick is still valid). */
  admits(e: PoolEntry, filters: RandomFilters, audience: Audience) {
    return e.width >= (filters.minWidth ?? 0) && audience.some((slice) => matches(e, slice, filters));
  }

  private candidates(filters: RandomFilters, audience: Audience): Candidates {
    const runs: Candidates['runs'] = [];
    let total = 0;
    for (const slice of audience) {
      const bucket = this.bucketFor(slice, filters);
      if (!bucket) continue;
      const start = bucket.firstAtLeast(filters.minWidth ?? 0);
      if (start >= bucket.items.length) continue;
      runs.push({ bucket, start });
      total += bucket.items.length - start;
    }
    return { runs, total };
  }

  private bucketFor(slice: string, f: RandomFilters): Bucket | undefined {
    const base = baseKey(slice, f.collection, f.orientation);
    if (f.tag === undefined) return this.buckets.get(base);
    const byTag = tagKey(slice, f.tag);
    if (f.collection === undefined && f.orientation === undefined) return this.buckets.get(byTag);
    const key = `${base}|${byTag}`;
    const hit = this.combos.get(key);
    if (hit) {
      // Re-inserted so the Map's order is least-recently-used first.
      this.combos.delete(key);
      this.combos.set(key, hit);
      return hit.bucket;
    }
    const a = this.buckets.get(base)?.items ?? [];
    const b = this.buckets.get(byTag)?.items ?? [];
    const driver = a.length <= b.length ? a : b;
    const filters = { collection: f.collection, orientation: f.orientation, tag: f.tag };
    // Filtering a sorted list keeps it sorted.
    const bucket = new Bucket(driver.filter((e) => matches(e, slice, filters)));
    this.combos.set(key, { slice, filters, bucket });
    if (this.combos.size > MAX_COMBOS) this.combos.delete(this.combos.keys().next().value!);
    return bucket;
  }
}

function at(c: Candidates, i: number): PoolEntry {
  for (const run of c.runs) {
    const n = run.bucket.items.length - run.start;
    if (i < n) return run.bucket.items[run.start + i];
    i -= n;
  }
  throw new RangeError('candidate index out of range');
}

/** A seed → a number in [0,1), spread evenly (48 bits of sha256). */
export function unitFromSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUIntBE(0, 6) / 2 ** 48;
}

/** A reproducible stream of numbers in [0,1) for seeded multi-picks. */
export function seededRng(seed: string): () => number {
  let i = 0;
  return () => unitFromSeed(`${seed}#${i++}`);
}
