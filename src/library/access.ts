import { eq } from 'drizzle-orm';
import { actingUserId, hasScope, isAdmin, type Principal } from '../auth/principal.js';
import type { Scope } from '../auth/keys.js';
import { images, type ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';

/**
 * Who may use the management API. Unlike delivery (where a public image is anyone's to
 * fetch), the library is per owner: a user manages only their own images, even public ones.
 */

/** A key or a logged-in user; anonymous callers and policy tokens (delivery-only) are refused. */
export function requireCaller(p: Principal): Extract<Principal, { kind: 'key' | 'user' }> {
  if (p.kind === 'anonymous') throw new UnauthorizedError('This route needs an API key or a login token');
  if (p.kind === 'policy') throw new ForbiddenError('A policy token only grants image delivery; use an API key or a login token', 'policy_token_not_allowed');
  return p;
}

export function requireScope(p: Principal, ...scopes: Scope[]) {
  const caller = requireCaller(p);
  if (!scopes.some((s) => hasScope(caller, s))) {
    throw new ForbiddenError(`This API key lacks the "${scopes.join('" or "')}" scope`, 'missing_scope', { scope: scopes[0] });
  }
  return caller;
}

export function requireAdmin(p: Principal) {
  const caller = requireCaller(p);
  if (!isAdmin(caller)) throw new ForbiddenError('Only administrators may do this', 'admin_only');
  return caller;
}

/** Admins and system keys (no owning user, e.g. ADMIN_API_KEY) manage the whole library. */
export function seesWholeLibrary(p: Principal) {
  return isAdmin(p) || (p.kind === 'key' && p.userId === null);
}

export function mayManage(p: Principal, image: Pick<ImageRow, 'ownerId'>) {
  if (seesWholeLibrary(p)) return true;
  const uid = actingUserId(p);
  return uid !== null && uid === image.ownerId;
}

/** The image if the caller manages it; 404 otherwise, so another user's image is not revealed. */
export function managedImage(deps: Deps, p: Principal, id: string): ImageRow {
  requireCaller(p);
  const image = deps.db.select().from(images).where(eq(images.id, id)).get();
  if (!image || !mayManage(p, image)) throw new NotFoundError(`No image ${id}`, 'image_not_found');
  return image;
}
