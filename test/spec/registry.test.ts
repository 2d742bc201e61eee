import { describe, expect, it } from 'vitest';
import { BadOptionError } from '../../src/errors.js';
import { loadConfig } from '../../src/config.js';
import { SPEC_KEYS, canonicalize, formatItem, parseSpec, registry, signingForm, type Spec } from '../../src/spec/index.js';
import { resolveHints, type ClientHints } from '../../src/spec/hints.js';

const HINTS = loadConfig({}).clientHints;
/** w_auto / dpr_auto have a canonical form only once resolved: without hints, with one, with both. */
const REQUESTS: ClientHints[] = [{}, { width: 301 }, { dpr: 2 }, { width: 777, dpr: 1.3 }];

/** The option named by a rejected parse (from the JSON the client would get). */
function rejected(options: string, ext?: string): { option: string; message: string; allowed?: string } {
  try {
    parseSpec(options, ext);
  } catch (err) {
    expect(err).toBeInstanceOf(BadOptionError);
    const body = (err as BadOptionError).toJSON().error as { code: string; option: string; message: string; allowed?: string };
    expect(body.code).toBe('bad_option');
    return body;
  }
  throw new Error(`expected ${options} to be rejected`);
}

/** Other options an entry's default needs around it to be legal (x_ only with c_crop, …). */
const CONTEXT: Partial<Record<keyof Spec, string>> = { x: 'c_crop,w_5,h_5', y: 'c_crop,w_5,h_5', wmg: 'wm_logo', wmo: 'wm_logo' };

describe('option registry', () => {
  for (const key of SPEC_KEYS) {
    const def = registry[key];
    describe(def.names.join('/'), () => {
      it('is documented and has test vectors', () => {
        expect(def.key).toBe(key);
        expect(def.doc.length).toBeGreaterThan(10);
        expect(def.syntax).toContain(def.names[0]);
        expect(def.valid.length).toBeGreaterThan(0);
        expect(def.invalid.length).toBeGreaterThan(0);
      });

      it.each(def.valid)('accepts %s', (item) => {
        const parsed = parseSpec(item);
        expect(parsed[key]).toBeDefined();
        // The signing form (what the URL says, w_auto included) parses back to itself.
        const signing = signingForm(parsed);
        expect(signingForm(parseSpec(signing))).toBe(signing);
        for (const hints of REQUESTS) {
          const { spec } = resolveHints(parsed, hints, HINTS, 8192);
          // The canonical form (the cache key, sizes resolved) parses back to the same canonical form.
          const canonical = canonicalize(spec);
          expect(canonicalize(parseSpec(canonical))).toBe(canonical);
          expect(canonical).not.toContain('auto:');
        }
      });

      it.each(def.invalid)('rejects %s naming the option', (item) => {
        const body = rejected(item);
        expect(def.names).toContain(body.option);
        expect(body.message.length).toBeGreaterThan(5);
      });

      if (def.default !== undefined) {
        it('drops its default from the canonical form', () => {
          const ctx = CONTEXT[key];
          const item = formatItem(key, def.default as never);
          expect(item).toBeUndefined();
          const text = def.format(def.default as never);
          const written = text === undefined ? def.names[0] : `${def.names[0]}${def.sep}${text}`;
          const withDefault = ctx ? `${ctx},${written}` : written;
          expect(canonicalize(parseSpec(withDefault))).toBe(canonicalize(parseSpec(ctx ?? '')));
        });
      }
    });
  }

  it('has one entry per URL name', () => {
    const names = SPEC_KEYS.flatMap((k) => registry[k].names);
    expect(new Set(names).size).toBe(names.length);
  });
});
