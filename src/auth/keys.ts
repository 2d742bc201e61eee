import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys, type ApiKeyRow } from '../db/schema.js';

export const SCOPES = ['deliver', 'upload', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** `imgp_` + 32 base62-ish characters (192 bits). The prefix makes leaked keys easy to grep for. */
export function generateKeySecret() {
  return `imgp_${randomBytes(24).toString('base64url')}`;
}

export function hashKey(secret: string) {
  return createHash('sha256').update(secret).digest('hex');
}

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  scopes: Scope[];
  name: string;
}

export function parseScopes(raw: string): Scope[] {
  return raw.split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}

/** A key is only ever returned in clear by create and rotate; the DB holds its hash. */
export class ApiKeys {
  /** Runs on every keyed request: prepared once, so the SQL is not rebuilt per request. */
  private readonly liveByHash;

  constructor(private readonly db: Db) {
    this.liveByHash = db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.hash, sql.placeholder('hash')), isNull(apiKeys.revokedAt)))
      .prepare();
  }

  create(opts: { userId?: number | null; name?: string; scopes: Scope[]; id?: string; secret?: string }): CreatedKey {
    const key = opts.secret ?? generateKeySecret();
    const id = opts.id ?? `key_${randomBytes(6).toString('hex')}`;
    const prefix = key.slice(0, 12);
    this.db
      .insert(apiKeys)
      .values({ id, userId: opts.userId ?? null, name: opts.name ?? '', prefix, hash: hashKey(key), scopes: opts.scopes.join(',') })
      .run();
    return { id, key, prefix, scopes: opts.scopes, name: opts.name ?? '' };
  }

  /** The live (not revoked) key row for a presented secret, if any. */
  verify(secret: string): ApiKeyRow | undefined {
    if (secret.length < 16 || secret.length > 256) return undefined;
    return this.liveByHash.get({ hash: hashKey(secret) });
  }

  get(id: string) {
    return this.db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  }

  list(userId?: number | null) {
    const q = this.db.select().from(apiKeys);
    return (userId === undefined ? q : q.where(userId === null ? isNull(apiKeys.userId) : eq(apiKeys.userId, userId)))
      .orderBy(desc(apiKeys.createdAt))
      .all();
  }

  revoke(id: string) {
    return this.db.update(apiKeys).set({ revokedAt: Math.floor(Date.now() / 1000) }).where(eq(apiKeys.id, id)).run().changes > 0;
  }

  /** New secret, same id and scopes; the old secret stops working at once. */
  rotate(id: string): CreatedKey | undefined {
    const row = this.get(id);
    if (!row || row.revokedAt) return undefined;
    const key = generateKeySecret();
    this.db.update(apiKeys).set({ hash: hashKey(key), prefix: key.slice(0, 12) }).where(eq(apiKeys.id, id)).run();
    return { id, key, prefix: key.slice(0, 12), scopes: parseScopes(row.scopes), name: row.name };
  }

  /** ADMIN_API_KEY: make sure a live admin key with exactly this secret exists. */
  ensureBootstrap(secret: string) {
    const hash = hashKey(secret);
    const existing = this.db.select().from(apiKeys).where(eq(apiKeys.id, 'key_bootstrap')).get();
    if (existing?.hash === hash && !existing.revokedAt) return;
    this.db.delete(apiKeys).where(eq(apiKeys.id, 'key_bootstrap')).run();
    this.create({ id: 'key_bootstrap', secret, name: 'ADMIN_API_KEY', scopes: ['admin', 'upload', 'deliver'] });
  }
}
