import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRow } from '../db/schema.js';
import type { KeysRepo } from '../repos/keys.js';

export { SCOPES, type Scope, parseScopes } from './scopes.js';
import { parseScopes, type Scope } from './scopes.js';

/** `imgp_` + 32 base62-ish characters (192 bits). The prefix makes leaked keys easy to grep for. */
export function generateKeySecret() {
  return `imgp_${randomBytes(24).toString('base64url')}`;
}

export function hashKey(secret: string) {
  return createHash('sha256').update(secret).digest('hex');
}

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  scopes: Scope[];
  name: string;
}

/** A key rotated with a grace period keeps its old secret working this long at most (a leaked old secret must die). */
export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600;

/** `90s`, `30m`, `1h`, `2d` or plain seconds, as seconds; undefined when it is none of those. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

/**
 * How long the state of a key behind policy tokens is trusted before the database is read again.
 * Revoking or rotating through this process drops it at once; a change made by another process
 * (the CLI) takes effect within this bound.
 */
export const KEY_STATE_TTL_SECONDS = 5;
/** Distinct minting keys remembered at once; the cache is cleared when full (a backstop, keys are few). */
const KEY_STATE_MAX = 10_000;

/**
 * Which secret of a key was used, without revealing it: policy tokens carry this so a rotation
 * ends the tokens minted with the old secret. Derived from the stored hash, never the secret.
 */
export function keyVersion(hash: string) {
  return createHash('sha256').update(`imgpath key version\n${hash}`).digest('base64url').slice(0, 16);
}

/** A live key row matched by a presented secret, and the version of that secret (current, or previous within its grace). */
export type VerifiedKey = ApiKeyRow & { version: string };

interface KeyState {
  checkedAt: number;
  revoked: boolean;
  current: string;
  previous: string | null;
  previousValidUntil: number | null;
}

/** A key is only ever returned in clear by create and rotate; the store holds its hash. */
export class ApiKeys {
  private readonly states = new Map<string, KeyState>();
  /**
   * Verdicts of `verify` (hash of a presented secret -> its live row), trusted for
   * KEY_STATE_TTL_SECONDS: a keyed cache hit then costs a hash and a Map lookup, not a DB read
   * (issue 14). Only live keys are remembered, so guessed secrets cannot fill it; revoking or
   * rotating through this process clears it at once, and any write to the database (this
   * connection's, or another process's such as the CLI) makes it re-read: `repo.changes()`.
   */
  private readonly verdicts = new Map<string, { key: VerifiedKey; checkedAt: number; until: number; changes: string }>();

