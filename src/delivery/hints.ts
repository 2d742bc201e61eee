import type { ClientHints, HintUse } from '../spec/hints.js';

/**
 * Client hints as HTTP carries them. The spec module resolves `w_auto` / `dpr_auto` from plain
 * numbers; this module knows the header names: the structured `Sec-CH-*` ones Chromium sends
 * today, and the legacy `Width` / `DPR` (still sent next to them, and by older clients alone).
 */

/** Every hint imgpath reads, for `Accept-CH` (a page's own, or ours on hint-sized answers). */
export const ACCEPT_CH = 'Sec-CH-Width, Sec-CH-DPR, Width, DPR';

const WIDTH_HEADERS = ['Sec-CH-Width', 'Width'] as const;
const DPR_HEADERS = ['Sec-CH-DPR', 'DPR'] as const;

/** Past any screen; a bigger value is junk, not a layout (the steps and caps would bound it anyway). */
const MAX_HINT_WIDTH = 100_000;
const MAX_HINT_DPR = 20;
/** Below this a DPR hint is noise (no screen has 0.000001 device pixels per CSS pixel): ignored. */
const MIN_HINT_DPR = 0.1;

/**
 * The hints of a request; a malformed one is ignored as if absent (a header is the browser's
 * word, not the user's: it must never turn an image into a 400). `Sec-CH-*` wins over legacy.
 */
export function readClientHints(header: (name: string) => string | undefined | null): ClientHints {
  const width = first(WIDTH_HEADERS, header, (raw) => (/^\d{1,6}$/.test(raw) ? Number(raw) : undefined), 1, MAX_HINT_WIDTH);
  const dpr = first(DPR_HEADERS, header, (raw) => (/^\d{1,3}(\.\d{1,6})?$/.test(raw) ? Number(raw) : undefined), MIN_HINT_DPR, MAX_HINT_DPR);
  return { ...(width === undefined ? {} : { width }), ...(dpr === undefined ? {} : { dpr }) };
}

function first(
  names: readonly string[],
  header: (name: string) => string | undefined | null,
  parse: (raw: string) => number | undefined,
  min: number,
  max: number,
): number | undefined {
  for (const name of names) {
    const raw = header(name)?.trim();
    if (!raw) continue;
    const n = parse(raw);
    if (n !== undefined && n >= min && n <= max) return n;
  }
  return undefined;
}

/** The request headers an answer depends on, for `Vary`: exactly the hints its options used. */
export function hintVary(used: HintUse): string[] {
  return [...(used.width ? WIDTH_HEADERS : []), ...(used.dpr ? DPR_HEADERS : [])];
}
