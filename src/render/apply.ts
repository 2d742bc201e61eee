import { DECLARED_KEYS, isDefault, registry, type KeysInPhase, type Spec, type SpecKey } from '../spec/index.js';
import type { RenderContext } from './context.js';

/**
 * The phases in which each option owns its step. Geometry is planned as a whole (spec/geometry.ts
 * planLayout: sizes, crops and turns depend on each other) and the watermark is one step over
 * wm_, wmg_, wmo_ and wms_, so those phases keep their own step functions.
 */
export type AppliedPhase = 'effects' | 'canvas' | 'encode';

/**
 * What one option does to the sharp pipeline, or which step applies it when that is not its own
 * (bg_ is the fill of several steps, f_ is negotiated before the render starts).
 */
export type OptionStep<K extends SpecKey> =
  | {
      apply(ctx: RenderContext, value: NonNullable<Spec[K]>): void;
      /** sharp runs it after compositing: with overlays to composite it takes a pass of its own. */
      afterComposite?: true;
    }
  | { by: string };

/** A phase's steps, one per registry option of that phase: the compiler refuses a table that misses one. */
export type PhaseSteps<P extends AppliedPhase> = { readonly [K in KeysInPhase<P>]: OptionStep<K> };

const keysOf = (phase: AppliedPhase) => DECLARED_KEYS.filter((key) => registry[key].phase === phase);

/** Each phase's options in registry order, the order their steps run in. */
export const PHASE_KEYS: Readonly<Record<AppliedPhase, readonly SpecKey[]>> = {
  effects: keysOf('effects'),
  canvas: keysOf('canvas'),
  encode: keysOf('encode'),
};

function stepOf(steps: object, key: SpecKey): OptionStep<SpecKey> {
  return (steps as unknown as Record<string, OptionStep<SpecKey>>)[key];
}

/** Run the step of every option of `phase` the spec sets to something other than its default, in registry order. */
export function applyPhase<P extends AppliedPhase>(ctx: RenderContext, phase: P, steps: PhaseSteps<P>): void {
  for (const key of PHASE_KEYS[phase]) {
    const value = ctx.spec[key];
    if (value === undefined || isDefault(key, value as never)) continue;
    const step = stepOf(steps, key);
    if ('apply' in step) step.apply(ctx, value as never);
  }
}

/** True when an option the spec sets in `phase` is one sharp would run after compositing. */
export function runsAfterComposite<P extends AppliedPhase>(ctx: RenderContext, phase: P, steps: PhaseSteps<P>): boolean {
  return PHASE_KEYS[phase].some((key) => {
    const step = stepOf(steps, key);
    return ctx.spec[key] !== undefined && 'apply' in step && step.afterComposite === true;
  });
}
