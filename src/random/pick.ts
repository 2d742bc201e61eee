import { canSee } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { findImage } from '../core/index.js';
import { entryOf, libraryPool } from './library-pool.js';
import { seededRng, unitFromSeed, type Audience, type RandomFilters } from './pool.js';

/** Which visibility slices of the pool a caller may pick from (the same rule as `canSee`). */
export function audienceOf(p: Principal): Audience {
  switch (p.kind) {
    case 'anonymous':
      return ['pub'];
    case 'key':
      // A key without an owner is a system key: like an admin, it sees the whole library.
      return p.admin || p.userId === null ? ['*'] : ['pub', `own:${p.userId}`];
    case 'user':
      return p.admin ? ['*'] : ['pub', `own:${p.userId}`];
    case 'policy':
      return p.policy.owner !== undefined ? ['pub', `own:${p.policy.owner}`] : ['pub'];
  }
}

export type PickMode = { kind: 'random' } | { kind: 'seed'; seed: string } | { kind: 'daily' };

/** The pool may lag behind another process's edit for a moment; a few corrected retries cover it. */
const HEAL_ATTEMPTS = 4;

/** The row if it still exists, may be seen by `principal` and passes the filters; otherwise the pool is corrected. */
async function confirm(deps: Deps, principal: Principal, filters: RandomFilters, id: string): Promise<ImageRow | undefined> {
  if (!libraryPool(deps).loaded) await libraryPool(deps).ready();
  const pool = libraryPool(deps).pool;
  const row = await findImage(deps, id);
  if (!row) {
    pool.remove(id);
    return undefined;
  }
  const entry = entryOf(row);
  if (canSee(principal, row) && pool.admits(entry, filters, audienceOf(principal))) return row;
  pool.upsert(entry);
  return undefined;
}

/** One image for the caller, or undefined when nothing matches. */
export async function pickOne(deps: Deps, principal: Principal, filters: RandomFilters, mode: PickMode): Promise<ImageRow | undefined> {
  if (mode.kind === 'daily') return pickDaily(deps, principal, filters);
  // Only the first load is waited for: once loaded, the /random hit path awaits nothing for the pool.
  if (!libraryPool(deps).loaded) await libraryPool(deps).ready();
  const audience = audienceOf(principal);
  for (let attempt = 0; attempt < HEAL_ATTEMPTS; attempt++) {
    const u = mode.kind === 'seed' ? unitFromSeed(mode.seed) : Math.random();
    const entry = libraryPool(deps).pool.pick(filters, audience, u);
    if (!entry) return undefined;
    const row = await confirm(deps, principal, filters, entry.id);
    if (row) return row;
  }
  return undefined;
}

/** Up to `count` distinct images, in random (or seeded) order. */
export async function pickMany(deps: Deps, principal: Principal, filters: RandomFilters, count: number, seed?: string): Promise<ImageRow[]> {
  if (!libraryPool(deps).loaded) await libraryPool(deps).ready();
  const audience = audienceOf(principal);
  for (let attempt = 0; attempt < HEAL_ATTEMPTS; attempt++) {
    const entries = libraryPool(deps).pool.sample(filters, audience, count, seed === undefined ? Math.random : seededRng(seed));
    if (entries.length === 0) return [];
    const rows = new Map((await deps.repos.images.byIds(entries.map((e) => e.id))).map((r) => [r.id, r]));
    const confirmed = entries.map((e) => {
      const row = rows.get(e.id);
      return row && canSee(principal, row) && libraryPool(deps).pool.admits(entryOf(row), filters, audience) ? row : undefined;
    });
    if (confirmed.every((r) => r !== undefined)) return confirmed as ImageRow[];
    // Stale entries: correct them and draw again, so the answer is still a uniform sample.
    for (const e of entries) await confirm(deps, principal, filters, e.id);
  }
  return [];
}

/**
 * Today's image: the seeded pick for the UTC date, remembered so that an upload later in the day
 * does not change it. It changes only when the remembered image stops being a candidate.
 */
const MAX_DAILY_MEMOS = 1000;

async function pickDaily(deps: Deps, principal: Principal, filters: RandomFilters): Promise<ImageRow | undefined> {
  const day = utcDay(deps.clock());
  let memo = deps.random.daily;
  if (memo.day !== day) deps.random.daily = memo = { day, picks: new Map() };
  const audience = audienceOf(principal);
  const key = JSON.stringify([audience, filters.collection, filters.tag, filters.orientation, filters.minWidth]);
  const remembered = memo.picks.get(key);
  if (remembered) {
    const row = await confirm(deps, principal, filters, remembered);
    if (row) return row;
  }
  const row = await pickOne(deps, principal, filters, { kind: 'seed', seed: `daily:${day}` });
  if (row) {
    if (memo.picks.size >= MAX_DAILY_MEMOS) memo.picks.clear();
    memo.picks.set(key, row.id);
  }
  return row;
}

export function utcDay(unixSeconds: number) {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}
