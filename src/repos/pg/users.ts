import { asc, count, eq, sql } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/client.js';
import { users } from '../../db/pg/schema.js';
import type { UsersRepo } from '../users.js';

/** Users on PostgreSQL. Same contract as src/repos/sqlite/users.ts. */
export function pgUsersRepo(db: PgDb): UsersRepo {
  // A session is checked against its user on every request: a named statement, parsed once per connection.
  const byId = db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare('users_by_id');
  return {
    byId: async (id) => (await byId.execute({ id }))[0],
    byUsername: async (username) => (await db.select().from(users).where(eq(users.username, username)))[0],
    count: async () => (await db.select({ n: count() }).from(users))[0]!.n,
    list: () => db.select().from(users).orderBy(asc(users.id)),
    async insertUnlessTaken(user) {
      // The unique index decides between two nodes registering one name at once.
      const [row] = await db.insert(users).values(user).onConflictDoNothing({ target: users.username }).returning();
      return row;
    },
    async setPasswordHash(id, passwordHash) {
      await db.update(users).set({ passwordHash }).where(eq(users.id, id));
    },
    async setRole(id, role) {
      await db.update(users).set({ role }).where(eq(users.id, id));
    },
  };
}
