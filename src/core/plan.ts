import { createHash } from 'node:crypto';
import { anonymousMayFetch, checkDeliveredWidth, checkOptionsAllowed, checkOutputFormat, checkPresetWithinPolicy } from '../auth/access.js';
import { callerOf, credentialExpiry, type Authority } from '../auth/principal.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { BadOptionError, ForbiddenError, OutputTooLargeError, WatermarkRefusedError } from '../errors.js';
import type { PresetRow } from '../repos/presets.js';
import {
  canonicalize,
  chooseFormat,
  largestFitting,
  mergePreset,
  outputFrames,
  planLayout,
  type OutputFormat,
  type ResolvedSpec,
  type Size,
  type Spec,
} from '../spec/index.js';
import { contentDpr, NO_HINTS, resolveHints, type ClientHints, type HintUse } from '../spec/hints.js';
import { watermarkAllowed } from './images.js';
import { cacheTagOf } from './tags.js';
import { parseOptions, specLimits } from './options.js';

/**
 * The plan of one delivery: access -> spec -> format -> key, before any image byte is touched,
 * so a 304 or a cache hit costs a row lookup (none while the database is unchanged) and a hash.
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
  /** `Cache-Tag`: the image, the URL's watermark image and the preset, as the CDN purges name them (src/core/tags.ts). */
  cacheTag: string;
  /** Unix seconds after which the URL stops working (exp_ of a signed URL). */
  expiresAt?: number;
  /** Whether an anonymous caller could have fetched this very response: only then may a shared cache keep it. */
  shared: boolean;
  /** Unix seconds at which the token that authorised the request (policy or session) ends. */
  credentialExpiresAt?: number;
  /** Longest a cache may keep the answer: set for remote originals, whose bytes may change under the same id. */
  maxAge?: number;
}

export interface PlanArgs {
  /** Whose word the rendition is made on (src/auth/principal.ts Authority). */
  authority: Authority;
  image: ImageRow;
  spec: Spec;
  accept?: string;
  /** The request's client hints, for w_auto / dpr_auto (none: their fallbacks). */
  hints?: ClientHints;
  /** The image's bytes may change under its id (a remote original): key by content, cache at most maxAge. */
  mutable?: { maxAge: number };
}

/** The rows a plan reads besides the image, looked up before the (synchronous) planning. */
interface Looked {
  preset: Spec | undefined;
  /** The row of the URL's wm_, else of its preset's. */
  watermark: ImageRow | undefined;
}

/** The preset and the watermark row a plan of `spec` reads: the URL's wm_, else its preset's (the one the render will composite). */
async function lookUp(deps: Deps, spec: Spec): Promise<Looked> {
  const preset = spec.t ? await presetSpec(deps, spec.t) : undefined;
  const wm = spec.wm ?? preset?.wm;
  return { preset, watermark: wm ? await deps.repos.images.find(wm) : undefined };
}

/** Plans the delivery or throws the typed refusal (404, 401, 403, 400) the surface maps. */
export async function planDelivery(deps: Deps, args: PlanArgs): Promise<DeliveryPlan> {
  return planLooked(deps, args, await lookUp(deps, args.spec));
}

function planLooked(deps: Deps, args: PlanArgs, looked: Looked): DeliveryPlan {
  try {
    return planWithHints(deps, args, looked);
  } catch (err) {
    // w_auto: the width is the server's choice (a hint, a fallback), never worth a 400. When the
    // image cannot take it within the output caps (a 1280 fallback on a 200x3000 strip is
    // 1280x19200), the largest width it can take is delivered instead: the same whatever hint
    // asked for more. The density it is delivered at is then not the hint's: no Content-DPR.
    if (!(err instanceof OutputTooLargeError) || typeof args.spec.w !== 'object') throw err;
    const at = (width: number): PlanArgs => ({ ...args, spec: { ...args.spec, w: { auto: true, fallback: width } }, hints: NO_HINTS });
    const width = largestFitting(specLimits(deps).maxOutputDim, (w) => withinCaps(() => planWithHints(deps, at(w), looked)));
    if (width === 0) throw err;
    return { ...planWithHints(deps, at(width), looked), contentDpr: undefined };
  }
}

/**
 * Options applied to whatever image is picked (/random with options), scaled down just enough
 * for this image to take them within the output caps when they name one side and the picked
 * image's shape implies the other: a w_1600 template on a 200x3000 strip is delivered as w_546
 * rather than refused at random. Answers the plan and the options it was made for (the given
 * ones when they fit).
 */
export async function planFitted(deps: Deps, args: PlanArgs): Promise<{ plan: DeliveryPlan; spec: Spec }> {
  // Only w_/h_ change below, so the preset and watermark rows are read once.
  const looked = await lookUp(deps, args.spec);
  try {
    return { plan: planLooked(deps, args, looked), spec: args.spec };
  } catch (err) {
    const { w, h } = args.spec;
    // Only a side the options imply (one named, the other from the picked image's shape): a box
    // named whole (w_ and h_) is too big for any image, and refused as /img refuses it.
    if (!(err instanceof OutputTooLargeError) || (typeof w === 'number') === (h !== undefined)) throw err;
    const spec = (side: number): Spec => ({ ...args.spec, ...(typeof w === 'number' ? { w: side } : { h: side }) });
    const side = largestFitting((typeof w === 'number' ? w : h!) - 1, (n) => withinCaps(() => planLooked(deps, { ...args, spec: spec(n) }, looked)));
    if (side === 0) throw err;
    return { plan: planLooked(deps, { ...args, spec: spec(side) }, looked), spec: spec(side) };
  }
}

