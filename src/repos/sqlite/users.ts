import { asc, count, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { users } from '../../db/schema.js';
import type { UsersRepo } from '../users.js';

export function sqliteUsersRepo(db: Db): UsersRepo {
  // A session is checked against its user on every request: prepared once.
  const byId = db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare();
  const byUsername = db
    .select()
    .from(users)
    .where(eq(users.username, sql.placeholder('username')))
    .prepare();
  return {
    byId: async (id) => byId.get({ id }),
    byUsername: async (username) => byUsername.get({ username }),
    count: async () => db.select({ n: count() }).from(users).get()!.n,
    list: async () => db.select().from(users).orderBy(asc(users.id)).all(),
    async insertUnlessTaken(user) {
      return db.transaction((tx) => {
        if (tx.select({ id: users.id }).from(users).where(eq(users.username, user.username)).get()) return undefined;
        return tx.insert(users).values(user).returning().get();
      });
    },
    async setPasswordHash(id, passwordHash) {
      db.update(users).set({ passwordHash }).where(eq(users.id, id)).run();
    },
    async setRole(id, role) {
      db.update(users).set({ role }).where(eq(users.id, id)).run();
    },
  };
}
