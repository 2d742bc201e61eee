import { describe, expect, it } from 'vitest';
import { RandomPool, matches, seededRng, unitFromSeed, type Audience, type PoolEntry, type RandomFilters } from '../../src/random/pool.js';

// A small library with every combination the filters distinguish, compared with a brute-force filter.
function library(n: number): PoolEntry[] {
  const orientations = ['landscape', 'portrait', 'square'] as const;
  return Array.from({ length: n }, (_, i) => ({
    id: `img${String(i).padStart(4, '0')}`,
    ownerId: i % 5 === 0 ? null : (i % 3) + 1,
    visibility: i % 4 === 0 ? ('private' as const) : ('public' as const),
    collection: i % 7 === 0 ? null : ['wallpapers', 'blog', 'a|o=*'][i % 3],
    orientation: orientations[i % 3 === 1 ? 0 : i % 2 === 0 ? 1 : 2],
    width: 400 + ((i * 37) % 9) * 200,
    height: 300,
    tags: [['sea'], ['sea', 'sky'], [], ['forest']][i % 4],
  }));
}

function bruteForce(entries: PoolEntry[], f: RandomFilters, audience: Audience) {
  return entries
    .filter((e) => e.width >= (f.minWidth ?? 0) && audience.some((s) => matches(e, s, f)))
    .map((e) => e.id)
    .sort();
}

const audiences: Audience[] = [['pub'], ['pub', 'own:2'], ['*'], ['own:sys']];
const filterCases: RandomFilters[] = [
  {},
  { collection: 'blog' },
  { collection: 'a|o=*' },
  { orientation: 'portrait' },
  { tag: 'sea' },
  { minWidth: 1000 },
  { tag: 'sky', orientation: 'landscape' },
  { tag: 'sea', collection: 'wallpapers', minWidth: 800 },
  { collection: 'blog', orientation: 'square', minWidth: 1200 },
  { collection: 'nope' },
  { tag: 'forest', collection: 'blog', orientation: 'portrait' },
];

/** Every candidate reachable through pick(u), walking u over the candidate list. */
function allPicks(pool: RandomPool, f: RandomFilters, a: Audience) {
  const n = pool.count(f, a);
  return Array.from({ length: n }, (_, i) => pool.pick(f, a, (i + 0.5) / n)!.id).sort();
}

describe('random pool', () => {
  const entries = library(300);
  const pool = RandomPool.from(entries);

  for (const audience of audiences) {
    for (const f of filterCases) {
      it(`finds exactly the candidates for ${JSON.stringify(f)} seen by ${audience.join('+')}`, () => {
        expect(allPicks(pool, f, audience)).toEqual(bruteForce(entries, f, audience));
      });
    }
  }

  it('follows upserts and removals, including intersection buckets built before the change', () => {
    const live = RandomPool.from(entries);
    const f: RandomFilters = { tag: 'sea', collection: 'blog' };
    allPicks(live, f, ['*']); // builds the intersection bucket
    const changed = entries.map((e) => ({ ...e }));
    for (let i = 0; i < 300; i += 3) live.remove(changed[i].id);
    for (let i = 1; i < 300; i += 3) {
      changed[i] = { ...changed[i], collection: 'blog', tags: ['sea'], visibility: 'public', width: 5000 };
      live.upsert(changed[i]);
    }
    live.upsert({ ...changed[2], id: 'new-one', collection: 'blog', tags: ['sea'] });
    const now = [...changed.filter((_, i) => i % 3 !== 0), { ...changed[2], id: 'new-one', collection: 'blog', tags: ['sea'] }];
    for (const audience of audiences) {
      for (const g of filterCases) expect(allPicks(live, g, audience)).toEqual(bruteForce(now, g, audience));
    }
  });

  it('answers nothing for an empty candidate set', () => {
    expect(pool.pick({ collection: 'none' }, ['*'], 0.5)).toBeUndefined();
    expect(pool.sample({ tag: 'none' }, ['*'], 5, Math.random)).toEqual([]);
  });

  it('maps the same seed to the same image, and spreads seeds evenly', () => {
    const small = RandomPool.from(library(20).map((e) => ({ ...e, visibility: 'public' as const })));
    expect(small.pick({}, ['pub'], unitFromSeed('hello'))!.id).toBe(small.pick({}, ['pub'], unitFromSeed('hello'))!.id);
    const seeds = 20_000;
    const counts = new Map<string, number>();
    for (let s = 0; s < seeds; s++) {
      const id = small.pick({}, ['pub'], unitFromSeed(`seed-${s}`))!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(20);
    const expected = seeds / 20;
    const chiSquare = [...counts.values()].reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 19 degrees of freedom: 43.8 is the 0.1% critical value. The seeds are fixed, so this never flakes.
    expect(chiSquare).toBeLessThan(43.8);
  });

  it('samples distinct images, all of them when fewer exist than asked', () => {
    const got = pool.sample({}, ['pub'], 50, Math.random).map((e) => e.id);
    expect(new Set(got).size).toBe(50);
    const few = pool.sample({ collection: 'blog', orientation: 'square', minWidth: 1200 }, ['pub'], 50, Math.random);
    expect(few.map((e) => e.id).sort()).toEqual(bruteForce(entries, { collection: 'blog', orientation: 'square', minWidth: 1200 }, ['pub']));
    const a = pool.sample({}, ['*'], 12, seededRng('gallery')).map((e) => e.id);
    expect(pool.sample({}, ['*'], 12, seededRng('gallery')).map((e) => e.id)).toEqual(a);
  });
});
