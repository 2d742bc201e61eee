import type { Context } from 'hono';
import type { Env } from '../http.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Principal } from './principal.js';

export type Caller = Exclude<Principal, { kind: 'anonymous' | 'policy' }>;

/**
 * A logged-in user or an API key. Policy tokens only scope delivery; they never manage anything.
 * `scope` (for keys): the scope the key needs, `admin` always sufficing.
 */
export function requireCaller(c: Context<Env>, scope?: 'deliver' | 'upload' | 'admin'): Caller {
  const p = c.get('principal');
  if (p.kind === 'anonymous') throw new UnauthorizedError('Log in (Authorization: Bearer <session token>) or present an API key');
  if (p.kind === 'policy') throw new ForbiddenError('A policy token only grants image delivery', 'policy_token_not_allowed');
  if (p.kind === 'key' && scope && !p.scopes.includes(scope) && !p.scopes.includes('admin')) {
    throw new ForbiddenError(`This API key lacks the "${scope}" scope`, 'missing_scope', { scope });
  }
  return p;
}
