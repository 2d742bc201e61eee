import { asc, eq, sql } from 'drizzle-orm';
import type { ChangeMark } from '../../db/changes.js';
import type { PgDb } from '../../db/pg/client.js';
import { presets } from '../../db/pg/schema.js';
import type { PresetRow, PresetsRepo } from '../presets.js';

/** Presets are an admin-made handful (unknown names are never stored); the bound is a backstop. */
const PRESET_ROWS_MAX = 256;

/** Presets on PostgreSQL. Same contract as src/repos/sqlite/presets.ts, its row cache kept against `mark`. */
export function pgPresetsRepo(db: PgDb, mark: ChangeMark): PresetsRepo {
  const byNameStmt = db
    .select()
    .from(presets)
    .where(eq(presets.name, sql.placeholder('name')))
    .prepare('presets_by_name');
  const known = new Map<string, { found: Promise<PresetRow>; row: PresetRow; mark: string }>();
  const none = Promise.resolve(undefined);

  return {
    byName(name) {
      const now = mark();
      const entry = known.get(name);
      if (entry?.mark === now) return entry.found;
      return (async () => {
        const [row] = await byNameStmt.execute({ name });
        // A write while it was read: answer it, but trust it for no later call.
        const settled = mark() === now;
        if (!row) {
          if (settled) known.delete(name);
          return none;
        }
        const current = known.get(name);
        if (current?.row.options === row.options) {
          if (settled) current.mark = now;
          return current.found;
        }
        const frozen = Object.freeze(row);
        const found = Promise.resolve(frozen);
        if (settled) {
          if (known.size >= PRESET_ROWS_MAX) known.clear();
          known.set(name, { found, row: frozen, mark: now });
        }
        return found;
      })();
    },
    async list() {
      return db.select().from(presets).orderBy(asc(presets.name));
    },
    async save(name, options, now) {
      // xmax = 0 only on a row this statement inserted: one round trip tells create from replace, even between nodes.
      const [saved] = await db
        .insert(presets)
        .values({ name, options, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: presets.name, set: { options, updatedAt: now } })
        .returning({
          name: presets.name,
          options: presets.options,
          createdAt: presets.createdAt,
          updatedAt: presets.updatedAt,
          created: sql<boolean>`(xmax = 0)`,
        });
      const { created, ...row } = saved!;
      return { row, created };
    },
    async delete(name) {
      const rows = await db.delete(presets).where(eq(presets.name, name)).returning({ name: presets.name });
      return rows.length > 0;
    },
  };
}
