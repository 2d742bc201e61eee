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
  | { kind: 'key'; keyId: string; userId: number | null; scopes: Scope[]; admin: boolean }
  | { kind: 'user'; userId: number; admin: boolean }
  | { kind: 'policy'; policy: PolicyClaims };

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
export function actingUserId(p: Principal): number | null {
  if (p.kind === 'key') return p.userId;
  if (p.kind === 'user') return p.userId;
  return null;
}
