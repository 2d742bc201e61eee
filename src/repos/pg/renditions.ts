import { asc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/client.js';
import { renditions } from '../../db/pg/schema.js';
import type { RenditionEntry, RenditionsRepo } from '../renditions.js';

/**
 * The rendition index on PostgreSQL: the shared tier's (RENDITIONS_STORE=s3), read by every node.
 * Same contract as src/repos/sqlite/renditions.ts (test/repos/contract.ts).
 */
export function pgRenditionsRepo(db: PgDb): RenditionsRepo {
  // Named statements: parsed once per pooled connection, as SQLite's are once per process.
  const byKey = db
    .select()
    .from(renditions)
    .where(eq(renditions.key, sql.placeholder('key')))
    .prepare('renditions_by_key');
  const imageId = sql.placeholder('imageId');
  // strpos() narrows the watermark users without LIKE's `_` wildcard; the caller checks the exact token.
  const byImage = db
    .select()
    .from(renditions)
    .where(or(eq(renditions.imageId, imageId), sql`strpos(${renditions.options}, 'wm_' || ${imageId}) > 0`))
    .prepare('renditions_by_image');
  const cols = (e: RenditionEntry) => ({ ...e, preset: e.preset ?? null });

  return {
    async byKey(key) {
      return (await byKey.execute({ key }))[0];
    },
    async put(entry) {
      return db.transaction(async (tx) => {
        // Locks the row (or, for a new key, nothing: the insert below conflicts instead) so two nodes
        // replacing one key each see the other's bytes as the old ones.
        const [old] = await tx
          .select({ format: renditions.format, bytes: renditions.bytes })
          .from(renditions)
          .where(eq(renditions.key, entry.key))
          .for('update');
        const row = cols(entry);
        await tx.insert(renditions).values(row).onConflictDoUpdate({ target: renditions.key, set: row });
        return old;
      });
    },
    async totals() {
      const [row] = await db.select({ n: sql<number>`count(*)::integer`, bytes: sql<number>`coalesce(sum(${renditions.bytes}), 0)::bigint` }).from(renditions);
      return { entries: Number(row?.n ?? 0), bytes: Number(row?.bytes ?? 0) };
    },
    async leastRecent(limit) {
      return db
        .select({ key: renditions.key, format: renditions.format, bytes: renditions.bytes })
        .from(renditions)
        .orderBy(asc(renditions.lastAccess))
        .limit(limit);
    },
    async remove(keys) {
      if (!keys.length) return [];
      const gone = await db
        .delete(renditions)
        .where(inArray(renditions.key, [...keys]))
        .returning({ key: renditions.key });
      const removed = new Set(gone.map((r) => r.key));
      return keys.filter((k) => removed.has(k));
    },
    async touch(reads) {
      if (!reads.length) return;
      // One statement for the batch: unnest pairs the keys with their read times (arrays as two
      // parameters, which drizzle's sql template would spread into lists).
      await db.$client.query('UPDATE renditions SET last_access = v.at FROM unnest($1::text[], $2::bigint[]) AS v(key, at) WHERE renditions.key = v.key', [
        reads.map((r) => r[0]),
        reads.map((r) => r[1]),
      ]);
    },
    async idleBefore(before) {
      return db.select().from(renditions).where(lt(renditions.lastAccess, before));
    },
    async all() {
      return db.select().from(renditions);
    },
    async byImage(id) {
      return byImage.execute({ imageId: id });
    },
    async byPreset(preset) {
      return db.select().from(renditions).where(eq(renditions.preset, preset));
    },
    async countOf(imageId) {
      const [row] = await db.select({ n: sql<number>`count(*)::integer` }).from(renditions).where(eq(renditions.imageId, imageId));
      return Number(row?.n ?? 0);
    },
    async report() {
      const byFormat = await db
        .select({ format: renditions.format, entries: sql<number>`count(*)::integer`, bytes: sql<number>`sum(${renditions.bytes})::bigint` })
        .from(renditions)
        .groupBy(renditions.format);
      const [s] = await db
        .select({
          images: sql<number>`count(distinct ${renditions.imageId})::integer`,
          oldest: sql<number | null>`min(${renditions.lastAccess})`,
          newest: sql<number | null>`max(${renditions.lastAccess})`,
        })
        .from(renditions);
      const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      return {
        byFormat: byFormat.map((f) => ({ format: f.format, entries: Number(f.entries), bytes: Number(f.bytes) })),
        images: Number(s?.images ?? 0),
        oldestAccess: num(s?.oldest),
        newestAccess: num(s?.newest),
      };
    },
  };
}
