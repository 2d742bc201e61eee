import type { UserRow } from '../db/schema.js';
import { BadRequestError, ConflictError } from '../errors.js';
import type { UsersRepo } from '../repos/users.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, type PasswordHasher } from './passwords.js';

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
    private readonly repo: UsersRepo,
    /** The app's one hashing queue (`deps.passwords`): every hash and check below goes through it. */
    private readonly passwords: PasswordHasher,
  ) {}

  get(id: number): Promise<UserRow | undefined> {
    return this.repo.byId(id);
  }

  byUsername(username: string): Promise<UserRow | undefined> {
    return this.repo.byUsername(username.trim().toLowerCase());
  }

  count(): Promise<number> {
    return this.repo.count();
  }

  /**
   * Create a user with exactly `role`. No role is ever inferred (such as "the first user is
   * admin"): admins are made by an admin credential or the CLI, never by being first to arrive.
   */
  async create(username: string, password: string, role: 'admin' | 'user'): Promise<UserRow> {
    const name = normaliseUsername(username);
    checkPasswordRule(password);
    // Checked before hashing too, so a taken name costs no scrypt; again after, in case of a race.
    if (await this.repo.byUsername(name)) throw new ConflictError(`Username ${name} is taken`, { field: 'username' });
    const passwordHash = await this.passwords.hash(password);
    const user = await this.repo.insertUnlessTaken({ username: name, passwordHash, role });
    if (!user) throw new ConflictError(`Username ${name} is taken`, { field: 'username' });
    return user;
  }

  /** The user when the password matches; undefined otherwise, with the same work either way. */
  async authenticate(username: string, password: string): Promise<UserRow | undefined> {
    if (password.length > MAX_PASSWORD_LENGTH) return undefined;
    const user = await this.byUsername(username);
    if (!user) return this.passwords.burn(password).then(() => undefined);
    const { ok, upgraded } = await this.passwords.check(password, user.passwordHash);
    if (!ok) return undefined;
    // Made with an older profile (e.g. the 128 MiB N=2^17 default): store it with the current one.
    if (upgraded) await this.repo.setPasswordHash(user.id, upgraded);
    return user;
  }

  async setPassword(id: number, password: string) {
    checkPasswordRule(password);
    const passwordHash = await this.passwords.hash(password);
    await this.repo.setPasswordHash(id, passwordHash);
  }

  setRole(id: number, role: 'admin' | 'user'): Promise<void> {
    return this.repo.setRole(id, role);
  }
}
