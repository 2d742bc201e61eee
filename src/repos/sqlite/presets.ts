import { asc, eq, sql } from 'drizzle-orm';
import { changeMark } from '../../db/changes.js';
import type { Db } from '../../db/client.js';
import { presets } from '../../db/schema.js';
import type { PresetRow, PresetsRepo } from '../presets.js';

/** Presets are an admin-made handful (unknown names are never stored); the bound is a backstop. */
const PRESET_ROWS_MAX = 256;

export function sqlitePresetsRepo(db: Db): PresetsRepo {
  const byNameStmt = db
    .select()
    .from(presets)
    .where(eq(presets.name, sql.placeholder('name')))
    .prepare();
  /**
   * Rows by name, each with the change mark it was read under: while the mark stays put the row is
   * current without a read. A row re-read with the same options keeps its object (and whatever
   * callers memoised on it); an edit from any process is seen on the next request.
   */
  const known = new Map<string, { found: Promise<PresetRow>; row: PresetRow; mark: string }>();
  const mark = changeMark(db);
  const none = Promise.resolve(undefined);

  return {
    byName(name) {
      const now = mark();
      const entry = known.get(name);
      if (entry?.mark === now) return entry.found;
      const row = byNameStmt.get({ name });
      if (!row) {
        known.delete(name);
        return none;
      }
      // Checked against the row's own options rather than updated_at (second resolution: two edits within a second would look alike).
      if (entry?.row.options === row.options) {
        entry.mark = now;
        return entry.found;
      }
      if (known.size >= PRESET_ROWS_MAX) known.clear();
      const frozen = Object.freeze(row);
      const found = Promise.resolve(frozen);
      known.set(name, { found, row: frozen, mark: now });
      return found;
    },

    async list() {
      return db.select().from(presets).orderBy(asc(presets.name)).all();
    },

    async save(name, options, now) {
      const existing = byNameStmt.get({ name });
      const row = db
        .insert(presets)
        .values({ name, options, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: presets.name, set: { options, updatedAt: now } })
        .returning()
        .get();
      return { row, created: !existing };
    },

    async delete(name) {
      return db.delete(presets).where(eq(presets.name, name)).run().changes > 0;
    },
  };
}
