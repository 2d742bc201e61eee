import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { UnauthorizedError } from '../errors.js';
import { OUTPUT_FORMATS } from '../spec/index.js';
import type { CredentialResolver } from './credentials.js';
import { type PolicyClaims, policyPrincipal, type TokenIssuer, userPrincipal } from './principal.js';

/**
 * Session JWTs (POST /auth/login) and policy tokens (POST /sign), both HS256 with the server's
 * JWT secret. The audience tells them apart, so a session can never be replayed as a policy
 * token or the other way round; the algorithm is pinned, so `alg: none` and HS/RS confusion
 * fail before any claim is read.
 *
 * Expiry is exact: no clock leeway (jose's clockTolerance is 0), so a token is refused from its
 * `exp` second on, and a response it authorised is never cached past that second (cacheHeaders).
 * Instances that share JWT_SECRET must keep their clocks in sync (NTP): `nbf` has no leeway either.
 */

export const ISSUER = 'imgpath';
export const SESSION_AUDIENCE = 'imgpath:session';
export const POLICY_AUDIENCE = 'imgpath:policy';
const ALGORITHM = 'HS256';

/**
 * A short fingerprint of a user's stored password hash, carried by their sessions and the policy
 * tokens they mint (`pv` / `kv`): a password change or reset changes it, ending all of them at once.
 * (A re-hash to a newer scrypt profile at login changes it too: other sessions log in again once.)
 */
export function passwordVersion(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 16);
}

