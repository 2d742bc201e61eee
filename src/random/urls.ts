import { checkOptionsAllowed } from '../auth/access.js';
import { ANONYMOUS } from '../auth/principal.js';
import { signedImagePath } from '../auth/signature.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import type { Spec } from '../spec/index.js';

/** Signed links to private images expire: a /random answer should not become a permanent share link. */
const PRIVATE_URL_TTL_SECONDS = 3600;

/**
 * The delivery path a /random caller is sent to. It must work in a browser that carries no key
 * (a redirect drops X-API-Key and ?key=): a plain /img URL when anyone may fetch it, else a
 * signed one. Callers must have passed `planDelivery` (the access check) for these options first,
 * so signing here never grants anything the caller could not already fetch.
 */
export function deliveryPath(deps: Deps, image: ImageRow, options: string, spec: Spec): string {
  if (image.visibility === 'public' && anonymousMayUse(deps, spec)) {
    return options ? `/img/${options}/${image.id}` : `/img/${image.id}`;
  }
  // A caller's own exp_ stays as written in the options unless the private-image TTL is sooner.
  const expiresAt = image.visibility === 'private' ? Math.min(deps.clock() + PRIVATE_URL_TTL_SECONDS, spec.exp ?? Infinity) : undefined;
  return signedImagePath(image.id, options, deps.secrets.signingKeys[0], {
    expiresAt,
    bucketSeconds: deps.config.SIGNATURE_EXPIRY_BUCKET,
  });
}

function anonymousMayUse(deps: Deps, spec: Spec) {
  try {
    checkOptionsAllowed(ANONYMOUS, spec, false, deps.config);
    return true;
  } catch {
    return false;
  }
}

/** Absolute base for URLs in JSON answers: PUBLIC_URL when set, else the request's own origin. */
export function baseUrl(deps: Deps, requestUrl: string) {
  return (deps.config.PUBLIC_URL ?? new URL(requestUrl).origin).replace(/\/$/, '');
}
