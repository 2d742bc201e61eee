import type { RouteHandler } from '@hono/zod-openapi';
import type { Context, Handler } from 'hono';
import { checkOptionsAllowed } from '../auth/access.js';
import { hasScope, type Principal } from '../auth/principal.js';
import { parseOptions, planFitted, renderVia } from '../core/index.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { readClientHints } from '../delivery/hints.js';
import { imageResponse } from '../delivery/respond.js';
import { BadRequestError, NotFoundError, OutputTooLargeError, UnauthorizedError } from '../errors.js';
import type { Env, z } from '../http.js';
import { importPending } from '../library/inbox.js';
import { placeholderOf } from '../library/schemas.js';
import { baseUrl } from '../library/urls.js';
import { signingForm, type Spec } from '../spec/index.js';
import { pickMany, pickOne, type PickMode } from './pick.js';
import type { RandomFilters } from './pool.js';
// Types only: the route definition types the handler's request and answers (no runtime cycle).
import type { listRoute } from './random.routes.js';
import { keyQuery, pickQuery, type PickQuery } from './schemas.js';
import { deliveryPath } from './urls.js';

// The random routes' handlers, each made for one app (./random.routes.ts holds the definitions and wires them).

const noStore = { 'Cache-Control': 'no-store' };

function parseQuery<T extends z.ZodType>(schema: T, c: Context<Env>): z.infer<T> {
  const parsed = schema.safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new BadRequestError(`Invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues }, 'validation_failed');
}

function filtersOf(q: { collection?: string; tag?: string; orientation?: RandomFilters['orientation']; min_width?: number }): RandomFilters {
  return { collection: q.collection, tag: q.tag?.trim().toLowerCase(), orientation: q.orientation, minWidth: q.min_width };
}

/** `/random.json`: several distinct images, with their metadata and delivery URLs. */
export function listRandom(deps: Deps): RouteHandler<typeof listRoute, Env> {
  return async function listRandom(c) {
    const q = c.req.valid('query');
    const principal = c.get('principal');
    const options = q.options ?? '';
    const spec = checkedSpec(deps, principal, options);
    const rows = await pickMany(deps, principal, filtersOf(q), q.count, q.seed);
    if (rows.length === 0) throw new NotFoundError('No image matches these filters', 'no_candidate');
    const base = baseUrl(c, deps);
    const out = [];
    let unfit: OutputTooLargeError | undefined;
    for (const image of rows) {
      // A pick whose shape cannot take the options even scaled (dpr_2 on a 1x5000 strip, a c_fill
      // box it cannot cover) is left out of the list, not made the whole answer's 400.
      const fitted = await planFitted(deps, { authority: principal, image, spec }).catch((err: unknown) => {
        if (!(err instanceof OutputTooLargeError)) throw err;
        unfit ??= err;
        return undefined;
      });
      if (!fitted) continue;
      out.push({
        id: image.id,
        width: image.width,
        height: image.height,
        format: image.format,
        orientation: image.orientation,
        collection: image.collection,
        placeholder: placeholderOf(image),
        url: base + deliveryPath(deps, image, optionsOf(options, spec, fitted.spec), fitted.spec),
      });
    }
    // None could take them: the options are the problem, as /img would say.
    if (out.length === 0 && unfit) throw unfit;
    return c.json({ images: out }, 200, noStore);
  };
}

/** `/random` and `/random/daily`, bare or with delivery options: a 302 to the image, or its bytes (`redirect=0`). */
export async function answerPick(c: Context<Env>, deps: Deps, options: string, mode: PickMode | undefined) {
  const q: PickQuery = parseQuery(pickQuery, c);
  const principal = c.get('principal');
  const spec = checkedSpec(deps, principal, options);
  const chosen: PickMode = mode ?? (q.seed ? { kind: 'seed', seed: q.seed } : { kind: 'random' });
  const image = await pickOne(deps, principal, filtersOf(q), chosen);
  if (!image) throw new NotFoundError('No image matches these filters', 'no_candidate');
  if (q.redirect === '0' || q.redirect === 'false') return serveBytes(c, deps, principal, image, spec);
  // The same plan /img makes (preset exists, not expired, options allowed) before anything is signed.
  const fitted = await planFitted(deps, { authority: principal, image, spec });
  const location = (deps.config.PUBLIC_URL?.replace(/\/$/, '') ?? '') + deliveryPath(deps, image, optionsOf(options, spec, fitted.spec), fitted.spec);
  return new Response(null, { status: 302, headers: { Location: location, ...noStore, 'X-Image-Id': image.id } });
}

/** The Flask API's `/random-image/{key}`: a random WebP. */
export function legacyRandom(deps: Deps): Handler<Env> {
  return async function legacyRandom(c) {
    const principal = flaskCaller(c.get('principal'));
    const q = parseQuery(keyQuery, c);
    const image = await pickOne(deps, principal, filtersOf(q), q.seed ? { kind: 'seed', seed: q.seed } : { kind: 'random' });
    if (!image) throw new NotFoundError('No image to pick from', 'no_candidate');
    return serveBytes(c, deps, principal, image, { f: 'webp' });
  };
}

/** The Flask API's `/update-images/{key}`. */
export function legacyUpdateImages(deps: Deps): Handler<Env> {
  return async function legacyUpdateImages(c) {
    const principal = flaskCaller(c.get('principal'));
    // The list follows the library by itself; what the old call still means is "take what the
    // conversion script just left in the folder, now", instead of after the watcher's quiet period.
    if (deps.config.inboxDir) await importPending(deps, deps.config.inboxDir);
    if (!(await pickOne(deps, principal, {}, { kind: 'random' }))) throw new NotFoundError('No images found', 'no_candidate');
    return c.json({ message: 'Images list updated' }, 200, noStore);
  };
}

/** The Flask API's `/update-key/{key}`. */
export function legacyUpdateKey(): Handler<Env> {
  return function legacyUpdateKey(c) {
    // Keys are checked against the database on every request, so a rotation (`imgpath keys rotate`)
    // is live at once: nothing to reload. The answer tells the caller the key it sent works.
    flaskCaller(c.get('principal'));
    return c.json({ message: 'API key updated successfully' }, 200, noStore);
  };
}

/** The caller of a Flask-API route: its key, with the deliver scope (the old service had one key for everything). */
function flaskCaller(principal: Principal) {
  if (principal.kind !== 'key' || !hasScope(principal, 'deliver'))
    throw new UnauthorizedError('Invalid or revoked API key, or it lacks the "deliver" scope', 'invalid_key');
  return principal;
}

/** Parse options and run the /img access rule before anything is picked or signed. */
function checkedSpec(deps: Deps, principal: Principal, options: string): Spec {
  const spec = parseOptions(deps, options);
  checkOptionsAllowed(principal, spec, deps.config);
  return spec;
}

/** The options as written, or the scaled ones' signing form when this pick could not take them (planFitted). */
function optionsOf(written: string, spec: Spec, fitted: Spec): string {
  return fitted === spec ? written : signingForm(fitted);
}

async function serveBytes(c: Context<Env>, deps: Deps, principal: Principal, image: ImageRow, spec: Spec) {
  const { plan } = await planFitted(deps, {
    authority: principal,
    image,
    spec,
    accept: c.req.header('accept'),
    hints: readClientHints((name) => c.req.header(name)),
  });
  const rendition = await renderVia(deps, plan, c.get('scope'));
  // A random answer changes on every request: the immutable caching of /img must not stick to it.
  return imageResponse(c, deps, plan, rendition, { ...noStore, 'X-Image-Id': image.id });
}
