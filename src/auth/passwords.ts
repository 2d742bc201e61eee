import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Config } from '../config.js';
import { HashQueue } from './hash-queue.js';

/**
 * Password hashing with scrypt (memory-hard, built into node: no native add-on to build).
 * The stored form carries its parameters, `scrypt$<logN>$<r>$<p>$<salt>$<hash>`, so the profile
 * can change without invalidating existing hashes: they verify with their own parameters and are
 * re-hashed with the current ones at the next successful login.
 */

export interface ScryptParams {
  /** log2 of N, the CPU/memory cost: the table is 128 * N * r bytes. */
  logN: number;
  r: number;
  p: number;
}

const KEY_LENGTH = 32;
/** OWASP's profiles all use r = 8 and trade N (memory) against p (time). */
export const BLOCK_SIZE = 8;
/** Above this a password is surely not typed by a human, and hashing it costs CPU for nothing. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 8;

/** Memory one hash holds while it runs: the 128 * N * r table plus p blocks of 128 * r. */
export const scryptBytes = ({ logN, r, p }: ScryptParams) => 128 * r * (2 ** logN + p);

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const { logN, r, p } = params;
  // node refuses above `maxmem`, so allow what is needed (and a little more), nothing else.
  const opts: ScryptOptions = { N: 2 ** logN, r, p, maxmem: scryptBytes(params) + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LENGTH, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** One hash, outside any queue: the hasher below and tests (old-profile hashes) use it. */
export async function hashWith(password: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ['scrypt', params.logN, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** The parts of a stored hash, or undefined when it is not one we wrote (bounded, so a bad row cannot ask for gigabytes). */
export function parseStored(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  const [alg, logN, r, p, salt, hash, extra] = stored.split('$');
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  const within = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
  if (alg !== 'scrypt' || extra !== undefined || !salt || !hash || !within(params.logN, 22) || !within(params.r, 32) || !within(params.p, 64)) return undefined;
  return { params, salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') };
}

async function verifyWith(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

const BURN_SALT = Buffer.alloc(16, 0x5a);

/**
 * Every password hash and check of one app goes through here, and so through its one queue:
 * registration, login, the dummy check for unknown names, users made by admins or the CLI.
 */
export class PasswordHasher {
  constructor(
    readonly params: ScryptParams,
    readonly queue: HashQueue,
  ) {}

  hash(password: string): Promise<string> {
    return this.queue.run(() => hashWith(password, this.params));
  }

  /**
   * Check `password` against `stored`. When it matches and `stored` was made with another profile,
   * `upgraded` is a fresh hash with the current one (in the same queue slot: a successful login
   * never fails for want of a second slot), for the caller to store.
   */
  check(password: string, stored: string): Promise<{ ok: boolean; upgraded?: string }> {
    return this.queue.run(async () => {
      const ok = await verifyWith(password, stored);
      return ok && this.needsRehash(stored) ? { ok, upgraded: await hashWith(password, this.params) } : { ok };
    });
  }

  /**
   * The same work as checking a current-profile hash, for a username that does not exist, so the
   * response time does not tell an attacker which names are registered.
   */
  async burn(password: string): Promise<false> {
    await this.queue.run(() => derive(password, BURN_SALT, this.params));
    return false;
  }

  needsRehash(stored: string): boolean {
    const p = parseStored(stored)?.params;
    return !p || p.logN !== this.params.logN || p.r !== this.params.r || p.p !== this.params.p;
  }
}

export type PasswordConfig = Pick<
  Config,
  'SCRYPT_COST' | 'SCRYPT_PARALLELISM' | 'PASSWORD_HASH_CONCURRENCY' | 'PASSWORD_HASH_QUEUE' | 'PASSWORD_HASHES_PER_MIN'
>;

/** One per app (in `Deps`) and one per CLI command: the queue is what keeps hashing off the render path. */
export function createPasswordHasher(config: PasswordConfig): PasswordHasher {
  return new PasswordHasher(
    { logN: config.SCRYPT_COST, r: BLOCK_SIZE, p: config.SCRYPT_PARALLELISM },
    new HashQueue({ concurrency: config.PASSWORD_HASH_CONCURRENCY, maxQueue: config.PASSWORD_HASH_QUEUE, perMinute: config.PASSWORD_HASHES_PER_MIN }),
  );
}
