import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { anonymousMayFetch, checkDeliveredWidth, checkOptionsAllowed, checkOutputFormat, checkPresetWithinPolicy, canSee } from '../auth/access.js';
import { credentialExpiry, type Principal } from '../auth/principal.js';
import { cacheMissCharge } from '../auth/state.js';
import { renditionHeaders, type CachedRendition, type Rendition } from '../cache/types.js';
import { images, presets, type ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { AppError, BadOptionError, ForbiddenError, NotFoundError, OutputTooLargeError, StorageUnavailableError } from '../errors.js';
import { render } from '../render/index.js';
import {
  canonicalize,
  chooseFormat,
  mergePreset,
  outputFrames,
  parseSpec,
  planLayout,
  type OutputFormat,
  type ResolvedSpec,
  type Size,
  type Spec,
} from '../spec/index.js';
import { contentDpr, NO_HINTS, resolveHints, type ClientHints, type HintUse } from '../spec/hints.js';
import { ACCEPT_CH, hintVary } from './hints.js';
import { originalKey } from '../storage/store.js';
import { IMAGE_ID } from '../spec/public-id.js';
import { changeMark, type ChangeMark } from '../db/changes.js';
import { registerResponse, requestIdOf } from '../ops/observe.js';

/**
 * The hot path shared by /img and /random: access -> spec -> format -> key -> cache -> respond.
 * Everything before `renderVia` is cheap (no image bytes touched), so a 304 or a cache hit
 * costs a DB lookup and a hash.
 */

export interface DeliveryPlan {
  image: ImageRow;
  /** w_auto / dpr_auto already resolved against the request's client hints. */
  spec: ResolvedSpec;
  canonical: string;
  format: OutputFormat;
  /** f_auto chose the format from `Accept`. */
  vary: boolean;
  /** The client hints the size came from (w_auto, dpr_auto): each one answers `Vary` on its headers. */
  hints: HintUse;
  /** The delivered density against the CSS size, when dpr_auto asked for one and it is known. */
  contentDpr?: number;
  /** The delivered size (of one frame), as planned from the stored dimensions. */
  size: Size;
  key: string;
  etag: string;
  preset: string | null;
  /** Unix seconds after which the URL stops working (exp_ of a signed URL). */
  expiresAt?: number;
  /** Whether an anonymous caller could have fetched this very response: only then may a shared cache keep it. */
  shared: boolean;
  /** Unix seconds at which the token that authorised the request (policy or session) ends. */
  credentialExpiresAt?: number;
  /** Longest a cache may keep the answer: set for remote originals, whose bytes may change under the same id. */
  maxAge?: number;
}

// Built once per database: drizzle assembling the query on every request cost ~0.4 ms on the hit path.
const imageStatements = new WeakMap<Deps['db'], ReturnType<typeof prepareImageLookups>>();
/** Rows remembered between changes to the database; the bound is a backstop (cleared when full). */
const IMAGE_ROWS_MAX = 10_000;
function prepareImageLookups(db: Deps['db']) {
  return {
    byId: db
      .select()
      .from(images)
      .where(eq(images.id, sql.placeholder('id')))
      .prepare(),
    byPublicId: db
      .select()
      .from(images)
      .where(eq(images.publicId, sql.placeholder('id')))
      .prepare(),
    /**
     * Rows found, by the name asked for, valid while the database's change mark stays put
     * (src/db/changes.ts): any write, here or in another process, empties it, so it answers
     * exactly what the query would. A hit reads one pragma instead of an image row (issue 14).
     */
    rows: new Map<string, ImageRow>(),
    mark: changeMark(db),
    seen: '',
  };
}

/**
 * The image a URL or API path names: its random id or its public id (`blog/2024/cat`). One
 * indexed lookup: a key with a slash or a dot can only be a public id; a random-looking one is
 * tried as an id first (public ids may not equal another image's id, src/library/public-ids.ts),
 * and only a miss (a one-segment public id like `cat`, or a 404) probes images_public_id_idx too.
 */
export function findImage(deps: Deps, id: string): ImageRow | undefined {
  let q = imageStatements.get(deps.db);
  if (!q) imageStatements.set(deps.db, (q = prepareImageLookups(deps.db)));
  const mark = q.mark();
  if (mark !== q.seen) {
    q.rows.clear();
    q.seen = mark;
  }
  const known = q.rows.get(id);
  if (known) return known;
  let row = IMAGE_ID.test(id) ? q.byId.get({ id }) : undefined;
  row ??= q.byPublicId.get({ id });
  // Only rows that exist: names probed at random (404s) cannot fill it. Frozen: shared by requests.
  if (row) {
    if (q.rows.size >= IMAGE_ROWS_MAX) q.rows.clear();
    q.rows.set(id, Object.freeze(row));
  }
  return row;
}

/**
 * A preset's parsed spec, re-parsed only when its stored options change. The cached entry is
 * checked against the row's own options string rather than updated_at (second resolution: two
 * edits within a second would look alike), so an edit from any process is seen on the next request.
 */
interface PresetSpecs {
  byName: ReturnType<typeof preparePresetByName>;
  /** `mark`: the database's change mark when the row was last read; while it stays put, the spec is current without a read. */
  parsed: Map<string, { options: string; spec: Spec; mark: string }>;
  mark: ChangeMark;
}
const presetSpecs = new WeakMap<Deps['db'], PresetSpecs>();
/** Presets are an admin-made handful (unknown names are never stored); the bound is a backstop. */
const PRESET_SPECS_MAX = 256;
function preparePresetByName(db: Deps['db']) {
  return db
    .select({ options: presets.options })
    .from(presets)
    .where(eq(presets.name, sql.placeholder('name')))
    .prepare();
}

function presetSpec(deps: Deps, name: string): Spec | undefined {
  let cache = presetSpecs.get(deps.db);
  if (!cache) presetSpecs.set(deps.db, (cache = { byName: preparePresetByName(deps.db), parsed: new Map(), mark: changeMark(deps.db) }));
  const mark = cache.mark();
  const known = cache.parsed.get(name);
  if (known?.mark === mark) return known.spec;
  const row = cache.byName.get({ name });
  if (!row) {
    cache.parsed.delete(name);
    return undefined;
  }
  if (known?.options === row.options) {
    known.mark = mark;
    return known.spec;
  }
  const spec = Object.freeze(parseOptions(deps, row.options));
  if (cache.parsed.size >= PRESET_SPECS_MAX) cache.parsed.clear();
  cache.parsed.set(name, { options: row.options, spec, mark });
  return spec;
}

/** The image if `principal` may see it; otherwise 404, so a private image's existence is not revealed. */
export function visibleImage(deps: Deps, id: string, principal: Principal, signed: boolean) {
  const image = findImage(deps, id);
  if (!image || !canSee(principal, image, signed)) throw new NotFoundError(`No image ${id}`, 'image_not_found');
  return image;
}

/** A watermark is another library image: the caller must be allowed to see it, or wm_ would leak a private image. */
export function checkWatermark(deps: Deps, p: Principal, spec: Spec) {
  if (!spec.wm) return;
  const wm = findImage(deps, spec.wm);
  if (!wm || !canSee(p, wm, false)) throw new BadOptionError('wm', `Watermark image ${spec.wm} does not exist`, 'the id of an image you can see');
}

export function specLimits(deps: Deps) {
  return deps.config.limits;
}

export function parseOptions(deps: Deps, options: string, ext?: string) {
  return parseSpec(options, ext, specLimits(deps));
}

interface PlanArgs {
  principal: Principal;
  signed: boolean;
  image: ImageRow;
  spec: Spec;
  accept?: string;
  /** The request's client hints, for w_auto / dpr_auto (none: their fallbacks). */
  hints?: ClientHints;
  /** The image's bytes may change under its id (a remote original): key by content, cache at most maxAge. */
  mutable?: { maxAge: number };
}

export function planDelivery(deps: Deps, args: PlanArgs): DeliveryPlan {
  try {
    return planOnce(deps, args);
  } catch (err) {
    // A hint never turns a URL that works without it into a 400: a density (then a width) that
    // makes the output, or the image scaled to cover a c_fill box, too large is dropped.
    const hints = args.hints;
    if (!(err instanceof OutputTooLargeError) || !hints || (hints.dpr === undefined && hints.width === undefined)) throw err;
    if (hints.dpr !== undefined && hints.width !== undefined) {
      try {
        return planOnce(deps, { ...args, hints: { width: hints.width } });
      } catch (again) {
        if (!(again instanceof OutputTooLargeError)) throw again;
      }
    }
    return planOnce(deps, { ...args, hints: NO_HINTS });
  }
}

function planOnce(deps: Deps, args: PlanArgs): DeliveryPlan {
  const { principal, signed, image } = args;
  // w_auto / dpr_auto become numbers here, first, for every surface (/img, /random, variants): the
  // access checks, the planner, the cache key and the renderer only ever see the resolved size.
  const resolve = (s: Spec) => resolveHints(s, args.hints ?? NO_HINTS, deps.config.clientHints, specLimits(deps).maxOutputDim);
  const own = resolve(args.spec);
  let { spec, used, css } = own;
  if (spec.exp !== undefined && spec.exp < deps.clock()) {
    throw new ForbiddenError(`This URL expired at ${new Date(spec.exp * 1000).toISOString()}`, 'expired');
  }
  checkOptionsAllowed(principal, spec, signed, deps.config, image);
  // Only the URL's own wm_: a preset's watermark (a private logo, say) is the operator's choice.
  if (!signed) checkWatermark(deps, principal, spec);
  const preset = spec.t ?? null;
  if (preset) {
    const fromPreset = presetSpec(deps, preset);
    if (!fromPreset) throw new BadOptionError('t', `Unknown preset ${preset}`, 'a preset name from GET /presets');
    // Merged before resolving: a preset's dpr_auto must see whether the URL's w_auto was a device-pixel hint.
    ({ spec, used, css } = resolve(mergePreset(fromPreset, args.spec, specLimits(deps))));
    if (!signed) checkPresetWithinPolicy(principal, spec, image);
  }
  const { format, vary } = chooseFormat(spec, { format: image.format, hasAlpha: image.hasAlpha, animated: image.frames > 1 }, args.accept);
  if (!signed) checkOutputFormat(principal, format, image);
  // The planner on the stored size: output caps and crop bounds fail here, before the original is read.
  const { final: size } = planLayout(
    spec,
    { width: image.width, height: image.height, frames: outputFrames(image.format, image.frames, format) },
    specLimits(deps),
  );
  if (!signed) checkDeliveredWidth(principal, size, image);
  // Who may keep the answer: a shared cache only what anonymous callers could fetch too (the URL's
  // own options and wm_), and nobody past the end of the token that authorised it.
  const wm = args.spec.wm;
  const cache = {
    shared: anonymousMayFetch(image, own.spec, signed, deps.config, !wm || findImage(deps, wm)?.visibility === 'public'),
    credentialExpiresAt: credentialExpiry(principal),
  };
  const canonical = canonicalize(spec);
  // A remote original's content hash joins the key: new bytes at the origin give new ETags, and a
  // late render of the old bytes lands under a key nobody asks for again.
  const source = args.mutable ? `${image.id}@${image.hash}` : image.id;
  const key = createHash('sha256').update(`${source}\n${canonical}\n${format}`).digest('base64url');
  const maxAge = args.mutable?.maxAge;
  return {
    image,
    spec,
    canonical,
    format,
    vary,
    hints: used,
    contentDpr: contentDpr(css, size),
    size,
    key,
    etag: `"${key.slice(0, 27)}"`,
    preset,
    expiresAt: args.spec.exp,
    ...cache,
    maxAge,
  };
}

export async function renderVia(deps: Deps, plan: DeliveryPlan): Promise<CachedRendition> {
  // Bound to this request now: a queued render is started later from another request's context.
  const chargeMiss = cacheMissCharge(deps);
  return deps.cache.fetch(plan.key, { imageId: plan.image.id, options: plan.canonical, preset: plan.preset }, async () => {
    // Only a miss reaches here: throttles the caller (RATE_LIMIT_MISS_PER_MIN) and counts the render.
    chargeMiss();
    return renderPlan(deps, plan);
  });
}

async function renderPlan(deps: Deps, plan: DeliveryPlan): Promise<Rendition> {
  const { image, spec, format } = plan;
  const original = await readOriginal(deps, image);
  if (!original) {
    deps.log.error({ imageId: image.id, hash: image.hash }, 'original missing from storage');
    throw new AppError(500, 'original_missing', `The original of ${image.id} is missing from storage`);
  }
  const watermark = spec.wm ? await loadWatermark(deps, spec.wm) : undefined;
  const focal = image.focalX !== null && image.focalY !== null ? { x: image.focalX, y: image.focalY } : undefined;
  const started = performance.now();
  const out = await render(original, spec, { format, limits: deps.config.limits, watermark, focal });
  // Recorded here, once per actual render: coalesced waiters and hits never reach this line.
  deps.metrics?.observeRender(out.format, (performance.now() - started) / 1000);
  // Never larger than the source for nothing: when the options changed no pixel (a pure
  // re-encode, `unchanged`) and the format is the source's, more bytes -> the source bytes,
  // provided they carry no metadata (GPS) or rotation that must be stripped.
  if (out.unchanged && image.clean && out.format === image.format && out.data.length > original.length) {
    return { ...out, data: original };
  }
  return out;
}

/** An original's bytes (undefined when absent); a store that fails (EIO, S3 down) is a 503 to retry, not a 500. */
async function readOriginal(deps: Deps, image: ImageRow): Promise<Buffer | undefined> {
  try {
    return await deps.store.get(originalKey(image.hash));
  } catch (err) {
    if (err instanceof AppError) throw err;
    deps.log.error({ err, imageId: image.id, store: deps.store.kind }, 'original could not be read from storage');
    throw new StorageUnavailableError();
  }
}

async function loadWatermark(deps: Deps, id: string) {
  const wm = findImage(deps, id);
  const bytes = wm && (await readOriginal(deps, wm));
  if (!bytes) throw new BadOptionError('wm', `Watermark image ${id} does not exist`, 'the id of an image in the library');
  return bytes;
}

const YEAR = 31_536_000;
/** The two Cache-Control values of nearly every hit (no expiry, local original), built once. */
const FOREVER = { public: `public, max-age=${YEAR}, immutable`, private: `private, max-age=${YEAR}, immutable` } as const;

/** The request headers the answer depends on: Accept for f_auto, the client hints w_auto / dpr_auto used. */
export function varyOf(plan: Pick<DeliveryPlan, 'vary' | 'hints'>): string | undefined {
  const names = [...(plan.vary ? ['Accept'] : []), ...hintVary(plan.hints)];
  return names.length > 0 ? names.join(', ') : undefined;
}

export function cacheHeaders(deps: Deps, plan: DeliveryPlan): Record<string, string> {
  // Ids are immutable, so a rendition never changes: cache for a year, unless the URL or the token
  // that authorised it ends sooner. `public` only for what an anonymous caller could fetch too, so
  // a CDN never hands a key- or token-authorised variant to strangers.
  // A remote original's renditions change when the origin's file does: kept no longer than ORIGIN_TTL_SECONDS.
  const scope = plan.shared ? 'public' : 'private';
  let cacheControl: string = FOREVER[scope];
  if (plan.expiresAt !== undefined || plan.credentialExpiresAt !== undefined || plan.maxAge !== undefined) {
    const ends = [plan.expiresAt, plan.credentialExpiresAt].filter((t): t is number => t !== undefined);
    const maxAge = Math.max(0, Math.min(plan.maxAge ?? YEAR, ...ends.map((t) => t - deps.clock())));
    const immutable = maxAge === YEAR && plan.maxAge === undefined;
    cacheControl = `${scope}, max-age=${maxAge}${immutable ? ', immutable' : ''}`;
  }
  const headers: Record<string, string> = {
    ETag: plan.etag,
    'Cache-Control': cacheControl,
    'Cache-Tag': `img-${plan.image.id}`,
    'X-Content-Type-Options': 'nosniff',
  };
  const vary = varyOf(plan);
  if (vary) headers.Vary = vary;
  if (plan.hints.width || plan.hints.dpr) {
    // Browsers act on Accept-CH from a page only; here it tells a CDN or a same-origin page which hints size this answer.
    headers['Accept-CH'] = ACCEPT_CH;
    if (plan.contentDpr !== undefined) headers['Content-DPR'] = String(plan.contentDpr);
  }
  return headers;
}

export function notModified(c: Context, deps: Deps, plan: DeliveryPlan): Response | undefined {
  const inm = c.req.header('if-none-match');
  if (!inm) return undefined;
  const tags = inm.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes(plan.etag) && !tags.includes('*')) return undefined;
  return new Response(null, { status: 304, headers: cacheHeaders(deps, plan) });
}

export function imageResponse(c: Context, deps: Deps, plan: DeliveryPlan, r: CachedRendition, extra: Record<string, string> = {}): Response {
  // The rendition's own headers come ready with a memory hit (src/cache/memory.ts): only who-asked headers are built here.
  const headers = Object.assign(cacheHeaders(deps, plan), r.headers ?? renditionHeaders(r), extra);
  const requestId = requestIdOf(c);
  if (requestId === undefined) return new Response(c.req.method === 'HEAD' ? null : r.data, { status: 200, headers });
  headers['X-Request-Id'] = requestId;
  return registerResponse(new Response(c.req.method === 'HEAD' ? null : r.data, { status: 200, headers }), headers);
}
