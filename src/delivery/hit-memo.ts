import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { SigningKey } from '../auth/signature.js';
import type { CachedRendition, RenditionMeta, StoredCopy } from '../cache/types.js';
import type { Deps } from '../deps.js';
import { pathAndQuery } from '../ops/observe.js';
import { redactUrl } from '../log.js';

/**
 * The hit memo (issue 14): what /img answered a URL with, kept so that the same request is
 * answered again without Hono, authentication, parsing or planning (src/delivery/front.ts). It
 * holds no image bytes (those stay in the cache tiers, read by key on every answer) and no
 * decision of its own: an entry records the decisions of one full answer and the conditions they
 * rest on, and holds only while all of them still do:
 *
 * - the database has not changed since the answer began (`deps.repos.changes()`, the change mark:
 *   image rows, visibility, presets, keys, deletions; on PostgreSQL it also moves on other nodes'
 *   notifications), and at most MEMO_SECONDS have passed;
 * - the request is the same: the same raw URL (path and query, so `?key=`, `?token=` and a
 *   signature are part of it), and the same Host, credential headers (Authorization, X-API-Key),
 *   client hints, and every header the answer's Vary names (Accept for f_auto, Origin for CORS);
 * - an API key is still live: `deps.keys.verify` answers it again on every hit (revoking through
 *   this process moves the change mark, so the very next request is refused);
 * - a signature still verifies: the key it was checked with is still in SIGNING_KEYS;
 * - the URL has not expired (`exp_`, checked on every hit), and a Cache-Control that counts down
 *   (an expiry, a remote original's max-age) is only reused within the clock second it was built.
 *
 * Only answers whose authority is anonymous, an API key or a signed URL presented by either are
 * kept; session and policy tokens, remote originals, dry runs and HEAD always take the full path.
 */

/** How long an entry is trusted at most (the bound a change outside the change mark's reach waits for). */
export const MEMO_SECONDS = 5;
/** Entries per generation (two generations live at once); past it, nothing more is learned until the next. */
const MEMO_MAX = 10_000;
/** Variants of one URL (different Accept, Origin, credential headers): past it the oldest goes. */
const VARIANTS_MAX = 8;

/** Request headers every answer depends on whatever its Vary says: who is asking, and for which size. */
const ALWAYS_MATCHED = ['host', 'authorization', 'x-api-key', 'sec-ch-width', 'width', 'sec-ch-dpr', 'dpr'] as const;
/** Response headers that come from the rendition and its tier (renditionHeaders), or from the request (X-Request-Id). */
const PER_ANSWER = new Set(['content-type', 'content-length', 'x-cache', 'server-timing', 'x-request-id']);

/** What the delivery route knew when it answered, registered on its Response (rememberAnswer). */
export interface AnswerFacts {
  /** The change mark read before the answer's first row lookup. */
  mark: string;
  renditionKey: string;
  meta: RenditionMeta;
  etag: string;
  /** exp_ of a signed URL (unix seconds). */
  expiresAt?: number;
  /** Cache-Control counts down (an expiry, a credential's end, a max-age): valid for this clock second only. */
  perSecond: boolean;
  /** The API key charged, and the hash of the secret presented for it (hashKey). */
  apiKey?: { id: string; hash: string };
  /** The signing key that verified the URL's signature. */
  signedWith?: SigningKey;
}

const answers = new WeakMap<Response, AnswerFacts>();

/** Called by the delivery route on an answer the memo may keep (see the conditions above). */
export function rememberAnswer(res: Response, facts: AnswerFacts): Response {
  answers.set(res, facts);
  return res;
}

export interface MemoEntry extends AnswerFacts {
  madeAt: number;
  until: number;
  /** Request header names and the values the learning request had (undefined: absent), flat: name, value, name, value. */
  match: Array<string | undefined>;
  /** The access line's `url`. */
  logUrl: string;
  /** 304 headers, flat (name, value, …), X-Request-Id last with its value to fill in. */
  notModified: string[];
  /** The 200 headers of the rendition last answered (memory hits share one object), same layout. */
  ok?: { of: CachedRendition; headers: string[] };
  /** Who-asked headers of a 200 (cache policy, CORS, Vary), flat, without the rendition's own. */
  base: string[];
  /**
   * What the disk tier's index said of the rendition when this entry last read it from disk: the
   * next disk read skips the index lookup. As good as the entry: any change to the database (an
   * eviction, a purge) moves the change mark, and a file of another size is refused anyway.
   */
  diskCopy?: StoredCopy;
}

export interface HitMemoStats {
  learned: number;
  answered: number;
  /** Entries found for a request but no longer valid (the change mark moved, a key was refused, time ran out). */
  stale: number;
}

