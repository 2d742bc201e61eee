import type { Layout } from './geometry.js';
import { formatItem, registry, SPEC_KEYS } from './registry.js';
import type { OutputFormat, Spec } from './types.js';

/**
 * True when `spec` changes no pixel of the source: the planned layout neither crops, resizes
 * nor turns it, and every option present (with a non-default value) belongs to the encode or
 * meta phase. Only then may the source's bytes stand in for a re-encode that came out bigger.
 *
 * Decided per phase, from the registry, so a new option is pixel-changing unless it is an
 * encode/meta option: forgetting to list it here can never drop a transform again.
 */
export function keepsPixels(spec: Spec, layout: Layout, format: OutputFormat): boolean {
  if (layout.crop || layout.resize || layout.rotate90 !== 0 || layout.angle !== 0) return false;
  for (const key of SPEC_KEYS) {
    const value = spec[key];
    if (value === undefined || formatItem(key, value as never) === undefined) continue;
    const phase = registry[key].phase;
    if (phase === 'encode' || phase === 'meta') {
      // A PNG quality asks for a palette: lossy, so pixels change.
      if (key === 'q' && format === 'png') return false;
      continue;
    }
    // Sizes and turns already showed in the layout; flips and everything else change pixels.
    if (phase === 'geometry' && key !== 'fl_flip' && key !== 'fl_mirror') continue;
    return false;
  }
  return true;
}