  constructor(
    private readonly repo: KeysRepo,
    /** Unix seconds (deps.clock): revocation times and rotation grace follow it. */
    private readonly clock: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  async create(opts: { userId?: number | null; name?: string; scopes: Scope[]; id?: string; secret?: string }): Promise<CreatedKey> {
    const key = opts.secret ?? generateKeySecret();
    const id = opts.id ?? `key_${randomBytes(6).toString('hex')}`;
    const prefix = key.slice(0, 12);
    await this.repo.insert({ id, userId: opts.userId ?? null, name: opts.name ?? '', prefix, hash: hashKey(key), scopes: opts.scopes.join(',') });
    return { id, key, prefix, scopes: opts.scopes, name: opts.name ?? '' };
  }

  /**
   * The live (not revoked) key row for a presented secret, if any, with the version of that secret.
   * A remembered verdict is answered synchronously (no promise on the hot path); otherwise the store is asked.
   */
  verify(secret: string): VerifiedKey | undefined | Promise<VerifiedKey | undefined> {
    if (secret.length < 16 || secret.length > 256) return undefined;
    return this.verifyHash(hashKey(secret));
  }

  /**
   * `verify` for a secret already hashed (hashKey) by a caller that keeps the hash, as the hit memo
   * does (src/delivery/hit-memo.ts): a remembered verdict then costs a Map lookup, not a SHA-256.
   */
  verifyHash(hash: string): VerifiedKey | undefined | Promise<VerifiedKey | undefined> {
    const now = this.clock();
    const known = this.verdicts.get(hash);
    const changes = this.repo.changes();
    // `now < checkedAt`: a clock that went back (tests, NTP) re-reads rather than trusting longer.
    if (known && now < known.until && now >= known.checkedAt && known.changes === changes) return known.key;
    return this.lookup(hash, now, changes);
  }

  private async lookup(hash: string, now: number, changes: string): Promise<VerifiedKey | undefined> {
    const row = await this.repo.liveByHash(hash, now);
    if (!row) {
      this.verdicts.delete(hash);
      return undefined;
    }
    const key = { ...row, version: keyVersion(hash) };
    // A previous secret in its rotation grace is trusted no longer than the grace: it ends on the second.
    const graceEnds = row.hash === hash ? Infinity : (row.previousValidUntil ?? now);
    if (this.verdicts.size >= KEY_STATE_MAX) this.verdicts.clear();
    this.verdicts.set(hash, { key, checkedAt: now, until: Math.min(now + KEY_STATE_TTL_SECONDS, graceEnds), changes });
    return key;
  }

  /**
   * Whether a policy token minted with version `version` of key `id` still holds: the key is not
   * revoked and that secret is its current one, or the previous one within its rotation grace.
   * Read through a short cache (KEY_STATE_TTL_SECONDS) so a page of 50 images is one DB read;
   * answered synchronously from that cache.
   */
  mintedBy(id: string, version: string): boolean | Promise<boolean> {
    const now = this.clock();
    const s = this.states.get(id);
    if (!s || now - s.checkedAt >= KEY_STATE_TTL_SECONDS || now < s.checkedAt)
      return this.readState(id, now).then((read) => read !== undefined && holds(read, version, now));
    return holds(s, version, now);
  }

  private async readState(id: string, now: number): Promise<KeyState | undefined> {
    const row = await this.repo.byId(id);
    if (!row) {
      this.states.delete(id);
      return undefined;
    }
    if (this.states.size >= KEY_STATE_MAX) this.states.clear();
    const s = {
      checkedAt: now,
      revoked: row.revokedAt !== null,
      current: keyVersion(row.hash),
      previous: row.previousHash && keyVersion(row.previousHash),
      previousValidUntil: row.previousValidUntil,
    };
    this.states.set(id, s);
    return s;
  }

  get(id: string): Promise<ApiKeyRow | undefined> {
    return this.repo.byId(id);
  }

  list(userId?: number | null): Promise<ApiKeyRow[]> {
    return this.repo.list(userId);
  }

  count(): Promise<number> {
    return this.repo.count();
  }

  /** Ends the key, its previous secret and every policy token minted with either, from the next request on. */
  async revoke(id: string): Promise<boolean> {
    const changed = await this.repo.revoke(id, this.clock());
    this.states.delete(id);
    this.verdicts.clear();
    return changed;
  }

  /**
   * New secret, same id and scopes. The old secret, and the policy tokens minted with it, stop
   * working at once, or after `graceSeconds` (0..MAX_ROTATION_GRACE_SECONDS) so deployed clients
   * can switch over. Only one old secret is kept: rotating again ends the one before at once.
   */
  async rotate(id: string, graceSeconds = 0): Promise<(CreatedKey & { previousValidUntil: number | null }) | undefined> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_SECONDS) {
      throw new RangeError(`Expected grace between 0 and ${MAX_ROTATION_GRACE_SECONDS} seconds but received ${graceSeconds}`);
    }
    const row = await this.repo.byId(id);
    if (!row || row.revokedAt) return undefined;
    const key = generateKeySecret();
    const previousValidUntil = graceSeconds > 0 ? this.clock() + graceSeconds : null;
    await this.repo.setSecret(id, {
      hash: hashKey(key),
      prefix: key.slice(0, 12),
      previousHash: previousValidUntil === null ? null : row.hash,
      previousValidUntil,
    });
    this.states.delete(id);
    this.verdicts.clear();
    return { id, key, prefix: key.slice(0, 12), scopes: parseScopes(row.scopes), name: row.name, previousValidUntil };
  }

  /**
   * Another node changed key `id` (revoked, rotated, deleted; src/cluster/follow.ts), or with no id
   * notifications may have been missed: what this node remembers of it is read again on next use.
   */
  forget(id?: string) {
    if (id === undefined) this.states.clear();
    else this.states.delete(id);
    this.verdicts.clear();
  }

  /** ADMIN_API_KEY: make sure a live admin key with exactly this secret exists. */
  async ensureBootstrap(secret: string) {
    const hash = hashKey(secret);
    const existing = await this.repo.byId('key_bootstrap');
    if (existing?.hash === hash && !existing.revokedAt) return;
    await this.repo.delete('key_bootstrap');
    this.states.delete('key_bootstrap');
    this.verdicts.clear();
    await this.create({ id: 'key_bootstrap', secret, name: 'ADMIN_API_KEY', scopes: ['admin', 'upload', 'deliver'] });
  }
}

/** Whether `version` is a secret of the key in state `s` accepted at `now`. The grace deadline is compared now, not when cached: it ends on the second. */
function holds(s: KeyState, version: string, now: number): boolean {
  if (s.revoked) return false;
  if (version === s.current) return true;
  return version === s.previous && s.previousValidUntil !== null && now < s.previousValidUntil;
}
