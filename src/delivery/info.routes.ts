import { Hono } from 'hono';
import type { AuthVariables } from '../auth/authenticate.js';
import { credentialExpiry } from '../auth/principal.js';
import type { Deps } from '../deps.js';
import { canSee } from '../auth/access.js';
import type { ImageRow } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { originsOf } from '../origins/service.js';
import { placeholderOf } from '../library/schemas.js';
import { baseUrl } from '../library/urls.js';
import { findRenamed } from '../library/public-ids.js';
import { nameOf } from '../library/urls.js';
import { isImageKey } from '../spec/public-id.js';
import { findImage } from '../core/index.js';
import { imageTag, tagHeaders } from '../core/tags.js';
import { movedPermanently } from './img.routes.js';

/** GET /info/{id} (random or public id): what a page needs before the image loads (size, colour, placeholder). Stored at ingest, never computed here. */
export function infoRoutes(deps: Deps) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const origins = originsOf(deps);
  // `/info/{id}`, or `/info/@{origin}/{path}` for a remote original (fetched on first use, as /img does).
  app.get('/info/*', async function imageInfo(c) {
    const principal = c.get('principal');
    const rest = new URL(c.req.url).pathname.slice('/info/'.length);
    const origin = /^@([^/]+)\/(.+)$/.exec(rest);
    if (!origin && !isImageKey(rest)) throw new NotFoundError(`No route for GET ${c.req.path}`, 'not_found');
    let found: ImageRow;
    if (origin) {
      found = await origins.image(
        origin[1],
        origin[2],
        (row) => {
          if (!canSee(principal, row)) throw new NotFoundError(`No image ${row.id}`, 'image_not_found');
        },
        c.get('scope'),
      );
    } else {
      const image = await findImage(deps, rest);
      if (!image) {
        // A public id renamed away: 301 to the current name, as /img does.
        const renamed = await findRenamed(deps, rest);
        if (renamed && canSee(principal, renamed)) {
          return movedPermanently(
            `${baseUrl(c, deps)}/info/${nameOf(renamed)}`,
            renamed.visibility === 'public',
            tagHeaders(deps.config, imageTag(renamed.id)),
          );
        }
        throw new NotFoundError(`No image ${rest}`, 'image_not_found');
      }
      if (!canSee(principal, image)) throw new NotFoundError(`No image ${rest}`, 'image_not_found');
      found = image;
    }
    const { image, mutable } = await origins.current(found);
    if (!canSee(principal, image)) throw new NotFoundError(`No image ${image.id}`, 'image_not_found');
    // Private metadata is cached no longer than the token that let the caller see it; a remote
    // original's no longer than its revalidation interval (the file may change under the same id).
    const ends = credentialExpiry(principal);
    const maxAge = Math.max(0, Math.min(3600, ends === undefined ? 3600 : ends - deps.clock()));
    const shared = mutable ? `public, max-age=${mutable.maxAge}` : 'public, max-age=31536000, immutable';
    c.header('Cache-Control', image.visibility === 'public' ? shared : `private, max-age=${Math.min(maxAge, mutable?.maxAge ?? maxAge)}`);
    // Kept a year by a CDN: deleting the image or making it private purges it by this tag.
    for (const [name, value] of Object.entries(tagHeaders(deps.config, imageTag(image.id)))) c.header(name, value);
    return c.json({
      id: image.id,
      width: image.width,
      height: image.height,
      format: image.format,
      bytes: image.bytes,
      frames: image.frames,
      hasAlpha: image.hasAlpha,
      orientation: image.orientation,
      placeholder: placeholderOf(image),
    });
  });
  return app;
}
