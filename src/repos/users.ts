import type { UserRow } from '../db/schema.js';

/** Users and their password hashes (src/auth/users.ts holds the rules; this, the storage). */
export interface UsersRepo {
  byId(id: number): Promise<UserRow | undefined>;
  /** `username` as stored: lowercase (src/auth/users.ts normalises it). */
  byUsername(username: string): Promise<UserRow | undefined>;
  count(): Promise<number>;
  /** Every user, oldest first (`imgpath users list`). */
  list(): Promise<UserRow[]>;
  /** Inserts the user unless the name is taken, checked in the same transaction; undefined when taken. */
  insertUnlessTaken(user: { username: string; passwordHash: string; role: 'admin' | 'user' }): Promise<UserRow | undefined>;
  setPasswordHash(id: number, passwordHash: string): Promise<void>;
  setRole(id: number, role: 'admin' | 'user'): Promise<void>;
}
