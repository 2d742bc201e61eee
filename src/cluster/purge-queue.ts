import type { PurgeRequest } from './cdn-purge.js';

/**
 * The CDN purges waiting to be sent (./cdn-purge.ts): bounded, and fair between owners.
 *
 * A tenant may change their own public images as fast as the API lets them (a focal point, a
 * rename, private and public again), each change is a purge, and a CDN's purge API is slow and
 * rate-limited. A first-come queue that drops its oldest when full lets that tenant push anyone
 * else's purge out (an operator's delete of a leaked image, left in the CDN for a year) or keep
 * it waiting behind theirs. So:
 * - a change to what a waiting purge already names (the same image or preset) joins that purge:
 *   one image changed a hundred times takes one place;
 * - owners are served in turn (the one served longest ago first), each owner's purges in order:
 *   a burst from one owner holds anyone else's purge back by one purge at most;
 * - when full, the owner with the most waiting gives the place: their newest purge is folded into
 *   their previous one. Tags are always kept (they alone reach every cached copy); URLs up to
 *   `maxUrls` a purge, the more severe change's first, so only CDNs that purge by URL alone can
 *   miss a few of that owner's renditions. Nobody else's purge is touched.
 */

export interface Waiting {
  reason: PurgeRequest['reason'];
  tags: string[];
  urls: string[];
  /** Whose change it is (the image's owner, or the presets'): the unit of fairness. */
  owner: string;
  /** When the (latest) change was made: sent no sooner than settleMs after it. */
  at: number;
}

/** Most severe first: the URLs of a delete are kept before those of a focal point. */
const SEVERITY: ReadonlyArray<PurgeRequest['reason']> = [
  'image-deleted',
  'image-private',
  'preset-deleted',
  'image-renamed',
  'preset-changed',
  'image-changed',
];
const severity = (r: PurgeRequest['reason']) => SEVERITY.indexOf(r);

export interface PurgeQueue {
  readonly size: number;
  /** Queue a purge; answers how many of its (or a folded purge's) URLs had to be left out. */
  add(w: Waiting): number;
  /** The next purge to send, or undefined when none waits. */
  next(): Waiting | undefined;
}

export function purgeQueue(max: number, maxUrls: number): PurgeQueue {
  const waiting: Waiting[] = [];
  /** The turn at which each owner was last served (absent: not yet, or long ago: first in line). */
  const served = new Map<string, number>();
  let turn = 0;

  /** `from` joins `into` (which keeps its place); the URLs left out. */
  const fold = (into: Waiting, from: Waiting) => {
    const [first, second] = severity(from.reason) < severity(into.reason) ? [from, into] : [into, from];
    into.reason = first.reason;
    into.tags = [...new Set([...into.tags, ...from.tags])];
    const urls = [...new Set([...first.urls, ...second.urls])];
    into.urls = urls.length > maxUrls ? urls.slice(0, maxUrls) : urls;
    into.at = Math.max(into.at, from.at);
    return urls.length - into.urls.length;
  };

  const lastOf = (owner: string, before = waiting.length) => {
    for (let i = before - 1; i >= 0; i--) if (waiting[i]!.owner === owner) return i;
    return -1;
  };

  return {
    get size() {
      return waiting.length;
    },
    add(w) {
      const same = w.tags.length ? waiting.find((q) => w.tags.every((t) => q.tags.includes(t))) : undefined;
      if (same) return fold(same, w);
      if (waiting.length < max) {
        waiting.push(w);
        return 0;
      }
      const counts = new Map<string, number>();
      for (const q of waiting) counts.set(q.owner, (counts.get(q.owner) ?? 0) + 1);
      // The newcomer's owner gives the place on a tie: their own purges fold first.
      let top = w.owner;
      for (const [owner, n] of counts) if (n > (counts.get(top) ?? 0)) top = owner;
      if (top === w.owner) return fold(waiting[lastOf(top)]!, w);
      let newest = lastOf(top);
      let previous = lastOf(top, newest);
      // Every owner has one waiting (as many owners as places): the two newest fold, whoever's.
      if (previous < 0) [newest, previous] = [waiting.length - 1, waiting.length - 2];
      const cut = fold(waiting[previous]!, waiting[newest]!);
      waiting.splice(newest, 1);
      waiting.push(w);
      return cut;
    },
    next() {
      let pick = -1;
      let pickTurn = Infinity;
      for (let i = 0; i < waiting.length; i++) {
        const t = served.get(waiting[i]!.owner) ?? -1;
        // Strictly less: an owner's oldest purge goes first.
        if (t < pickTurn) [pick, pickTurn] = [i, t];
      }
      if (pick < 0) return undefined;
      const [w] = waiting.splice(pick, 1);
      served.set(w!.owner, ++turn);
      // Bounded: owners with nothing waiting are forgotten once there are many of them.
      if (served.size > 2 * max) for (const owner of served.keys()) if (lastOf(owner) < 0) served.delete(owner);
      return w;
    },
  };
}