export class HitMemo {
  private current = new Map<string, MemoEntry[]>();
  private previous = new Map<string, MemoEntry[]>();
  private rotatedAt: number;
  private readonly counts: HitMemoStats = { learned: 0, answered: 0, stale: 0 };

  constructor(private readonly deps: Pick<Deps, 'clock' | 'repos' | 'keys' | 'secrets'>) {
    this.rotatedAt = deps.clock();
  }

  /**
   * Keeps the answer `res` to `incoming` when the delivery route registered it (rememberAnswer):
   * its headers as sent, less those each answer makes anew.
   */
  learn(incoming: IncomingMessage, req: Request, res: Response): void {
    const facts = answers.get(res);
    if (!facts || incoming.method !== 'GET' || (res.status !== 200 && res.status !== 304) || incoming.url === undefined) return;
    // A render raced by a purge answers once, uncacheable (respond.ts): nobody keeps it, this memo included.
    if (res.headers.get('cache-control')?.includes('no-store')) return;
    const now = this.rotate();
    if (this.current.size >= MEMO_MAX) return;
    const base: string[] = [];
    const varyOn: string[] = [];
    for (const [name, value] of res.headers) {
      if (name === 'vary') for (const v of value.split(',')) varyOn.push(v.trim().toLowerCase());
      if (!PER_ANSWER.has(name)) base.push(name, value);
    }
    const match: Array<string | undefined> = [];
    for (const name of new Set([...ALWAYS_MATCHED, ...varyOn])) {
      if (name === '*') return; // varies on anything: not reusable
      match.push(name, headerOf(incoming.headers, name));
    }
    const entry: MemoEntry = {
      ...facts,
      madeAt: now,
      until: facts.perSecond ? now + 1 : now + MEMO_SECONDS,
      match,
      logUrl: redactUrl(pathAndQuery(req.url)),
      notModified: [...base, 'x-request-id', ''],
      base,
    };
    const url = incoming.url;
    const variants = (this.current.get(url) ?? this.previous.get(url) ?? []).filter((v) => !sameMatch(v.match, match));
    if (variants.length >= VARIANTS_MAX) variants.shift();
    variants.push(entry);
    this.current.set(url, variants);
    this.counts.learned++;
  }

  /** The entry that answers this request now, if one does (every condition of the module comment checked). */
  match(incoming: IncomingMessage): MemoEntry | undefined {
    const url = incoming.url;
    if (url === undefined) return undefined;
    const variants = this.current.get(url) ?? this.previous.get(url);
    if (!variants) return undefined;
    const headers = incoming.headers;
    for (const entry of variants) {
      if (!matches(entry.match, headers)) continue;
      if (this.holds(entry)) return entry;
      this.counts.stale++;
      return undefined;
    }
    return undefined;
  }

  private holds(entry: MemoEntry): boolean {
    const now = this.deps.clock();
    // `now < madeAt`: a clock that went back (tests, NTP) re-plans rather than trusting longer.
    if (now >= entry.until || now < entry.madeAt) return false;
    if (entry.expiresAt !== undefined && entry.expiresAt < now) return false;
    if (this.deps.repos.changes() !== entry.mark) return false;
    const signed = entry.signedWith;
    if (signed && !this.deps.secrets.signingKeys.some((k) => k.kid === signed.kid && k.secret === signed.secret)) return false;
    const apiKey = entry.apiKey;
    if (apiKey) {
      const verdict = this.deps.keys.verifyHash(apiKey.hash);
      if (verdict instanceof Promise) {
        // Not remembered any more: the full path asks the database (this lookup's answer is dropped).
        verdict.catch(() => {});
        return false;
      }
      if (verdict?.id !== apiKey.id) return false;
    }
    return true;
  }

  /** Counts an answer made from `entry` (stats). */
  answered() {
    this.counts.answered++;
  }

  /** The generation in use, rotated every MEMO_SECONDS: an entry is gone within two, whatever is asked. */
  private rotate(): number {
    const now = this.deps.clock();
    if (now - this.rotatedAt >= MEMO_SECONDS || now < this.rotatedAt) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    return now;
  }

  /** Forgets everything (tests; a process that changed what the memo cannot see). */
  clear() {
    this.current.clear();
    this.previous.clear();
  }

  stats(): HitMemoStats & { entries: number } {
    return { ...this.counts, entries: this.current.size + this.previous.size };
  }
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function matches(match: Array<string | undefined>, headers: IncomingHttpHeaders): boolean {
  for (let i = 0; i < match.length; i += 2) if (headerOf(headers, match[i]!) !== match[i + 1]) return false;
  return true;
}

function sameMatch(a: Array<string | undefined>, b: Array<string | undefined>): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
