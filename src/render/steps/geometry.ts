import sharp, { type Gravity as SharpGravity } from 'sharp';
import type { Gravity, Region, Size } from '../../spec/index.js';
import type { RenderContext } from '../context.js';

type Compass = Exclude<Gravity, 'auto' | 'entropy'>;

const SHARP_POSITION: Record<Compass, SharpGravity> = {
  center: 'centre',
  north: 'north',
  south: 'south',
  east: 'east',
  west: 'west',
  north_east: 'northeast',
  north_west: 'northwest',
  south_east: 'southeast',
  south_west: 'southwest',
};

/** Where a w×h window sits inside an outer box, for a compass gravity. */
export function compassOffset(g: Compass, outer: Size, inner: Size): { left: number; top: number } {
  const dx = outer.width - inner.width;
  const dy = outer.height - inner.height;
  const left = g.endsWith('west') ? 0 : g.endsWith('east') ? dx : Math.floor(dx / 2);
  const top = g.startsWith('north') ? 0 : g.startsWith('south') ? dy : Math.floor(dy / 2);
  return { left, top };
}

type Placement = { kind: 'compass'; g: Compass } | { kind: 'strategy'; strategy: number } | { kind: 'focal'; x: number; y: number };

/** g_auto / c_thumb use the stored focal point when there is one, else saliency; animations cannot use saliency. */
function placement(ctx: RenderContext): Placement {
  const { spec, opts } = ctx;
  const g = spec.g ?? (spec.c === 'thumb' ? 'auto' : 'center');
  if (g === 'auto' && opts.focal) return { kind: 'focal', ...focalInRegion(opts.focal, ctx) };
  if (g === 'auto' || g === 'entropy') {
    if (ctx.source.animated) return { kind: 'compass', g: 'center' };
    return { kind: 'strategy', strategy: g === 'auto' ? sharp.strategy.attention : sharp.strategy.entropy };
  }
  return { kind: 'compass', g };
}

/** The stored focal point is a fraction of the whole source; after rg_ it is placed within the region (clamped to it). */
function focalInRegion(f: { x: number; y: number }, ctx: RenderContext): { x: number; y: number } {
  const crop = ctx.layout.crop;
  if (!crop) return f;
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return {
    x: clamp((f.x * ctx.source.width - crop.left) / crop.width),
    y: clamp((f.y * ctx.source.height - crop.top) / crop.height),
  };
}

/** sharp applies flip, then flop, then the right-angle turn; map the focal point through them. */
function focalInFrame(x: number, y: number, flip: boolean, flop: boolean, turn: number): { x: number; y: number } {
  let fx = flop ? 1 - x : x;
  let fy = flip ? 1 - y : y;
  for (let t = 0; t < turn; t += 90) [fx, fy] = [1 - fy, fx];
  return { x: fx, y: fy };
}

/**
 * geometry: c_crop region → resize per c_ mode with gravity → flip/mirror → right-angle turn →
 * arbitrary angle. Sizes come from `planLayout`, so the result matches the `.json` dry run.
 *
 * Order of sharp calls matters: `resize()` before `rotate()` keeps the turn after the resize,
 * which keeps JPEG/WebP shrink-on-load (a turn before the resize would decode at full size).
 */
