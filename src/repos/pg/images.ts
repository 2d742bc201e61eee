import { and, count, desc, eq, exists, inArray, isNull, ne, or, type SQL, sql } from 'drizzle-orm';
import type { ChangeMark } from '../../db/changes.js';
import type { PgDb } from '../../db/pg/client.js';
import { imageAliases, images, imageTags, retiredPublicIds, variants } from '../../db/pg/schema.js';
import type { ImageRow } from '../../db/schema.js';
import { IMAGE_ID } from '../../spec/public-id.js';
import type { ImageChanges, ImagePageQuery, ImagesRepo, PoolRow } from '../images.js';

/** Rows remembered between changes to the database; the bound is a backstop (cleared when full). */
const IMAGE_ROWS_MAX = 10_000;

type Tx = Parameters<Parameters<PgDb['transaction']>[0]>[0];
type Q = PgDb | Tx;

/**
 * The images aggregate on PostgreSQL. Same contract as src/repos/sqlite/images.ts; `find` keeps
 * its row cache against `mark` (./changes.ts: this node's writes and the cluster's notifications);
 * `foreignWrites` is ./changes.ts's `foreignImageWrites`.
 */
export function pgImagesRepo(db: PgDb, mark: ChangeMark, foreignWrites: ChangeMark): ImagesRepo {
  const byIdStmt = db
    .select()
    .from(images)
    .where(eq(images.id, sql.placeholder('id')))
    .prepare('images_by_id');
  const byPublicIdStmt = db
    .select()
    .from(images)
    .where(eq(images.publicId, sql.placeholder('id')))
    .prepare('images_by_public_id');
  // The random pool's load walks the primary key: a keyset on it needs no sort.
  const poolPageStmt = db
    .select({
      id: images.id,
      ownerId: images.ownerId,
      visibility: images.visibility,
      collection: images.collection,
      orientation: images.orientation,
      width: images.width,
      height: images.height,
      tags: images.tags,
    })
    .from(images)
    .where(sql`${images.id} > ${sql.placeholder('after')}`)
    .orderBy(images.id)
    .limit(sql.placeholder('limit'))
    .prepare('images_pool_page');
  const rows = new Map<string, Promise<ImageRow>>();
  let seen = '';
  const one = async (p: Promise<ImageRow[]>) => (await p)[0];

  return {
    find(id) {
      const now = mark();
      if (now !== seen) {
        rows.clear();
        seen = now;
      }
      const known = rows.get(id);
      if (known) return known;
      return (async () => {
        let row = IMAGE_ID.test(id) ? await one(byIdStmt.execute({ id })) : undefined;
        row ??= await one(byPublicIdStmt.execute({ id }));
        if (!row) return undefined;
        const frozen = Object.freeze(row);
        // Remembered only when nothing changed while it was read: otherwise it may already be stale.
        if (mark() === now && seen === now) {
          if (rows.size >= IMAGE_ROWS_MAX) rows.clear();
          rows.set(id, Promise.resolve(frozen));
        }
        return frozen;
      })();
    },
    async byId(id) {
      return one(byIdStmt.execute({ id }));
    },
    async byIds(ids) {
      if (ids.length === 0) return [];
      return db.select().from(images).where(inArray(images.id, ids));
    },
    async byPublicId(publicId) {
      return one(byPublicIdStmt.execute({ id: publicId }));
    },
    async renamed(publicId) {
      const [row] = await db
        .select({ image: images })
        .from(imageAliases)
        .innerJoin(images, eq(images.id, imageAliases.imageId))
        .where(eq(imageAliases.publicId, publicId));
      return row?.image;
    },
    async page(q: ImagePageQuery) {
      const filters: SQL[] = [];
      if (q.ownerId !== undefined) filters.push(eq(images.ownerId, q.ownerId));
      if (q.collection !== undefined) filters.push(eq(images.collection, q.collection));
      if (q.visibility !== undefined) filters.push(eq(images.visibility, q.visibility));
      if (q.orientation !== undefined) filters.push(eq(images.orientation, q.orientation));
      const pageFilters = [...filters];
      if (q.tag !== undefined) {
        const tag = q.tag;
        pageFilters.push(
          exists(
            db
              .select({ one: sql`1` })
              .from(imageTags)
              .where(and(eq(imageTags.imageId, images.id), eq(imageTags.tag, tag))),
          ),
        );
      }
      const [total] = await db
        .select({ n: count() })
        .from(images)
        .where(and(...pageFilters));
      const after = q.after;
      if (after) pageFilters.push(sql`(${images.createdAt}, ${images.id}) < (${after.createdAt}, ${after.id})`);
      const page = await db
        .select()
        .from(images)
        .where(and(...pageFilters))
        .orderBy(desc(images.createdAt), desc(images.id))
        .limit(q.limit)
        .offset(after ? 0 : q.offset);
      return { rows: page, total: total?.n ?? 0 };
    },
    async update(id, changes: ImageChanges) {
      const set: Partial<ImageRow> = {};
      if (changes.tags !== undefined) set.tags = JSON.stringify(changes.tags);
      if (changes.collection !== undefined) set.collection = changes.collection;
      if (changes.visibility !== undefined) set.visibility = changes.visibility;
      if (changes.focalX !== undefined) set.focalX = changes.focalX;
      if (changes.focalY !== undefined) set.focalY = changes.focalY;
      const tags = changes.tags;
      return db.transaction(async (tx) => {
        const [row] = Object.keys(set).length
          ? await tx.update(images).set(set).where(eq(images.id, id)).returning()
          : await tx.select().from(images).where(eq(images.id, id)).for('update');
        if (row && tags !== undefined) {
          await tx.delete(imageTags).where(eq(imageTags.imageId, id));
          if (tags.length) await tx.insert(imageTags).values(tags.map((tag) => ({ imageId: id, tag })));
        }
        return row;
      });
    },
    async delete(image) {
      const hashStillUsed = await db.transaction(async (tx) => {
        await retireNames(tx, image);
        await tx.delete(images).where(eq(images.id, image.id));
        const [other] = await tx.select({ id: images.id }).from(images).where(eq(images.hash, image.hash)).limit(1);
        return other !== undefined;
      });
      return { hashStillUsed };
    },
    async hashInUse(hash) {
      const [row] = await db.select({ id: images.id }).from(images).where(eq(images.hash, hash)).limit(1);
      return row !== undefined;
    },
    async recordVariant(v) {
      const { imageId, options, format, width, height, bytes } = v;
      return db.transaction(async (tx) => {
        // Locked: a delete on another node waits for this, or this sees the image gone.
        const [image] = await tx.select({ id: images.id }).from(images).where(eq(images.id, imageId)).for('share');
        if (!image) return false;
        await tx
          .insert(variants)
          .values({ imageId, options, format, width, height, bytes })
          .onConflictDoUpdate({ target: [variants.imageId, variants.options, variants.format], set: { width, height, bytes } });
        return true;
      });
    },
    async variantsOf(imageIds) {
      if (imageIds.length === 0) return [];
      return db.select().from(variants).where(inArray(variants.imageId, imageIds)).orderBy(desc(variants.createdAt), desc(variants.id));
    },
    async byHash(ownerId, hash) {
      return byHash(db, ownerId, hash);
    },
    async nameTaken(publicId, imageId) {
      return nameTaken(db, publicId, imageId);
    },
    async rename(image, next) {
      return db.transaction((tx) => rename(tx, image, next));
    },
    async insert(row, tags) {
      return db.transaction(async (tx) => {
        const existing = await byHash(tx, row.ownerId, row.hash);
        if (existing) return { existing };
        if (row.publicId !== null && (await nameTaken(tx, row.publicId))) return { taken: true as const };
        const [inserted] = await tx.insert(images).values(row).returning();
        if (tags.length) await tx.insert(imageTags).values(tags.map((tag) => ({ imageId: inserted!.id, tag })));
        return { inserted: inserted! };
      });
    },
    async count() {
      const [row] = await db.select({ n: count() }).from(images);
      return row?.n ?? 0;
    },
    async showcase() {
      const [best] = await db
        .select()
        .from(images)
        .where(and(eq(images.visibility, 'public'), eq(images.orientation, 'landscape'), eq(images.format, 'jpeg')))
        .orderBy(desc(images.bytes))
        .limit(1);
      return best ?? (await db.select().from(images).limit(1))[0];
    },
    async isRetired(publicId) {
      const [row] = await db.select({ publicId: retiredPublicIds.publicId }).from(retiredPublicIds).where(eq(retiredPublicIds.publicId, publicId));
      return row !== undefined;
    },
    async poolPage(after, limit) {
      // Every id is longer than '': the first page starts below all of them.
      const found: PoolRow[] = await poolPageStmt.execute({ after: after ?? '', limit });
      return { rows: found, next: found.length < limit ? undefined : found[found.length - 1]!.id };
    },
    foreignWrites,
  };
}

