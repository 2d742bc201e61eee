import { asc, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { renditions } from '../../db/schema.js';
import type { RenditionEntry, RenditionsRepo } from '../renditions.js';

export function sqliteRenditionsRepo(db: Db): RenditionsRepo {
  const client = db.$client;
  // Prepared once: byKey runs on every disk-tier hit.
  const byKey = db
    .select()
    .from(renditions)
    .where(eq(renditions.key, sql.placeholder('key')))
    .prepare();
  const totals = db
    .select({ n: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${renditions.bytes}), 0)` })
    .from(renditions)
    .prepare();
  const leastRecent = db
    .select({ key: renditions.key, format: renditions.format, bytes: renditions.bytes })
    .from(renditions)
    .orderBy(asc(renditions.lastAccess))
    .limit(sql.placeholder('limit'))
    .prepare();
  const idleBefore = db
    .select()
    .from(renditions)
    .where(lt(renditions.lastAccess, sql.placeholder('before')))
    .prepare();
  const all = db.select().from(renditions).prepare();
  const imageId = sql.placeholder('imageId');
  // instr() narrows the watermark users without LIKE's `_` wildcard; the caller checks the exact token.
  const byImage = db
    .select()
    .from(renditions)
    .where(or(eq(renditions.imageId, imageId), sql`instr(${renditions.options}, 'wm_' || ${imageId}) > 0`))
    .prepare();
  const byPreset = db
    .select()
    .from(renditions)
    .where(eq(renditions.preset, sql.placeholder('preset')))
    .prepare();
  const countOf = db
    .select({ n: sql<number>`count(*)` })
    .from(renditions)
    .where(eq(renditions.imageId, sql.placeholder('imageId')))
    .prepare();
  const formats = db
    .select({ format: renditions.format, entries: sql<number>`count(*)`, bytes: sql<number>`sum(${renditions.bytes})` })
    .from(renditions)
    .groupBy(renditions.format)
    .prepare();
  const span = db
    .select({
      images: sql<number>`count(distinct ${renditions.imageId})`,
      oldest: sql<number | null>`min(${renditions.lastAccess})`,
      newest: sql<number | null>`max(${renditions.lastAccess})`,
    })
    .from(renditions)
    .prepare();
  const upsert = client.prepare(
    `INSERT INTO renditions (key, image_id, options, preset, format, width, height, bytes, last_access)
     VALUES (@key, @imageId, @options, @preset, @format, @width, @height, @bytes, @lastAccess)
     ON CONFLICT (key) DO UPDATE SET image_id = excluded.image_id, options = excluded.options, preset = excluded.preset,
       format = excluded.format, width = excluded.width, height = excluded.height, bytes = excluded.bytes, last_access = excluded.last_access`,
  );
  const del = client.prepare('DELETE FROM renditions WHERE key = ?');
  const touch = client.prepare('UPDATE renditions SET last_access = ? WHERE key = ?');
  const replace = client.transaction((entry: RenditionEntry) => {
    const old = byKey.get({ key: entry.key });
    upsert.run(entry);
    return old && { format: old.format, bytes: old.bytes };
  });
  const removeAll = client.transaction((keys: readonly string[]) => keys.filter((key) => del.run(key).changes > 0));
  const touchAll = client.transaction((reads: ReadonlyArray<readonly [string, number]>) => {
    for (const [key, at] of reads) touch.run(at, key);
  });

  return {
    async byKey(key) {
      return byKey.get({ key });
    },
    async put(entry) {
      return replace(entry);
    },
    async totals() {
      const row = totals.get();
      return { entries: row?.n ?? 0, bytes: row?.bytes ?? 0 };
    },
    async leastRecent(limit) {
      return leastRecent.all({ limit });
    },
    async remove(keys) {
      return keys.length ? removeAll(keys) : [];
    },
    async touch(reads) {
      if (reads.length) touchAll(reads);
    },
    async idleBefore(before) {
      return idleBefore.all({ before });
    },
    async all() {
      return all.all();
    },
    async byImage(id) {
      return byImage.all({ imageId: id });
    },
    async byPreset(preset) {
      return byPreset.all({ preset });
    },
    async countOf(imageId) {
      return countOf.get({ imageId })?.n ?? 0;
    },
    async report() {
      const s = span.get();
      return { byFormat: formats.all(), images: s?.images ?? 0, oldestAccess: s?.oldest ?? null, newestAccess: s?.newest ?? null };
    },
  };
}