export function geometry(ctx: RenderContext): void {
  const { img, spec, layout, source } = ctx;
  const turn = layout.rotate90;
  const swap = turn === 90 || turn === 270;
  // fl_ flags mean the delivered orientation; sharp flips before turning, so swap them for quarter turns.
  const flip = swap ? Boolean(spec.fl_mirror) : Boolean(spec.fl_flip);
  const flop = swap ? Boolean(spec.fl_flip) : Boolean(spec.fl_mirror);

  const r = layout.resize;
  const where = r?.fit === 'cover' ? placement(ctx) : undefined;
  // Saliency must see the delivered orientation, so that path turns first, and sharp then turns
  // before its first extract too: the region is given in the turned (and flipped) frame there.
  const turnFirst = where?.kind === 'strategy' && swap;
  if (layout.crop) img.extract(turnFirst ? turnedRegion(layout.crop, source, flip, flop, turn) : layout.crop);

  let turned = false;
  let postExtract: { left: number; top: number; width: number; height: number } | undefined;
  if (r?.fit === 'fill') {
    // sharp resizes before the user's turn, so give it the size in the unturned frame.
    img.resize(swap ? r.height : r.width, swap ? r.width : r.height, { fit: 'fill' });
  } else if (r?.fit === 'cover' && layout.cover && where) {
    const cover = layout.cover;
    if (where.kind === 'strategy') {
      // Saliency looks at the delivered orientation, so a quarter turn goes first here
      // (rotate() before resize() is sharp's "rotate before": no shrink-on-load, rare path).
      if (turnFirst) {
        img.rotate(turn);
        turned = true;
      }
      img.resize(r.width, r.height, { fit: 'cover', position: where.strategy });
    } else if (!swap && where.kind === 'compass') {
      // sharp crops before its arbitrary-angle turn, so this stays one pass even with r_33.
      img.resize(r.width, r.height, { fit: 'cover', position: SHARP_POSITION[where.g] });
    } else {
      img.resize(swap ? cover.height : cover.width, swap ? cover.width : cover.height, { fit: 'fill' });
      if (where.kind === 'focal') {
        const f = focalInFrame(where.x, where.y, flip, flop, turn);
        const clamp = (v: number, max: number) => Math.min(Math.max(0, v), max);
        postExtract = {
          left: clamp(Math.round(f.x * cover.width - r.width / 2), cover.width - r.width),
          top: clamp(Math.round(f.y * cover.height - r.height / 2), cover.height - r.height),
          width: r.width,
          height: r.height,
        };
      } else {
        postExtract = { ...compassOffset(where.g, cover, r), width: r.width, height: r.height };
      }
      // sharp turns by an arbitrary angle before its post-resize extract: a focal crop with an
      // angle (the only way to get here with one, quarter turns exclude angles) takes a second pass.
      if (layout.angle !== 0) ctx.deferredAngle = layout.angle;
    }
  } else if (r?.fit === 'contain') {
    const g = placement(ctx);
    const compass: Compass = g.kind === 'compass' ? g.g : 'center';
    if (swap) {
      // sharp embeds after the turn but sizes before it: size in the unturned frame, then extend.
      const inner = containInner(source, layout, r);
      img.resize(inner.height, inner.width, { fit: 'fill' });
      const { left, top } = compassOffset(compass, r, inner);
      img.extend({ left, top, right: r.width - inner.width - left, bottom: r.height - inner.height - top, background: ctx.fill });
    } else {
      img.resize(r.width, r.height, { fit: 'contain', position: SHARP_POSITION[compass], background: ctx.fill });
    }
  }

  if (flip) img.flip();
  if (flop) img.flop();
  if (turn !== 0 && !turned) img.rotate(turn);
  if (postExtract) img.extract(postExtract);
  if (layout.angle !== 0 && ctx.deferredAngle === undefined) img.rotate(layout.angle, { background: ctx.fill });
}

/**
 * A region of the source, in the frame sharp has made when it flips (vertically), flops and then
 * turns by `turn` before its first extract: the same pixels, seen after those steps.
 */
export function turnedRegion(region: Region, source: Size, flip: boolean, flop: boolean, turn: number): Region {
  let { left, top, width, height } = region;
  let W = source.width;
  let H = source.height;
  if (flip) top = H - top - height;
  if (flop) left = W - left - width;
  for (let t = 0; t < turn; t += 90) {
    // A quarter turn clockwise: (x, y) in W×H lands on (H - 1 - y, x) in H×W.
    [left, top, width, height] = [H - top - height, left, height, width];
    [W, H] = [H, W];
  }
  return { left, top, width, height };
}

/** The fitted image inside a pad box, in the delivered (turned) frame. */
function containInner(source: Size, layout: RenderContext['layout'], box: Size): Size {
  const base = layout.crop ?? source;
  const swap = layout.rotate90 === 90 || layout.rotate90 === 270;
  const frame = swap ? { width: base.height, height: base.width } : base;
  const s = Math.min(box.width / frame.width, box.height / frame.height);
  return {
    width: Math.min(box.width, Math.max(1, Math.round(frame.width * s))),
    height: Math.min(box.height, Math.max(1, Math.round(frame.height * s))),
  };
}

/**
 * By how much the first step shrinks the whole source (the smaller of the two axes' factors), or
 * undefined when the first step is not a resize of the whole source: a region cut first is in
 * source pixels, and an animation is every frame. Every later step works on the resized image in
 * output pixels, so any smaller copy with at least the resize's pixels gives the same result;
 * except a crop whose window saliency or entropy picks from those pixels: resampled twice they
 * pick another window, and the same URL would change its crop with the cache's state.
 */
export function wholeSourceShrink(ctx: RenderContext): number | undefined {
  const { source, layout } = ctx;
  const r = layout.resize;
  if (!r || layout.crop || source.animated) return undefined;
  if (r.fit === 'cover' && placement(ctx).kind === 'strategy') return undefined;
  const swap = layout.rotate90 === 90 || layout.rotate90 === 270;
  const frame = swap ? { width: source.height, height: source.width } : source;
  const content = r.fit === 'cover' ? (layout.cover ?? r) : r.fit === 'contain' ? containInner(source, layout, r) : r;
  return Math.min(frame.width / content.width, frame.height / content.height);
}

/** The arbitrary-angle turn that could not share the first pass. */
export function deferredRotation(ctx: RenderContext): void {
  if (ctx.deferredAngle !== undefined) ctx.img.rotate(ctx.deferredAngle, { background: ctx.fill });
}