/** Inside the delete's transaction: every name the image answered to is retired for good (see the SQLite twin). */
async function retireNames(tx: Q, image: Pick<ImageRow, 'id' | 'publicId'>) {
  const old = (await tx.select({ publicId: imageAliases.publicId }).from(imageAliases).where(eq(imageAliases.imageId, image.id))).map((a) => a.publicId);
  const names = [...(image.publicId ? [image.publicId] : []), ...old];
  if (names.length > 0)
    await tx
      .insert(retiredPublicIds)
      .values(names.map((publicId) => ({ publicId })))
      .onConflictDoNothing();
}

async function byHash(db: Q, ownerId: number | null, hash: string) {
  const [row] = await db
    .select()
    .from(images)
    .where(and(eq(images.hash, hash), ownerId === null ? isNull(images.ownerId) : eq(images.ownerId, ownerId)));
  return row;
}

/** A name is taken by another image's public id or random id, another image's alias, or retirement. */
async function nameTaken(db: Q, publicId: string, imageId?: string) {
  const other = imageId === undefined ? undefined : ne(images.id, imageId);
  const [image] = await db
    .select({ id: images.id })
    .from(images)
    .where(and(or(eq(images.publicId, publicId), eq(images.id, publicId)), other))
    .limit(1);
  const [alias] = await db.select({ imageId: imageAliases.imageId }).from(imageAliases).where(eq(imageAliases.publicId, publicId));
  const [retired] = await db.select({ publicId: retiredPublicIds.publicId }).from(retiredPublicIds).where(eq(retiredPublicIds.publicId, publicId));
  return Boolean(image || retired || (alias && alias.imageId !== imageId));
}

/** Inside a transaction: undefined when `next` is taken. */
async function rename(tx: Tx, image: ImageRow, next: string | null): Promise<ImageRow | undefined> {
  if (next === image.publicId) return image;
  if (next !== null) {
    if (await nameTaken(tx, next, image.id)) return undefined;
    await tx.delete(imageAliases).where(and(eq(imageAliases.publicId, next), eq(imageAliases.imageId, image.id)));
  }
  if (image.publicId !== null) await tx.insert(imageAliases).values({ publicId: image.publicId, imageId: image.id });
  const [row] = await tx.update(images).set({ publicId: next }).where(eq(images.id, image.id)).returning();
  return row;
}