export async function issueSession(deps: Pick<Deps, 'secrets' | 'clock' | 'config' | 'auth'>, userId: number) {
  const now = deps.clock();
  const expiresAt = now + deps.config.JWT_TTL_SECONDS;
  const user = await deps.auth.users.get(userId);
  if (!user) throw new UnauthorizedError('User no longer exists', 'unauthorized');
  const token = await new SignJWT({ pv: passwordVersion(user.passwordHash) })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuer(ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(expiresAt)
    .setJti(randomBytes(9).toString('base64url'))
    .sign(deps.secrets.jwtSecret);
  return { token, expiresAt };
}

/** What a policy token may carry in its `pol` claim; checked again on every use, not trusted blindly. */
export const policyClaimsSchema = z
  .object({
    ids: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
    owner: z.number().int().positive().optional(),
    presets: z.array(z.string().min(1).max(64)).min(1).max(100).optional(),
    width: z
      .object({ min: z.number().int().min(1).optional(), max: z.number().int().min(1).optional() })
      .refine((w) => w.min === undefined || w.max === undefined || w.min <= w.max, 'width.min must not exceed width.max')
      .optional(),
    formats: z
      .array(z.enum(OUTPUT_FORMATS as [string, ...string[]]))
      .min(1)
      .max(OUTPUT_FORMATS.length)
      .optional(),
  })
  .strict()
  .refine((p) => p.ids !== undefined || p.owner !== undefined, 'a policy names image ids or an owner');

/** The `sub` of a policy token: who minted it, as logged. */
export function issuerSubject(issuer: TokenIssuer) {
  return issuer.kind === 'key' ? `key:${issuer.keyId}` : `user:${issuer.userId}`;
}

/**
 * A policy token names its minter in `sub` and the version of the minter's secret in `kv` (the
 * key's secret, or the user's password): revoking or rotating the key (after any grace), or
 * changing the password, ends the token.
 */
export async function issuePolicyToken(deps: Pick<Deps, 'secrets' | 'clock' | 'auth'>, policy: PolicyClaims, expiresIn: number, issuer: TokenIssuer) {
  const now = deps.clock();
  const expiresAt = now + expiresIn;
  const kv = issuer.kind === 'key' ? issuer.version : passwordVersion((await deps.auth.users.get(issuer.userId))?.passwordHash ?? '');
  const token = await new SignJWT({ pol: policyClaimsSchema.parse(policy), kv })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(issuerSubject(issuer))
    .setIssuer(ISSUER)
    .setAudience(POLICY_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(expiresAt)
    .sign(deps.secrets.jwtSecret);
  return { token, expiresAt };
}

const LOOKS_LIKE_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

async function verify(deps: Deps, token: string): Promise<JWTPayload | undefined> {
  if (token.length > 8192 || !LOOKS_LIKE_JWT.test(token)) return undefined;
  try {
    const { payload } = await jwtVerify(token, deps.secrets.jwtSecret, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: [SESSION_AUDIENCE, POLICY_AUDIENCE],
      requiredClaims: ['exp', 'sub', 'aud'],
      currentDate: new Date(deps.clock() * 1000),
      clockTolerance: 0, // exact: see the note at the top
    });
    return payload;
  } catch (err) {
    // Expiry is the one failure worth naming: the client should fetch a new token. Everything
    // else (bad signature, wrong alg/audience, garbage) is the same 401 without detail.
    if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('Token expired', 'token_expired');
    return undefined;
  }
}

/**
 * The payload of a JWT with exactly this one audience and a valid signature, or undefined when it
 * is not such a token. The audience is peeked at first, so each token is verified once, by the
 * resolver of its kind; a token naming both audiences is verified, then refused by both.
 */
async function verifyFor(deps: Deps, token: string, audience: string): Promise<JWTPayload | undefined> {
  if (!claimsAudience(token, audience)) return undefined;
  const payload = await verify(deps, token);
  // Exactly one audience: a token naming both could otherwise pass as either kind.
  const aud = Array.isArray(payload?.aud) ? (payload.aud.length === 1 ? payload.aud[0] : undefined) : payload?.aud;
  return aud === audience ? payload : undefined;
}

function claimsAudience(token: string, audience: string): boolean {
  if (token.length > 8192 || !LOOKS_LIKE_JWT.test(token)) return false;
  try {
    const { aud } = decodeJwt(token);
    return Array.isArray(aud) ? aud.includes(audience) : aud === audience;
  } catch {
    return false;
  }
}

/** A session (POST /auth/login) becomes the user it names, looked up on every request, so a deleted user or a changed role counts at once. */
export const sessionResolver: CredentialResolver = {
  name: 'session-jwt',
  forms: ['token'],
  async resolve(token, deps) {
    const payload = await verifyFor(deps, token, SESSION_AUDIENCE);
    if (!payload) return undefined;
    const userId = Number(payload.sub);
    const user = Number.isSafeInteger(userId) ? await deps.auth.users.get(userId) : undefined;
    if (!user) return undefined;
    if (payload.pv !== passwordVersion(user.passwordHash))
      throw new UnauthorizedError('This session ended when the password changed; log in again', 'session_revoked');
    return userPrincipal(user, payload.exp!);
  },
};

/** A policy token (POST /sign) becomes its claims while the credential that minted it holds. */
export const policyTokenResolver: CredentialResolver = {
  name: 'policy-token',
  forms: ['token'],
  async resolve(token, deps) {
    const payload = await verifyFor(deps, token, POLICY_AUDIENCE);
    if (!payload) return undefined;
    const policy = policyClaimsSchema.safeParse(payload.pol);
    if (!policy.success) return undefined;
    if (!(await minterStillValid(deps, payload))) {
      throw new UnauthorizedError('The API key or password that issued this token was revoked, rotated or changed; ask for a new token', 'token_revoked');
    }
    return policyPrincipal(policy.data, payload.exp!);
  },
};

/**
 * A key-minted token holds while that key is live and the secret it was minted with is still
 * accepted (current, or previous within its rotation grace). A user-minted token holds while the
 * user exists with the password it was minted under (and never outlives the minting session:
 * POST /sign caps it). A token naming neither (minted before versions were recorded) is refused.
 */
async function minterStillValid(deps: Deps, payload: JWTPayload): Promise<boolean> {
  const sub = payload.sub ?? '';
  if (/^user:\d+$/.test(sub)) {
    const user = await deps.auth.users.get(Number(sub.slice(5)));
    return user !== undefined && typeof payload.kv === 'string' && payload.kv === passwordVersion(user.passwordHash);
  }
  const keyId = sub.startsWith('key:') ? sub.slice(4) : undefined;
  return keyId !== undefined && typeof payload.kv === 'string' && deps.keys.mintedBy(keyId, payload.kv);
}
