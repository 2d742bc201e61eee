import { Hono } from 'hono';
import type { AuthVariables } from '../auth/authenticate.js';
import { credentialExpiry } from '../auth/principal.js';
import type { Deps } from '../deps.js';
import { visibleImage } from './deliver.js';

/** GET /info/{id}: what a page needs before the image loads (size, colour, placeholder). Stored at ingest, never computed here. */
export function infoRoutes(deps: Deps) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/info/:id', function imageInfo(c) {
    const image = visibleImage(deps, c.req.param('id'), c.get('principal'), false);
    // Private metadata is cached no longer than the token that let the caller see it.
    const ends = credentialExpiry(c.get('principal'));
    const maxAge = Math.max(0, Math.min(3600, ends === undefined ? 3600 : ends - deps.clock()));
    c.header('Cache-Control', image.visibility === 'public' ? 'public, max-age=31536000, immutable' : `private, max-age=${maxAge}`);
    return c.json({
      id: image.id,
      width: image.width,
      height: image.height,
      format: image.format,
      bytes: image.bytes,
      frames: image.frames,
      hasAlpha: image.hasAlpha,
      orientation: image.orientation,
      dominantColor: image.dominant,
      thumbhash: image.placeholder,
      placeholder: image.placeholderUri,
    });
  });
  return app;
}
