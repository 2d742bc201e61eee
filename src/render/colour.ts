import type { OutputFormat, Spec } from '../spec/index.js';

export interface Rgba {
  r: number;
  g: number;
  b: number;
  /** 0..1, as sharp expects. */
  alpha: number;
}

export const WHITE: Rgba = { r: 255, g: 255, b: 255, alpha: 1 };
export const TRANSPARENT: Rgba = { r: 0, g: 0, b: 0, alpha: 0 };

/** Formats that can carry transparency (GIF's is 1-bit, still better than a white box). */
export function formatHasAlpha(format: OutputFormat): boolean {
  return format !== 'jpeg';
}

/** `rrggbb[aa]` (already validated by the spec parser) → sharp colour. */
export function hexToRgba(hex: string): Rgba {
  const n = (i: number) => parseInt(hex.slice(i, i + 2), 16);
  return { r: n(0), g: n(2), b: n(4), alpha: hex.length === 8 ? Math.round((n(6) / 255) * 1000) / 1000 : 1 };
}

export function toCss(c: Rgba): string {
  return `rgba(${c.r},${c.g},${c.b},${c.alpha})`;
}

/**
 * The fill for pad, rotation and corners: bg_ when given; otherwise transparent where the
 * output format allows it and white where it does not.
 */
export function fillColour(spec: Spec, format: OutputFormat): Rgba {
  const alpha = formatHasAlpha(format);
  if (spec.bg === undefined) return alpha ? TRANSPARENT : WHITE;
  const c = hexToRgba(spec.bg);
  return alpha ? c : { ...c, alpha: 1 };
}
