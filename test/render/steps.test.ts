import { describe, expect, it } from 'vitest';
import { PHASE_KEYS, type AppliedPhase } from '../../src/render/apply.js';
import { CANVAS } from '../../src/render/steps/canvas.js';
import { EFFECTS } from '../../src/render/steps/effects.js';
import { ENCODE } from '../../src/render/steps/encode.js';
import { DECLARED_KEYS, registry } from '../../src/spec/index.js';

const TABLES: Record<AppliedPhase, object> = { effects: EFFECTS, canvas: CANVAS, encode: ENCODE };

describe('every option of an applied phase has its step', () => {
  it.each(Object.keys(TABLES) as AppliedPhase[])('%s: one step per registry option, in registry order, and no other', (phase) => {
    const inRegistry = DECLARED_KEYS.filter((key) => registry[key].phase === phase);
    expect(PHASE_KEYS[phase]).toEqual(inRegistry);
    expect(Object.keys(TABLES[phase]).sort()).toEqual([...inRegistry].sort());
  });

  it.each(
    (Object.keys(TABLES) as AppliedPhase[]).flatMap((phase) =>
      Object.entries(TABLES[phase]).map(([key, step]) => [phase, key, step] as [AppliedPhase, string, Record<string, unknown>]),
    ),
  )('%s %s: an apply function, or the step that applies it named', (_phase, _key, step) => {
    if ('by' in step) expect(String(step.by).length).toBeGreaterThan(10);
    else expect(typeof step.apply).toBe('function');
  });
});
