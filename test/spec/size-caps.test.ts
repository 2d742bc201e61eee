import { describe, expect, it } from 'vitest';
import { OutputTooLargeError } from '../../src/errors.js';
import { parseSpec, planLayout, rotatedSize, type Size } from '../../src/spec/index.js';
import { CROP_MODES, type SpecLimits } from '../../src/spec/types.js';
import { rng } from '../helpers/rng.js';

/**
 * A size the caller names is the size delivered, or the request is refused as too large: never
 * a silently different image (w_40 on a 1x5000 strip was 2x8192). Property test over every c_
 * mode, both sides, dpr_ and rotations, on sources from ordinary to extreme strips, with small
 * caps so every cap is reached often.
 */

const LIMITS: SpecLimits = { maxOutputDim: 1000, maxOutputPixels: 300_000, maxAnimationPixels: 600_000 };

const SOURCES: Size[] = [
  { width: 1, height: 5000 },
  { width: 5000, height: 1 },
  { width: 3, height: 2000 },
  { width: 640, height: 480 },
  { width: 2000, height: 2000 },
  { width: 1200, height: 90 },
];
const ANGLES = [0, 0, 90, 180, 270, 30, -45];
const SIZE_MODES = CROP_MODES.filter((m) => m !== 'crop');

function caseAt(random: () => number) {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const side = () => 1 + Math.floor(random() ** 2 * LIMITS.maxOutputDim);
  const source = pick(SOURCES);
  const mode = pick(SIZE_MODES);
  const which = pick(['w', 'h', 'wh'] as const);
  const w = which === 'h' ? undefined : side();
  const h = which === 'w' ? undefined : side();
  const dpr = pick([1, 1, 1, 2]);
  const r = pick(ANGLES);
  const frames = pick([1, 1, 3]);
  const items = [`c_${mode}`, w && `w_${w}`, h && `h_${h}`, dpr !== 1 && `dpr_${dpr}`, r && `r_${r}`].filter(Boolean);
  return { source, mode, w: w && w * dpr, h: h && h * dpr, r, frames, options: items.join(',') };
}

function over(size: Size, frames: number): boolean {
  const pixels = size.width * size.height;
  return (
    Math.max(size.width, size.height) > LIMITS.maxOutputDim || pixels > LIMITS.maxOutputPixels || (frames > 1 && pixels * frames > LIMITS.maxAnimationPixels)
  );
}

describe('a named size is delivered or refused, never changed (property, 3000 cases)', () => {
  const random = rng(20261202);
  const cases = Array.from({ length: 3000 }, () => caseAt(random)).filter((c) => c.frames === 1 || c.r % 180 === 0);

  it('every case either refuses with output_too_large or honours the named sides within the caps', () => {
    const failures: string[] = [];
    let refused = 0;
    for (const c of cases) {
      let spec: ReturnType<typeof parseSpec>;
      try {
        spec = parseSpec(c.options, undefined, LIMITS);
      } catch {
        continue; // dpr_ past the cap is refused by the parser already
      }
      const name = `${c.options} on ${c.source.width}x${c.source.height}${c.frames > 1 ? ` x${c.frames} frames` : ''}`;
      let layout: ReturnType<typeof planLayout>;
      try {
        layout = planLayout(spec, { ...c.source, frames: c.frames }, LIMITS);
      } catch (err) {
        if (!(err instanceof OutputTooLargeError)) {
          failures.push(`${name}: threw ${(err as Error).message}`);
          continue;
        }
        refused += 1;
        // Refused only for a size that really is over: the details are the size it would have made.
        const { width, height } = err.details as unknown as Size;
        if (!over({ width, height }, c.frames)) failures.push(`${name}: refused ${width}x${height}, which fits`);
        continue;
      }
      const { sized, final } = layout;
      if (over(final, c.frames)) failures.push(`${name}: delivered ${final.width}x${final.height}, over the caps`);
      const turned = c.r % 90 === 0 ? final : rotatedSize(sized, c.r);
      if (turned.width !== final.width || turned.height !== final.height) failures.push(`${name}: final is not the turned size`);
      if (c.mode === 'limit') {
        if ((c.w && sized.width > c.w) || (c.h && sized.height > c.h)) failures.push(`${name}: c_limit gave ${sized.width}x${sized.height}`);
      } else if (c.mode === 'fit' || c.mode === 'pad' || c.w === undefined || c.h === undefined) {
        // Fitting inside a box names its binding side; with one side named, that side.
        const bound = (c.w === undefined || sized.width !== c.w) && (c.h === undefined || sized.height !== c.h);
        if (bound) failures.push(`${name}: delivered ${sized.width}x${sized.height}, neither named side`);
      } else if (sized.width !== c.w || sized.height !== c.h) {
        failures.push(`${name}: delivered ${sized.width}x${sized.height}, not ${c.w}x${c.h}`);
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
    // The property reached both outcomes often: it is not vacuous.
    expect(refused).toBeGreaterThan(200);
    expect(cases.length - refused).toBeGreaterThan(1000);
  });

  it.each([
    ['w_40', { width: 1, height: 5000 }, 'MAX_OUTPUT_DIM', 40, 200000],
    ['h_40', { width: 5000, height: 1 }, 'MAX_OUTPUT_DIM', 200000, 40],
    ['c_pad,w_40', { width: 1, height: 5000 }, 'MAX_OUTPUT_DIM', 40, 200000],
    ['c_scale,w_500', { width: 3, height: 2000 }, 'MAX_OUTPUT_DIM', 500, 333333],
    ['w_800', { width: 2000, height: 2000 }, 'MAX_OUTPUT_PIXELS', 800, 800],
  ])('%s on %o is refused with the size it would have made', (options, source, limit, width, height) => {
    const err = (() => {
      try {
        planLayout(parseSpec(options, undefined, LIMITS), source, LIMITS);
      } catch (e) {
        return e as OutputTooLargeError;
      }
    })();
    expect(err).toBeInstanceOf(OutputTooLargeError);
    expect(err!.details).toMatchObject({ limit, width, height });
  });

  it('c_limit promises "at most", so like a request naming no size it is fitted into the caps', () => {
    expect(planLayout(parseSpec('c_limit,w_40', undefined, LIMITS), { width: 3, height: 5000 }, LIMITS).final).toEqual({ width: 1, height: 1000 });
    expect(planLayout(parseSpec('c_limit,w_900', undefined, LIMITS), { width: 2000, height: 2000 }, LIMITS).final).toEqual({ width: 547, height: 547 });
  });
});
