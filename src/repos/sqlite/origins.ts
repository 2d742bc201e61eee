import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { images, originImages } from '../../db/schema.js';
import type { OriginsRepo } from '../origins.js';

export function sqliteOriginsRepo(db: Db): OriginsRepo {
  // Prepared once: every request for a remote original past its first fetch reads it.
  const sourceById = db
    .select()
    .from(originImages)
    .where(eq(originImages.imageId, sql.placeholder('id')))
    .prepare();
  return {
    async sourceOf(imageId) {
      return sourceById.get({ id: imageId });
    },
    async touch(imageId, set) {
      db.update(originImages).set(set).where(eq(originImages.imageId, imageId)).run();
    },
    async store(image, source) {
      const { id, visibility, filename, ...described } = image;
      return db.transaction((tx) => {
        const row = tx
          .insert(images)
          .values({ id, ownerId: null, ...described, visibility, filename })
          .onConflictDoUpdate({ target: images.id, set: described })
          .returning()
          .get();
        tx.insert(originImages).values(source).onConflictDoUpdate({ target: originImages.imageId, set: source }).run();
        return row;
      });
    },
  };
}
