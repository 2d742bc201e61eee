import { OUTPUT_FORMATS, type OutputFormat, type Spec } from './types.js';

export interface SourceFacts {
  format: string;
  hasAlpha: boolean;
  animated: boolean;
}

/** True when the Accept header lists `type` with a non-zero q (`image/avif;q=0` means "not this"). */
export function accepts(accept: string | undefined, type: string): boolean {
  if (!accept) return false;
  for (const part of accept.toLowerCase().split(',')) {
    const [media, ...params] = part.split(';').map((s) => s.trim());
    if (media !== type) continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Only GIF and WebP animations play back, and only into GIF or WebP (a multi-page TIFF is not an animation). */
const ANIMATED = new Set(['gif', 'webp']);

/** Frames the output will carry: every frame when an animation stays animated, else the first one. */
export function outputFrames(sourceFormat: string, frames: number, format: OutputFormat): number {
  return frames > 1 && ANIMATED.has(sourceFormat) && ANIMATED.has(format) ? frames : 1;
}

function isOutputFormat(format: string): format is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(format);
}

/**
 * The format to encode: f_ when given, the best the client accepts for f_auto (vary: true
 * so the response says `Vary: Accept`), else the source's own format when it is one we write.
 */
export function chooseFormat(spec: Spec, source: SourceFacts, accept: string | undefined): { format: OutputFormat; vary: boolean } {
  const animated = source.animated && ANIMATED.has(source.format);
  if (spec.f === 'auto') {
    // Animation survives only in webp and gif (sharp does not write animated AVIF).
    if (animated) return { format: accepts(accept, 'image/webp') ? 'webp' : 'gif', vary: true };
    if (accepts(accept, 'image/avif')) return { format: 'avif', vary: true };
    if (accepts(accept, 'image/webp')) return { format: 'webp', vary: true };
    return { format: source.hasAlpha ? 'png' : 'jpeg', vary: true };
  }
  if (spec.f !== undefined) return { format: spec.f, vary: false };
  const own = source.format === 'jpg' ? 'jpeg' : source.format;
  if (isOutputFormat(own)) return { format: own, vary: false };
  return { format: source.hasAlpha ? 'png' : 'jpeg', vary: false };
}
