import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Scope } from './keys.js';
import { hasScope, isAdmin, type Principal } from './principal.js';

/** Who may use the management API: a logged-in user or an API key. */
export type Caller = Exclude<Principal, { kind: 'anonymous' | 'policy' }>;

/**
 * The caller, or 401 (nobody) / 403 (a policy token: it only scopes delivery, it never manages anything).
 * `scopes`: a key needs any one of them (`admin` always suffices); a logged-in user acts with their own rights.
 */
export function requireCaller(p: Principal, ...scopes: Scope[]): Caller {
  if (p.kind === 'anonymous') throw new UnauthorizedError('Log in (Authorization: Bearer <session token>) or present an API key');
  if (p.kind === 'policy') throw new ForbiddenError('A policy token only grants image delivery; use an API key or a login token', 'policy_token_not_allowed');
  if (scopes.length > 0 && !scopes.some((s) => hasScope(p, s))) {
    throw new ForbiddenError(`This API key lacks the "${scopes.join('" or "')}" scope`, 'missing_scope', { scope: scopes[0] });
  }
  return p;
}

export function requireAdmin(p: Principal): Caller {
  const caller = requireCaller(p);
  if (!isAdmin(caller)) throw new ForbiddenError('Only administrators may do this', 'admin_only');
  return caller;
}
