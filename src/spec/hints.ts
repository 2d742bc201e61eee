import type { ResolvedSpec, Spec } from './types.js';

/**
 * `w_auto` / `dpr_auto` resolved against a request's client hints, before anything is planned,
 * keyed or rendered: the resolved numbers are what the canonical form, the cache key, the access
 * checks and the renderer see, so `auto` never goes further than this module. The hints are
 * rounded UP to configured steps: a browser sends its exact layout width (301, 302, … px), and
 * every distinct value would otherwise be its own render and cache entry.
 *
 * Knows no HTTP: the delivery layer reads the headers (delivery/hints.ts) and passes numbers.
 */

/** What the request said, already parsed; an absent or malformed header is undefined. */
export interface ClientHints {
  /** Intrinsic width the layout wants, in device pixels (Sec-CH-Width / Width). */
  width?: number;
  /** Device pixel ratio (Sec-CH-DPR / DPR). */
  dpr?: number;
}

/** Widths a hint rounds up to: every multiple of `step`, or the first of `widths` (ascending) that fits. */
export type WidthSteps = { kind: 'every'; step: number } | { kind: 'list'; widths: readonly number[] };

/** CLIENT_HINT_* parsed once (config.ts). */
export interface HintConfig {
  widths: WidthSteps;
  /** Ascending; a DPR rounds up to the first that fits, past the last to the last. */
  dprs: readonly number[];
  /** `w_auto` without a width hint nor its own `:{fallback}`: means `w_{this}`. */
  fallbackWidth: number;
}

/** Which hints the answer depends on: exactly these go in `Vary`. */
export interface HintUse {
  width: boolean;
  dpr: boolean;
}

export interface Resolved {
  spec: ResolvedSpec;
  used: HintUse;
  /**
   * The CSS size the image is laid out at, when `dpr_auto` asked for a density and it is known:
   * the delivered size divided by it is the `Content-DPR` of the answer.
   */
  css?: { width: number } | { height: number };
}

export const NO_HINTS: ClientHints = {};

export function usesHints(spec: Spec): boolean {
  return typeof spec.w === 'object' || spec.dpr === 'auto';
}

/**
 * The planner, the cache key and the renderer take resolved specs only. Typed `Spec` at their
 * entry (tests and JSON bodies hand them parsed specs) and checked here: reaching one with `auto`
 * is a bug in a caller that skipped `resolveHints`, never something a URL can cause.
 */
export function assertResolved(spec: Spec): asserts spec is ResolvedSpec {
  if (usesHints(spec)) throw new Error('w_auto / dpr_auto reached the planner unresolved: call resolveHints with the request first');
}

/** A hint width rounded up to the next step, never over `maxOutputDim`. */
export function stepWidth(width: number, steps: WidthSteps, maxOutputDim: number): number {
  let w: number;
  if (steps.kind === 'every') w = Math.ceil(width / steps.step) * steps.step;
  else w = steps.widths.find((s) => s >= width) ?? steps.widths[steps.widths.length - 1];
  return Math.max(1, Math.min(w, maxOutputDim));
}

/** A hint DPR rounded up to the next step (past the last: the last; the spec's own dpr_ stops at 4). */
export function stepDpr(dpr: number, steps: readonly number[]): number {
  return steps.find((s) => s >= dpr) ?? steps[steps.length - 1];
}

/**
 * The spec with `w_auto` / `dpr_auto` replaced by numbers (any other spec comes back as it is).
 *
 * A width hint counts device pixels, so it is the delivered width itself: with `dpr_auto` too,
 * the DPR then multiplies only `h_` (folded into it here, as the canonical form would). Without a
 * width hint, `w_auto:{px}` means `w_{px}`, which `dpr_auto` multiplies like any `w_`.
 */
export function resolveHints(spec: Spec, hints: ClientHints, config: HintConfig, maxOutputDim: number): Resolved {
  const used: HintUse = { width: typeof spec.w === 'object', dpr: spec.dpr === 'auto' };
  if (!used.width && !used.dpr) return { spec: spec as ResolvedSpec, used };
  let dpr = spec.dpr === 'auto' ? (hints.dpr === undefined ? 1 : stepDpr(hints.dpr, config.dprs)) : spec.dpr;
  if (spec.dpr === 'auto' && dpr !== undefined) {
    // The density multiplies h_ always, and w_ unless a width hint (already device pixels) sets it.
    const widthHinted = typeof spec.w === 'object' && hints.width !== undefined;
    const w = typeof spec.w === 'number' ? spec.w : typeof spec.w === 'object' && !widthHinted ? (spec.w.fallback ?? config.fallbackWidth) : undefined;
    dpr = capDpr(dpr, [w, spec.h], config.dprs, maxOutputDim);
  }
  const out: ResolvedSpec = { ...spec, w: undefined, dpr };
  let css: Resolved['css'];
  if (typeof spec.w === 'object' && hints.width !== undefined) {
    out.w = stepWidth(hints.width, config.widths, maxOutputDim);
    if (out.h !== undefined && dpr !== undefined) out.h = Math.round(out.h * dpr);
    delete out.dpr;
    if (used.dpr && hints.dpr !== undefined) css = { width: hints.width / hints.dpr };
  } else {
    out.w = typeof spec.w === 'object' ? (spec.w.fallback ?? config.fallbackWidth) : spec.w;
    if (used.dpr) css = out.w !== undefined ? { width: out.w } : out.h !== undefined ? { height: out.h } : undefined;
  }
  if (out.w === undefined) delete out.w;
  if (out.dpr === undefined) delete out.dpr;
  return { spec: out, used, css };
}

/**
 * A hinted density never turns a working URL into a 400: when it would push a side past the
 * output cap, the largest configured step that keeps it in is used (1 at worst), as a phone
 * with a 3x screen simply gets the largest image the server makes.
 */
function capDpr(dpr: number, sides: Array<number | undefined>, steps: readonly number[], maxOutputDim: number): number {
  const longest = Math.max(0, ...sides.filter((s): s is number => s !== undefined));
  if (longest === 0 || longest * dpr <= maxOutputDim) return dpr;
  const fitting = steps.filter((step) => step <= dpr && longest * step <= maxOutputDim);
  return fitting.length > 0 ? Math.max(...fitting) : 1;
}

/**
 * The delivered density against the CSS size, for `Content-DPR`. Rounded down to 3 decimals:
 * a browser divides the pixel size by it and floors, so rounding up would lay a 320 px image for
 * a 180 px slot out at 179 px (Chromium does, see test/hints/browser.test.ts).
 */
export function contentDpr(css: Resolved['css'], delivered: { width: number; height: number }): number | undefined {
  if (!css) return undefined;
  const ratio = 'width' in css ? delivered.width / css.width : delivered.height / css.height;
  const rounded = Number.isFinite(ratio) ? Math.floor(ratio * 1000 + 1e-9) / 1000 : 0;
  return rounded > 0 ? rounded : undefined;
}
