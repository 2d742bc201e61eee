import { describe, expect, it } from 'vitest';
import { BadOptionError, OutputTooLargeError } from '../../src/errors.js';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_LIMITS, SPEC_KEYS, canonicalize, parseSpec, planGeometry, registry, signingForm } from '../../src/spec/index.js';
import { resolveHints } from '../../src/spec/hints.js';
import { rng } from '../helpers/rng.js';

const HINTS = loadConfig({}).clientHints;

const ALPHABET = 'wh_crgaexypqfbmtdl0123456789:,.-+ %/\\\u00e9\u0000\u{1F600}auto max jpg png fill';
const VECTORS = SPEC_KEYS.flatMap((k) => [...registry[k].valid, ...registry[k].invalid]);

function randomOptions(next: () => number): string {
  const kind = next();
  if (kind < 0.4) {
    // Random characters, weighted to the grammar's own.
    const len = Math.floor(next() * 30);
    return Array.from({ length: len }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join('');
  }
  // Splice real vectors together, then maybe mutate one character.
  const n = 1 + Math.floor(next() * 4);
  let s = Array.from({ length: n }, () => VECTORS[Math.floor(next() * VECTORS.length)]).join(',');
  if (next() < 0.5 && s.length > 0) {
    const i = Math.floor(next() * s.length);
    s = s.slice(0, i) + ALPHABET[Math.floor(next() * ALPHABET.length)] + s.slice(i + 1);
  }
  return s;
}

describe('parseSpec on arbitrary input', () => {
  it('throws nothing but BadOptionError, and what it accepts round-trips', () => {
    const next = rng(20240501);
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const options = randomOptions(next);
      const ext = next() < 0.1 ? ['webp', 'jpg', 'json', '', 'PNG'][Math.floor(next() * 5)] : undefined;
      try {
        const parsed = parseSpec(options, ext);
        accepted++;
        // w_auto / dpr_auto resolved as a request would, with arbitrary (even absurd) hints.
        const hints = next() < 0.5 ? {} : { width: Math.floor(next() * 20_000) + 1, dpr: next() < 0.5 ? undefined : next() * 6 };
        const { spec } = resolveHints(parsed, hints, HINTS, DEFAULT_LIMITS.maxOutputDim);
        const canonical = canonicalize(spec);
        expect(canonicalize(parseSpec(canonical))).toBe(canonical);
        expect(signingForm(spec).length).toBeGreaterThanOrEqual(canonical.length);
        try {
          const size = planGeometry(spec, { width: 640, height: 480 });
          expect(size.width).toBeGreaterThan(0);
          expect(size.height).toBeGreaterThan(0);
          // Whatever the options, a planned size is within every output cap.
          expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(DEFAULT_LIMITS.maxOutputDim);
          expect(size.width * size.height).toBeLessThanOrEqual(DEFAULT_LIMITS.maxOutputPixels);
        } catch (err) {
          // A crop outside the image (BadOptionError) or a result over a cap (OutputTooLargeError): both 400s.
          expect(err instanceof BadOptionError || err instanceof OutputTooLargeError).toBe(true);
        }
      } catch (err) {
        if (!(err instanceof BadOptionError)) throw new Error(`${JSON.stringify(options)} threw ${String(err)}`);
      }
    }
    // The generator must exercise the happy path too.
    expect(accepted).toBeGreaterThan(300);
  });
});
