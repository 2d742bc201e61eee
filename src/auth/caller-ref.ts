import type { Deps } from '../deps.js';
import { UnauthorizedError } from '../errors.js';
import { type Caller, keyPrincipal, userPrincipal } from './principal.js';

/**
 * Who asked for deferred work, by reference only. Stored instead of the caller's rights so that the
 * work runs with the rights they have when it runs: a key revoked (or a user removed) meanwhile stops it.
 */
export type CallerRef = { keyId: string } | { userId: number };

export function callerRef(p: Caller): CallerRef {
  return p.kind === 'key' ? { keyId: p.keyId } : { userId: p.userId };
}

/** The caller as they are now; 401 when the key was revoked or the user no longer exists. */
export async function resolveCallerRef(deps: Pick<Deps, 'keys' | 'auth'>, ref: CallerRef): Promise<Caller> {
  if ('keyId' in ref) {
    const key = await deps.keys.get(ref.keyId);
    if (!key || key.revokedAt !== null) throw new UnauthorizedError('The API key that asked for this was revoked', 'invalid_key');
    return keyPrincipal(key);
  }
  const user = await deps.auth.users.get(ref.userId);
  if (!user) throw new UnauthorizedError('The user who asked for this no longer exists', 'user_not_found');
  return userPrincipal(user);
}
