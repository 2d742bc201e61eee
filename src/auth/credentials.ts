import type { Deps } from '../deps.js';
import { UnauthorizedError } from '../errors.js';
import type { VerifiedKey } from './keys.js';
import { keyPrincipal, type Principal } from './principal.js';
import { policyTokenResolver, sessionResolver } from './tokens.js';

/**
 * The identity boundary: the one place a request's credentials are read, and the ordered list of
 * resolvers that turn them into a `Principal`. A new way to authenticate is one more resolver in
 * RESOLVERS (and, if it arrives somewhere new, one more read in `presentedCredential`).
 *
 * Signed delivery URLs are not here: a signature covers one path, so /img checks it where it parses
 * that path (src/delivery/img.routes.ts, `verifySignature` in src/auth/signature.ts).
 */

/**
 * How a credential was presented. `key`: where only an API key goes (X-API-Key, ?key=, an `imgp_…`
 * bearer, a key in the path). `token`: a bearer or ?token= that may be a key or a JWT.
 */
export type CredentialForm = 'key' | 'token';

export interface Credential {
  form: CredentialForm;
  secret: string;
}

/** What `presentedCredential` reads: Hono's request (`c.req`) has this shape. */
export interface CredentialRequest {
  readonly path: string;
  header(name: string): string | undefined;
  query(name: string): string | undefined;
}

export interface CredentialSources {
  /**
   * Accept a session or policy token in `?token=`: only where a plain `<img src>` needs it (image
   * delivery). Elsewhere a token in the URL is refused (401 `token_in_url`): URLs end up in
   * histories, logs and Referer headers, and a session token there would hand out the account.
   */
  tokenInQuery?: boolean;
  /**
   * Accept an API key in `?key=`: for a plain `<img src>` (image delivery, /info). Elsewhere, the
   * management API, it is refused (401 `key_in_url`) for the same reasons as a token: an admin key
   * in a URL would sit in histories, logs and Referer headers.
   */
  keyInQuery?: boolean;
  /** Where a route carries its API key in the path (the legacy `/random-image/{key}`). */
  keyFromPath?: (path: string) => string | undefined;
}

function bearerOf(req: CredentialRequest): string | undefined {
  return req
    .header('authorization')
    ?.match(/^Bearer\s+(.+)$/i)?.[1]
    ?.trim();
}

/**
 * The one credential a request presents, by precedence: a key in the path, X-API-Key, ?key=, an
 * `imgp_` bearer; else a bearer or (where allowed) ?token=. Throws 401 `token_in_url` / `key_in_url`
 * for a ?token= / ?key= where the surface does not take one, whatever else the request carries.
 */
export function presentedCredential(req: CredentialRequest, sources: CredentialSources = {}): Credential | undefined {
  const bearer = bearerOf(req);
  const queryToken = req.query('token');
  if (queryToken !== undefined && !sources.tokenInQuery) {
    throw new UnauthorizedError(
      'A token in the URL (?token=) is accepted on image delivery only (/img, /random); send it as Authorization: Bearer <token>',
      'token_in_url',
    );
  }
  // The Flask API's key is its path: a ?key= beside it (an old page's stray parameter) changes nothing.
  const pathKey = sources.keyFromPath?.(req.path);
  if (pathKey) return { form: 'key', secret: pathKey };
  const queryKey = req.query('key');
  if (queryKey !== undefined && !sources.keyInQuery) {
    throw new UnauthorizedError(
      'An API key in the URL (?key=) is accepted on image delivery only (/img, /random, /info); send it as X-API-Key or Authorization: Bearer',
      'key_in_url',
    );
  }
  const key = req.header('x-api-key') ?? queryKey ?? (bearer?.startsWith('imgp_') ? bearer : undefined);
  if (key) return { form: 'key', secret: key };
  const token = bearer ?? queryToken;
  return token ? { form: 'token', secret: token } : undefined;
}

/**
 * The API key a metrics scrape presents (X-API-Key, any bearer, ?key=). Scrapers are configured
 * once with a key and never carry tokens, so every form is read as a key.
 */
export function presentedScrapeKey(req: CredentialRequest): Credential | undefined {
  const secret = req.header('x-api-key') ?? bearerOf(req) ?? req.query('key');
  return secret ? { form: 'key', secret } : undefined;
}

/**
 * Turns a presented secret into a principal. Returns undefined when the secret is not of its kind
 * (the next resolver is asked); throws an UnauthorizedError for one of its kind that is refused
 * (expired, revoked), so the caller learns why. Answers synchronously when it can: a cached key
 * verdict must not wait for a promise on the hot path.
 */
export interface CredentialResolver {
  readonly name: string;
  /** The forms this resolver reads. */
  readonly forms: readonly CredentialForm[];
  resolve(secret: string, deps: Deps): Principal | undefined | Promise<Principal | undefined>;
}

/** An API key (`imgp_…`, or any secret imported with `keys create --secret-file`), checked through the key verdict cache. */
export const apiKeyResolver: CredentialResolver = {
  name: 'api-key',
  forms: ['key', 'token'],
  resolve: (secret, deps) => principalForKey(deps, secret),
};

/** Asked in this order; the first that recognises the credential decides. */
export const RESOLVERS: readonly CredentialResolver[] = [apiKeyResolver, sessionResolver, policyTokenResolver];

const REFUSALS: Record<CredentialForm, [message: string, code: string]> = {
  key: ['Invalid or revoked API key', 'invalid_key'],
  token: ['Invalid or expired token', 'invalid_token'],
};

/**
 * The principal a credential stands for, or 401. A credential that is present but recognised by no
 * resolver is refused rather than treated as anonymous: that would turn a revoked key into a
 * confusing 404 on private images. Synchronous while every resolver asked answers synchronously.
 */
export function resolveCredential(deps: Deps, credential: Credential, from = 0): Principal | Promise<Principal> {
  for (let i = from; i < RESOLVERS.length; i++) {
    const resolver = RESOLVERS[i];
    if (!resolver.forms.includes(credential.form)) continue;
    const found = resolver.resolve(credential.secret, deps);
    if (found instanceof Promise) return found.then((p) => p ?? resolveCredential(deps, credential, i + 1));
    if (found) return found;
  }
  const [message, code] = REFUSALS[credential.form];
  throw new UnauthorizedError(message, code);
}

/** The holder of a live API key, if `secret` is one; synchronous when the key's verdict is cached. */
export function principalForKey(deps: Pick<Deps, 'keys'>, secret: string): Principal | undefined | Promise<Principal | undefined> {
  const row = deps.keys.verify(secret);
  if (row instanceof Promise) return row.then(keyHolder);
  return keyHolder(row);
}

function keyHolder(row: VerifiedKey | undefined): Principal | undefined {
  return row ? keyPrincipal(row, row.version) : undefined;
}
