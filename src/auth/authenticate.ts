import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps.js';
import { responseBytes } from '../responses.js';
import { type CredentialSources, presentedCredential, resolveCredential } from './credentials.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { clientIp, type RequestScope, scopeFor } from './state.js';

/** `scope`: who the request is charged to (rate limits, key usage), set with the principal. */
export type AuthVariables = { principal: Principal; scope: RequestScope };

export type AuthenticateOptions = CredentialSources;

/**
 * Resolve the caller (src/auth/credentials.ts says from what, and how) and charge the request to
 * them. Mounted once per route family with that family's sources; the first to run decides, later
 * ones pass (the catch-all).
 */
export function authenticate(deps: Deps, opts: AuthenticateOptions = {}): MiddlewareHandler<{ Variables: AuthVariables }> {
  const usage = deps.auth.usage;
  return async function authenticate(c, next) {
    if (c.get('principal')) return next();
    const credential = presentedCredential(c.req, opts);
    let principal = credential ? resolveCredential(deps, credential) : ANONYMOUS;
    if (principal instanceof Promise) principal = await principal;
    c.set('principal', principal);
    // Every use of a key counts here, whichever route family it came through.
    const scope = scopeFor(principal, clientIp(c, deps.config.TRUST_PROXY));
    c.set('scope', scope);
    if (scope.keyId) usage.request(scope.keyId);
    await next();
    if (scope.keyId && c.req.method !== 'HEAD') usage.bytes(scope.keyId, responseBytes(c.res));
  };
}