/** Whether `plan` succeeds; false when it is refused as over the output caps, any other refusal thrown. */
function withinCaps(plan: () => unknown): boolean {
  try {
    plan();
    return true;
  } catch (err) {
    if (err instanceof OutputTooLargeError) return false;
    throw err;
  }
}

function planWithHints(deps: Deps, args: PlanArgs, looked: Looked): DeliveryPlan {
  try {
    return planOnce(deps, args, looked);
  } catch (err) {
    // A hint never turns a URL that works without it into a 400: a density (then a width) that
    // makes the output, or the image scaled to cover a c_fill box, too large is dropped.
    const hints = args.hints;
    if (!(err instanceof OutputTooLargeError) || !hints || (hints.dpr === undefined && hints.width === undefined)) throw err;
    if (hints.dpr !== undefined && hints.width !== undefined) {
      try {
        return planOnce(deps, { ...args, hints: { width: hints.width } }, looked);
      } catch (again) {
        if (!(again instanceof OutputTooLargeError)) throw again;
      }
    }
    return planOnce(deps, { ...args, hints: NO_HINTS }, looked);
  }
}

function planOnce(deps: Deps, args: PlanArgs, looked: Looked): DeliveryPlan {
  const { authority, image } = args;
  // w_auto / dpr_auto become numbers here, first, for every surface (/img, /random, variants): the
  // access checks, the planner, the cache key and the renderer only ever see the resolved size.
  const resolve = (s: Spec) => resolveHints(s, args.hints ?? NO_HINTS, deps.config.clientHints, specLimits(deps).maxOutputDim);
  const own = resolve(args.spec);
  let { spec, used, css } = own;
  if (spec.exp !== undefined && spec.exp < deps.clock()) {
    throw new ForbiddenError(`This URL expired at ${new Date(spec.exp * 1000).toISOString()}`, 'expired');
  }
  checkOptionsAllowed(authority, spec, deps.config, image);
  // Only the URL's own wm_: a preset's watermark (a private logo, say) is the operator's choice.
  if (spec.wm) watermarkAllowed(authority, spec.wm, looked.watermark);
  const preset = spec.t ?? null;
  if (preset) {
    const fromPreset = looked.preset;
    if (!fromPreset) throw new BadOptionError('t', `Unknown preset ${preset}`, 'a preset name from GET /presets');
    // Merged before resolving: a preset's dpr_auto must see whether the URL's w_auto was a device-pixel hint.
    ({ spec, used, css } = resolve(mergePreset(fromPreset, args.spec, specLimits(deps))));
    checkPresetWithinPolicy(authority, spec, image);
    // A preset's watermark need not be visible to the caller, but must exist: a dry run refuses
    // what the render would (an image deleted since the preset was made).
    if (spec.wm && !looked.watermark) throw new WatermarkRefusedError(spec.wm, args.spec.wm === undefined ? `t_${preset}` : undefined);
  }
  const { format, vary } = chooseFormat(spec, { format: image.format, hasAlpha: image.hasAlpha, animated: image.frames > 1 }, args.accept);
  checkOutputFormat(authority, format, image);
  // The planner on the stored size: output caps and crop bounds fail here, before the original is read.
  const { final: size } = planLayout(
    spec,
    { width: image.width, height: image.height, frames: outputFrames(image.format, image.frames, format) },
    specLimits(deps),
  );
  checkDeliveredWidth(authority, size, image);
  // Who may keep the answer: a shared cache only what anonymous callers could fetch too (the URL's
  // own options and wm_), and nobody past the end of the token that authorised it.
  const caller = callerOf(authority);
  const cache = {
    shared: anonymousMayFetch(image, own.spec, authority, deps.config, !args.spec.wm || looked.watermark?.visibility === 'public'),
    credentialExpiresAt: caller && credentialExpiry(caller),
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
    // Weak: it names the picture a URL renders, known before any work (a 304 needs no render),
    // not its bytes, which can differ by a level between two renders (one started from a
    // reduction, another node, another libvips).
    etag: `W/"${key.slice(0, 27)}"`,
    preset,
    cacheTag: cacheTagOf(image.id, args.spec.wm ? looked.watermark?.id : undefined, preset),
    expiresAt: args.spec.exp,
    ...cache,
    maxAge,
  };
}

/**
 * A preset's parsed spec, parsed again only when its row changes: the presets repo hands back the
 * same frozen row object while the preset is unchanged, so the parse is memoised on that object.
 */
const parsedPresets = new WeakMap<PresetRow, Spec>();

async function presetSpec(deps: Deps, name: string): Promise<Spec | undefined> {
  const row = await deps.repos.presets.byName(name);
  if (!row) return undefined;
  let spec = parsedPresets.get(row);
  if (!spec) parsedPresets.set(row, (spec = Object.freeze(parseOptions(deps, row.options))));
  return spec;
}
