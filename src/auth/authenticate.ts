import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps.js';
import { UnauthorizedError } from '../errors.js';
import { responseBytes } from '../ops/observe.js';
import { parseScopes } from './keys.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { authState, clientIp, requestScope, scopeFor } from './state.js';
import { resolveJwt } from './tokens.js';

export type AuthVariables = { principal: Principal };

/** Turns a bearer token that is not an API key into a principal (the shape of `resolveJwt`). */
export type BearerResolver = (token: string, deps: Deps) => Promise<Principal | undefined>;

export interface AuthenticateOptions {
  /**
   * Accept a session or policy token in `?token=`: only where a plain `<img src>` needs it (image
   * delivery). Elsewhere a token in the URL is refused (401 `token_in_url`): URLs end up in
   * histories, logs and Referer headers, and a session token there would hand out the account.
   */
  tokenInQuery?: boolean;
  /** Where a route carries its API key in the path (the legacy `/random-image/{key}`). */
  keyFromPath?: (path: string) => string | undefined;
}

/**
 * Resolve the caller from `X-API-Key`, `Authorization: Bearer`, `?key=` or (image delivery only)
 * `?token=`. A credential that is present but invalid is a 401: silently treating it as anonymous
 * would turn a revoked key into a confusing 404 on private images. Mounted once per route family
 * with that family's options; the first to run decides, later ones pass (the catch-all).
 */
export function authenticate(deps: Deps, opts: AuthenticateOptions = {}): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function authenticate(c, next) {
    if (c.get('principal')) return next();
    const header = c.req.header('authorization');
    const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    const queryToken = c.req.query('token');
    if (queryToken !== undefined && !opts.tokenInQuery) {
      throw new UnauthorizedError(
        'A token in the URL (?token=) is accepted on image delivery only (/img, /random); send it as Authorization: Bearer <token>',
        'token_in_url',
      );
    }
    const apiKey = opts.keyFromPath?.(c.req.path) ?? c.req.header('x-api-key') ?? c.req.query('key') ?? (bearer?.startsWith('imgp_') ? bearer : undefined);
    const token = apiKey ? undefined : (bearer ?? queryToken);
    let principal: Principal = ANONYMOUS;
    if (apiKey) {
      principal = principalForKey(deps, apiKey) ?? fail('Invalid or revoked API key', 'invalid_key');
    } else if (token) {
      principal = principalForKey(deps, token) ?? (await resolveJwt(token, deps)) ?? fail('Invalid or expired token', 'invalid_token');
    }
    c.set('principal', principal);
    // Every use of a key counts here, whichever route family it came through.
    const scope = scopeFor(principal, clientIp(c, deps.config.TRUST_PROXY));
    const usage = authState(deps).usage;
    if (scope.keyId) usage.request(scope.keyId);
    await requestScope.run(scope, next);
    if (scope.keyId && c.req.method !== 'HEAD') usage.bytes(scope.keyId, responseBytes(c.res));
  };
}

function fail(message: string, code: string): never {
  throw new UnauthorizedError(message, code);
}

export function principalForKey(deps: Deps, secret: string): Principal | undefined {
  const row = deps.keys.verify(secret);
  if (!row) return undefined;
  const scopes = parseScopes(row.scopes);
  // Only admins can mint admin-scoped keys (POST /keys checks), so the scope is the role.
  const admin = scopes.includes('admin');
  return { kind: 'key', keyId: row.id, userId: row.userId, scopes, admin, version: row.version };
}
