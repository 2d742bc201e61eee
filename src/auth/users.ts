import { count, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { users, type UserRow } from '../db/schema.js';
import { BadRequestError, ConflictError } from '../errors.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, burnPasswordCheck, hashPassword, verifyPassword } from './passwords.js';

/**
 * Users and their passwords. Usernames are stored lowercase so `Admin` and `admin` cannot be
 * two people (an impersonation trick in listings and logs).
 */

export const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/;
export const USERNAME_RULE = '3-32 characters: letters, digits, "_", "." or "-", starting with a letter or digit';

export type PublicUser = Pick<UserRow, 'id' | 'username' | 'role' | 'createdAt'>;

export function publicUser(u: UserRow): PublicUser {
  return { id: u.id, username: u.username, role: u.role, createdAt: u.createdAt };
}

export function normaliseUsername(raw: string): string {
  const name = raw.trim().toLowerCase();
  if (!USERNAME.test(name)) throw new BadRequestError(`Invalid username: ${USERNAME_RULE}`, { field: 'username' }, 'invalid_username');
  return name;
}

export function checkPasswordRule(password: string) {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new BadRequestError(`Password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`, { field: 'password' }, 'invalid_password');
  }
}

export class Users {
  constructor(
    private readonly db: Db,
    /** log2 of scrypt's N (SCRYPT_COST). */
    private readonly cost: number,
  ) {}

  get(id: number) {
    return this.db.select().from(users).where(eq(users.id, id)).get();
  }

  byUsername(username: string) {
    return this.db.select().from(users).where(eq(users.username, username.trim().toLowerCase())).get();
  }

  count() {
    return this.db.select({ n: count() }).from(users).get()!.n;
  }

  /**
   * Create a user. `role: 'first-is-admin'` makes the very first user an admin; the count and the
   * insert share one transaction, so two racing registrations cannot both become the first.
   */
  async create(username: string, password: string, role: 'admin' | 'user' | 'first-is-admin'): Promise<UserRow> {
    const name = normaliseUsername(username);
    checkPasswordRule(password);
    if (this.byUsername(name)) throw new ConflictError(`Username ${name} is taken`, { field: 'username' });
    const passwordHash = await hashPassword(password, this.cost);
    return this.db.transaction((tx) => {
      if (tx.select({ id: users.id }).from(users).where(eq(users.username, name)).get()) {
        throw new ConflictError(`Username ${name} is taken`, { field: 'username' });
      }
      const n = tx.select({ n: count() }).from(users).get()!.n;
      const finalRole = role === 'first-is-admin' ? (n === 0 ? 'admin' : 'user') : role;
      return tx.insert(users).values({ username: name, passwordHash, role: finalRole }).returning().get();
    });
  }

  /** The user when the password matches; undefined otherwise, with the same work either way. */
  async authenticate(username: string, password: string): Promise<UserRow | undefined> {
    if (password.length > MAX_PASSWORD_LENGTH) return undefined;
    const user = this.byUsername(username);
    if (!user) return burnPasswordCheck(password, this.cost).then(() => undefined);
    return (await verifyPassword(password, user.passwordHash)) ? user : undefined;
  }

  setPassword(id: number, passwordHash: string) {
    this.db.update(users).set({ passwordHash }).where(eq(users.id, id)).run();
  }

  setRole(id: number, role: 'admin' | 'user') {
    this.db.update(users).set({ role }).where(eq(users.id, id)).run();
  }
}
