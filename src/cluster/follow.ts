import type { Deps } from '../deps.js';
import type { ClusterChange } from './bus.js';

/**
 * What this node does when another node changes the library (issue 13 item 2). The writer applied
 * the change to its own caches where it made it; every other node hears of it on the bus and
 * applies the same effects to its own, through the same functions:
 *
 * - images: deleted or updated (visibility, focal point, tags, new bytes of a remote original):
 *   this node's memory and disk renditions of it go (the writer purged the shared tier), and the
 *   random pool follows through `deps.events`, as it does for local writes. An update purges too,
 *   because the notification does not say what changed and a focal point changes g_auto crops;
 *   the next hit reads the shared tier, or renders once. Inserted: the pool takes it.
 * - presets: their renditions on this node go (they would be rendered with the old options).
 * - api_keys: what this node remembers of the key (verdicts, policy-token states) is read again.
 * - tasks: a task queued on another node is offered to this node's runner at once; the claim
 *   decides which node runs it.
 * - resync (the listener reconnected; notifications may be lost): every key verdict goes (row
 *   caches and the random pool follow the mark too). What a resync cannot tell is which images
 *   changed meanwhile: a focal point set during the gap leaves this node's old g_auto crops until
 *   they are evicted or purged (a delete or a private image needs nothing: both are checked on
 *   the row, which is read again).
 *
 * Row caches (image rows, presets, key verdicts, users) need nothing here: every notification
 * already moved the change mark they check (src/repos/pg/index.ts). Nothing is published again
 * (the bus never delivers a node its own changes, and these effects write nothing shared), and the
 * writer's one-time side effects (CDN purge, logs) are never repeated here: they run at the write.
 * Changes are applied one at a time in the order heard, so a late read cannot undo a later delete.
 */
export function followCluster(deps: Deps) {
  let tail = Promise.resolve();
  deps.bus.subscribe((change) => {
    tail = tail.then(() => apply(deps, change).catch((err: unknown) => deps.log.warn({ err, change }, 'could not apply a change made on another node')));
  });
}

async function apply(deps: Deps, change: ClusterChange) {
  if (change.kind === 'resync') {
    deps.keys.forget();
    return;
  }
  const { table, op, id } = change;
  switch (table) {
    case 'images': {
      if (op !== 'insert') await deps.cache.forgetImage(id);
      const row = op === 'delete' ? undefined : await deps.repos.images.byId(id);
      if (!row) deps.events.removed.forEach((fn) => fn(id));
      else if (op === 'insert') deps.events.added.forEach((fn) => fn(row));
      else deps.events.changed.forEach((fn) => fn(row));
      return;
    }
    case 'presets':
      await deps.cache.forgetPreset(id);
      return;
    case 'api_keys':
      deps.keys.forget(id);
      return;
    case 'tasks':
      if (op === 'insert') deps.taskRunner?.push(id);
      return;
    default:
      // image_aliases, users: read through row caches only, which the change mark already dropped.
      return;
  }
}
