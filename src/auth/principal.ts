import type { ApiKeyRow, UserRow } from '../db/schema.js';
import { parseScopes, type Scope } from './scopes.js';
import type { SignatureReach } from './signature.js';

/** Claims of a policy token (a JWT minted by POST /sign) that scope what its bearer may fetch. */
export interface PolicyClaims {
  ids?: string[];
  owner?: number;
  presets?: string[];
  width?: { min?: number; max?: number };
  formats?: string[];
}

/**
 * Who is asking. Resolved once per request by the authenticate middleware (src/auth/credentials.ts),
 * and built only by the functions below, so every surface (HTTP, deferred tasks, the metrics scrape)
 * gives the same credential the same rights.
 */
export type Principal =
  | { kind: 'anonymous' }
  /** `version`: which secret of the key was presented (keyVersion), recorded in the policy tokens it mints. */
  | { kind: 'key'; keyId: string; userId: number | null; scopes: Scope[]; admin: boolean; version?: string }
  /** `expiresAt` (unix seconds): the end of the session token that named this user, if one did. */
  | { kind: 'user'; userId: number; admin: boolean; expiresAt?: number }
  | { kind: 'policy'; policy: PolicyClaims; expiresAt: number };

/** Who may use the management API: a logged-in user or an API key. */
export type Caller = Exclude<Principal, { kind: 'anonymous' | 'policy' }>;
/**
 * Under whose word an image is rendered: a request's principal, or one of two kinds no credential
 * produces. `signed`: a valid URL signature, the server's own earlier word on exactly this URL (the
 * caller who presented it is still who is charged); `reach: 'public'` is a public-only signature,
 * worth nothing on a private image (src/auth/signature.ts, `authorityOn`). `internal`: the server's own work (variants,
 * async tasks, the CLI), whose caller's rights were checked before it started; `for`, when set, is
 * that caller, and what the work adds of its own accord (a `wm_` image) must still be theirs to see.
 */
export type Authority = Principal | { kind: 'signed'; caller: Principal; reach: SignatureReach } | { kind: 'internal'; for?: Principal };

export const INTERNAL: Authority = { kind: 'internal' };

/** Who is asking behind an authority: the principal itself, a signed URL's presenter; none for internal work. */
export function callerOf(a: Authority): Principal | undefined {
  if (a.kind === 'signed') return a.caller;
  if (a.kind === 'internal') return a.for;
  return a;
}

/** Who minted a policy token: the key (and the version of its secret) or the user whose credential asked POST /sign. */
export type TokenIssuer = { kind: 'key'; keyId: string; version: string } | { kind: 'user'; userId: number };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

/** A live key row as its holder. Only admins can mint admin-scoped keys (POST /keys checks), so the scope is the role. */
export function keyPrincipal(row: Pick<ApiKeyRow, 'id' | 'userId' | 'scopes'>, version?: string): Extract<Principal, { kind: 'key' }> {
  const scopes = parseScopes(row.scopes);
  const p: Extract<Principal, { kind: 'key' }> = { kind: 'key', keyId: row.id, userId: row.userId, scopes, admin: scopes.includes('admin') };
  if (version !== undefined) p.version = version;
  return p;
}

/** A user as they are in the database now (a changed role counts at once). */
export function userPrincipal(row: Pick<UserRow, 'id' | 'role'>, expiresAt?: number): Extract<Principal, { kind: 'user' }> {
  const p: Extract<Principal, { kind: 'user' }> = { kind: 'user', userId: row.id, admin: row.role === 'admin' };
  if (expiresAt !== undefined) p.expiresAt = expiresAt;
  return p;
}

export function policyPrincipal(policy: PolicyClaims, expiresAt: number): Principal {
  return { kind: 'policy', policy, expiresAt };
}

export function isAdmin(p: Principal) {
  return (p.kind === 'key' || p.kind === 'user') && p.admin;
}

export function hasScope(p: Principal, scope: Scope) {
  if (p.kind === 'user') return true; // a logged-in user acts with their own rights
  if (p.kind !== 'key') return false;
  return p.scopes.includes(scope) || p.scopes.includes('admin');
}

/** Unix seconds after which the credential that authorised `p` stops working, if it ever does (tokens; keys do not expire). */
export function credentialExpiry(p: Principal): number | undefined {
  return p.kind === 'policy' || p.kind === 'user' ? p.expiresAt : undefined;
}

/** The user id a principal acts as (null for system keys without an owner). */
export function actingUserId(p: Principal): number | null {
  if (p.kind === 'key') return p.userId;
  if (p.kind === 'user') return p.userId;
  return null;
}
