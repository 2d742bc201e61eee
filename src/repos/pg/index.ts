import type { ChangeBus } from '../../cluster/bus.js';
import type { PgDb } from '../../db/pg/client.js';
import type { Repos } from '../index.js';
import { foreignImageWrites, pgChanges } from './changes.js';
import { pgClusterRepo } from './cluster.js';
import { pgDirectUploadsRepo } from './direct-uploads.js';
import { pgImagesRepo } from './images.js';
import { pgKeysRepo } from './keys.js';
import { pgOriginsRepo } from './origins.js';
import { pgPresetsRepo } from './presets.js';
import { pgRenditionsRepo } from './renditions.js';
import { pgTasksRepo } from './tasks.js';
import { pgUsageRepo } from './usage.js';
import { pgUsersRepo } from './users.js';

export interface PgRepos extends Repos {
  /** Moves the change mark: something changed that this node did not write (`bus` already does this). */
  noteChange(): void;
}

/**
 * Repositories over a PostgreSQL pool (opened by `openPg`), the same `Repos` as createSqliteRepos.
 * `bus`: the cluster's change notifications, each of which moves the change mark, so the hit
 * path's row caches drop what another node (or an operator) changed.
 */
export function createPgRepos(db: PgDb, opts: { bus?: ChangeBus } = {}): PgRepos {
  const changes = pgChanges();
  opts.bus?.subscribe(() => changes.note());
  const imageWrites = foreignImageWrites(opts.bus);
  const pool = db.$client;
  // Not through the change mark: no row cache depends on settings, leases or locks.
  const cluster = pgClusterRepo(db);
  return {
    changes: changes.mark,
    noteChange() {
      changes.note();
      // Whatever it was, it may have been an image: followers of the library look again.
      imageWrites.note();
    },
    shared: true,
    cluster,
    tasks: changes.track(pgTasksRepo(db), ['byId', 'claimable']),
    renditions: changes.track(pgRenditionsRepo(db), ['byKey', 'totals', 'leastRecent', 'idleBefore', 'all', 'byImage', 'byPreset', 'report']),
    directUploads: changes.track(pgDirectUploadsRepo(db), ['byId', 'openFor', 'due']),
    users: changes.track(pgUsersRepo(db), ['byId', 'byUsername', 'count', 'list']),
    keys: changes.track(pgKeysRepo(db, changes.mark), ['liveByHash', 'byId', 'list', 'count', 'changes']),
    usage: changes.track(pgUsageRepo(db), []),
    images: changes.track(pgImagesRepo(db, changes.mark, imageWrites.mark), [
      'find',
      'byId',
      'byIds',
      'byPublicId',
      'renamed',
      'page',
      'isRetired',
      'hashInUse',
      'variantsOf',
      'byHash',
      'nameTaken',
      'count',
      'showcase',
      'poolPage',
      'foreignWrites',
    ]),
    origins: changes.track(pgOriginsRepo(db), ['sourceOf']),
    presets: changes.track(pgPresetsRepo(db, changes.mark), ['byName', 'list']),
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await cluster.close();
      if (!pool.ended) await pool.end();
    },
  };
}
