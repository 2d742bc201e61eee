import type { Config } from '../config.js';
import type { ImageRow } from '../db/schema.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Spec } from '../spec/index.js';
import { ANONYMOUS, actingUserId, type Authority, type Caller, hasScope, isAdmin, type PolicyClaims, type Principal } from './principal.js';
import type { Scope } from './scopes.js';

/**
 * The access policy, in one module: who may see an image and ask for which options (SPEC §2, every
 * route that renders: /img, /random, /info), who may use the management API and manage an image,
 * and who counts as an administrator. Routes ask here; they do not compare roles themselves.
 */

/** The one refusal for "administrators only", wherever it is met (the message says what was refused). */
export function adminRequired(message = 'Only administrators may do this'): ForbiddenError {
  return new ForbiddenError(message, 'admin_required');
}

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

export function requireAdmin(p: Principal, message?: string): Caller {
  const caller = requireCaller(p);
  if (!isAdmin(caller)) throw adminRequired(message);
  return caller;
}

/** Keys are managed from a session or with an admin key: a leaked delivery key must not mint more keys. */
export function requireKeyManager(p: Principal): Caller {
  const caller = requireCaller(p);
  if (caller.kind === 'key' && !caller.admin)
    throw new ForbiddenError('Managing keys needs a user session or an admin-scoped key', 'missing_scope', { scope: 'admin' });
  return caller;
}

/** Whether `p` may manage a key owned by `ownerId` (its own, or any as an admin). */
export function mayManageKey(p: Caller, ownerId: number | null): boolean {
  return p.admin || ownerId === p.userId;
}

/**
 * The management API is per owner: unlike delivery (where a public image is anyone's to fetch),
 * a user manages only their own images, even public ones. Admins and system keys (no owning user,
 * e.g. ADMIN_API_KEY) manage the whole library.
 */
export function seesWholeLibrary(p: Principal) {
  return isAdmin(p) || (p.kind === 'key' && p.userId === null);
}

export function mayManage(p: Principal, image: Pick<ImageRow, 'ownerId'>) {
  if (seesWholeLibrary(p)) return true;
  const uid = actingUserId(p);
  return uid !== null && uid === image.ownerId;
}

/** Listing another user's images (`?owner=`) is for those who see the whole library. */
export function checkMayListOwner(p: Principal, owner: number | undefined) {
  if (owner !== undefined && !seesWholeLibrary(p) && owner !== actingUserId(p)) throw adminRequired("Only administrators may list other users' images");
}

/** Whether `p` may know that `image` exists. Callers answer 404 (not 403) when false. */
export function canSee(p: Authority, image: Pick<ImageRow, 'id' | 'ownerId' | 'visibility'>): boolean {
  if (image.visibility === 'public') return true;
  switch (p.kind) {
    case 'signed':
      // A public-only signature vouches for nothing here: the presenter's own rights decide.
      return p.reach === 'any' || canSee(p.caller, image);
    case 'internal':
      return true;
    case 'anonymous':
      return false;
    case 'key':
      // A key without an owner is a system key (ADMIN_API_KEY, CLI-made): it sees the library.
      return p.admin || p.userId === null || p.userId === image.ownerId;
    case 'user':
      return p.admin || p.userId === image.ownerId;
    case 'policy':
      return policyCovers(p.policy, image);
  }
}

/**
 * The authority a request has over `image`: a public-only signature (src/auth/signature.ts) on an
 * image that is not public counts for nothing, so the request is answered exactly as it would be
 * unsigned (a stranger's 404). Call it on the row the answer is about, before any other check.
 */
export function authorityOn(a: Authority, image: Pick<ImageRow, 'visibility'>): Authority {
  return a.kind === 'signed' && a.reach === 'public' && image.visibility !== 'public' ? a.caller : a;
}

/**
 * Whether `a` may composite `wm` (another library image) over a rendition: a signed URL's `wm_` is
 * the server's word; internal work may use what its caller could see, so `wm_` never leaks a private image.
 */
export function mayUseWatermark(a: Authority, wm: Pick<ImageRow, 'id' | 'ownerId' | 'visibility'>): boolean {
  if (a.kind === 'signed') return true;
  if (a.kind === 'internal') return a.for === undefined || canSee(a.for, wm);
  return canSee(a, wm);
}

/** Whether a policy token names this image (by id, or by its owner). */
export function policyCovers(policy: PolicyClaims, image: Pick<ImageRow, 'id' | 'ownerId'>): boolean {
  return (policy.ids?.includes(image.id) ?? false) || (policy.owner !== undefined && policy.owner === image.ownerId);
}

/** Options an anonymous caller may always use: a named preset, and the output format. */
const ANONYMOUS_OPTIONS = new Set(['t', 'f']);

/** The options a spec sets. */
function optionKeys(spec: Spec): string[] {
  const keys: string[] = [];
  for (const k in spec) if (spec[k as keyof Spec] !== undefined) keys.push(k);
  return keys;
}

/** Whether an anonymous caller may ask for these options (checkOptionsAllowed's anonymous case, as a predicate). */
function anonymousMayUse(spec: Spec, config: Pick<Config, 'ALLOW_UNSIGNED_TRANSFORMS'>): boolean {
  if (config.ALLOW_UNSIGNED_TRANSFORMS) return true;
  for (const k in spec) if (spec[k as keyof Spec] !== undefined && !ANONYMOUS_OPTIONS.has(k)) return false;
  return true;
}

/**
 * Throws when `p` may not render `spec`. Signed URLs are the server's own word; keys need the
 * `deliver` scope; anonymous callers get originals and presets unless ALLOW_UNSIGNED_TRANSFORMS.
 */
