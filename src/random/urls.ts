import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { deliveryUrl } from '../library/urls.js';
import type { Spec } from '../spec/index.js';

/**
 * The delivery path a /random caller is sent to, by the one URL rule of src/library/urls.ts
 * (plain when anyone may fetch it, else signed; private images expire after an hour).
 * Callers must have passed `planDelivery` (the access check) for these options first.
 */
export function deliveryPath(deps: Deps, image: ImageRow, options: string, spec: Spec): string {
  return deliveryUrl(deps, '', image, options, spec);
}
