import type { Scope } from './keys.js';

/** Claims of a policy token (a JWT minted by POST /sign) that scope what its bearer may fetch. */
export interface PolicyClaims {
  ids?: string[];
  owner?: number;
  presets?: string[];
  width?: { min?: number; max?: number };
  formats?: string[];
}

/** Who is asking. Resolved once per request by the authenticate middleware. */
export type Principal =
  | { kind: 'anonymous' }
  /** `version`: which secret of the key was presented (keyVersion), recorded in the policy tokens it mints. */
  | { kind: 'key'; keyId: string; userId: number | null; scopes: Scope[]; admin: boolean; version?: string }
  /** `expiresAt` (unix seconds): the end of the session token that named this user, if one did. */
  | { kind: 'user'; userId: number; admin: boolean; expiresAt?: number }
  | { kind: 'policy'; policy: PolicyClaims; expiresAt: number };

/** Who minted a policy token: the key (and the version of its secret) or the user whose credential asked POST /sign. */
export type TokenIssuer = { kind: 'key'; keyId: string; version: string } | { kind: 'user'; userId: number };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export function isAdmin(p: Principal) {
  return (p.kind === 'key' || p.kind === 'user') && p.admin;
}

export function hasScope(p: Principal, scope: Scope) {
  if (p.kind === 'user') return true; // a logged-in user acts with their own rights
  if (p.kind !== 'key') return false;
  return p.scopes.includes(scope) || p.scopes.includes('admin');
}

/** The user id a principal acts as (null for system keys without an owner). */
/** Unix seconds after which the credential that authorised `p` stops working, if it ever does (tokens; keys do not expire). */
export function credentialExpiry(p: Principal): number | undefined {
  return p.kind === 'policy' || p.kind === 'user' ? p.expiresAt : undefined;
}

export function actingUserId(p: Principal): number | null {
  if (p.kind === 'key') return p.userId;
  if (p.kind === 'user') return p.userId;
  return null;
}