export function checkOptionsAllowed(p: Authority, spec: Spec, config: Pick<Config, 'ALLOW_UNSIGNED_TRANSFORMS'>, image?: Pick<ImageRow, 'id' | 'ownerId'>) {
  if (p.kind === 'signed' || p.kind === 'internal') return;
  const keys = optionKeys(spec);
  // A token for image A grants nothing on (public) image B: there its bearer is a stranger.
  const who: Principal = p.kind === 'policy' && image && !policyCovers(p.policy, image) ? ANONYMOUS : p;
  switch (who.kind) {
    case 'key':
      if (!hasScope(p, 'deliver')) throw new ForbiddenError('This API key lacks the "deliver" scope', 'missing_scope', { scope: 'deliver' });
      return;
    case 'user':
      return;
    case 'policy':
      checkPolicy(who.policy, spec, keys);
      return;
    case 'anonymous':
      if (anonymousMayUse(spec, config)) return;
      throw new UnauthorizedError(
        'Transformations need a signed URL, an API key or a policy token; unsigned requests may fetch originals and presets (t_…) only',
        'signature_required',
        { options: keys.filter((k) => !ANONYMOUS_OPTIONS.has(k)) },
      );
  }
}

/**
 * Whether an anonymous caller could have fetched this very response (same URL, no credential):
 * only then may a shared cache (CDN, proxy) keep it, since it answers the next visitor without
 * asking us. A signed URL counts as anonymous: its signature is part of the path, so a shared
 * cache hands the answer only to holders of that same URL. `spec` is the URL's own options.
 */
export function anonymousMayFetch(
  image: Pick<ImageRow, 'id' | 'ownerId' | 'visibility'>,
  spec: Spec,
  a: Authority,
  config: Pick<Config, 'ALLOW_UNSIGNED_TRANSFORMS'>,
  watermarkIsPublic: boolean,
): boolean {
  if (image.visibility !== 'public') return false;
  if (a.kind === 'signed' || a.kind === 'internal') return true;
  // A predicate, not checkOptionsAllowed in a try: every keyed hit asks this, and a thrown error
  // (its stack captured) was a measurable share of one (issue 14).
  return anonymousMayUse(spec, config) && watermarkIsPublic;
}

/**
 * A policy token's `formats` bound the encoding actually chosen, which f_ alone does not decide:
 * no f_ keeps the source's format, f_auto follows Accept, a preset may carry its own f_.
 */
export function checkOutputFormat(p: Authority, format: string, image: Pick<ImageRow, 'id' | 'ownerId'>) {
  if (p.kind !== 'policy' || !p.policy.formats || !policyCovers(p.policy, image)) return;
  if (!p.policy.formats.includes(format)) {
    throw new ForbiddenError(`This token allows the formats ${p.policy.formats.join(', ')}; this request would answer ${format}`, 'outside_policy');
  }
}

function checkPolicy(policy: PolicyClaims, spec: Spec, keys: string[]) {
  const deny = (message: string) => {
    throw new ForbiddenError(message, 'outside_policy');
  };
  if (policy.presets && spec.t && !policy.presets.includes(spec.t)) deny(`Preset ${spec.t} is not allowed by this token`);
  if (policy.formats && spec.f && spec.f !== 'auto' && !policy.formats.includes(spec.f)) deny(`Format ${spec.f} is not allowed by this token`);
  // Presets without a width range: the token grants exactly those presets, not free transforms.
  if (policy.presets && !policy.width && keys.some((k) => !ANONYMOUS_OPTIONS.has(k) && k !== 'exp')) {
    deny(`This token allows the presets ${policy.presets.join(', ')} (t_…) and f_ only`);
  }
  if (policy.width) {
    if (spec.w === undefined && !spec.t) deny('This token requires w_ within its width range');
    checkPolicyWidth(policy, spec);
  }
}

function checkPolicyWidth(policy: PolicyClaims, spec: Spec) {
  const w = spec.w;
  // w_auto / dpr_auto: checked once resolved against the request (planDelivery calls this again).
  if (!policy.width || typeof w !== 'number' || spec.dpr === 'auto') return;
  // dpr_ multiplies w_: w_1600,dpr_4 would otherwise render 6400 px under a 1600 px policy.
  const effective = w * (spec.dpr ?? 1);
  if ((policy.width.min !== undefined && effective < policy.width.min) || (policy.width.max !== undefined && effective > policy.width.max)) {
    throw new ForbiddenError(
      `w_${w}${spec.dpr ? ` at dpr_${spec.dpr}` : ''} is outside this token's width range ${policy.width.min ?? 1}..${policy.width.max ?? '∞'}`,
      'outside_policy',
    );
  }
}

/**
 * On the planned output: rotation, c_scale or c_pad can make the delivered width differ from w_
 * (w_400,h_4000,c_scale,r_80 is 4009 px wide), so the token's width range holds for what is sent.
 */
export function checkDeliveredWidth(p: Authority, size: { width: number }, image: Pick<ImageRow, 'id' | 'ownerId'>) {
  if (p.kind !== 'policy' || !p.policy.width || !policyCovers(p.policy, image)) return;
  const { min, max } = p.policy.width;
  if ((min !== undefined && size.width < min) || (max !== undefined && size.width > max)) {
    throw new ForbiddenError(
      `These options deliver an image ${size.width} px wide, outside this token's width range ${min ?? 1}..${max ?? '∞'}`,
      'outside_policy',
    );
  }
}

/** After a preset is merged in: its own w_ or dpr_ must not carry the output outside a token's width range. */
export function checkPresetWithinPolicy(p: Authority, merged: Spec, image: Pick<ImageRow, 'id' | 'ownerId'>) {
  if (p.kind === 'policy' && policyCovers(p.policy, image)) checkPolicyWidth(p.policy, merged);
}
