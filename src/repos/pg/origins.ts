import { eq, sql } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/client.js';
import { images, originImages } from '../../db/pg/schema.js';
import type { OriginsRepo } from '../origins.js';

/** Remote originals' sources on PostgreSQL. Same contract as src/repos/sqlite/origins.ts. */
export function pgOriginsRepo(db: PgDb): OriginsRepo {
  const sourceById = db
    .select()
    .from(originImages)
    .where(eq(originImages.imageId, sql.placeholder('id')))
    .prepare('origin_images_by_id');
  return {
    async sourceOf(imageId) {
      return (await sourceById.execute({ id: imageId }))[0];
    },
    async touch(imageId, set) {
      if (Object.keys(set).length) await db.update(originImages).set(set).where(eq(originImages.imageId, imageId));
    },
    async store(image, source) {
      const { id, visibility, filename, ...described } = image;
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(images)
          .values({ id, ownerId: null, ...described, visibility, filename })
          .onConflictDoUpdate({ target: images.id, set: described })
          .returning();
        await tx.insert(originImages).values(source).onConflictDoUpdate({ target: originImages.imageId, set: source });
        return row!;
      });
    },
  };
}
