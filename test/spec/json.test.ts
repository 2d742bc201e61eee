import { describe, expect, it } from 'vitest';
import { FIELD_MAPPINGS, transformSchema } from '../../src/library/transform.js';
import { DECLARED_KEYS, registry, type JsonField } from '../../src/spec/index.js';

const fieldsOf = (json: (typeof registry)[keyof typeof registry]['json']): readonly JsonField[] =>
  'none' in json ? [] : Array.isArray(json) ? json : [json as JsonField];

describe('every option has a JSON transform field, or says why not', () => {
  it.each(DECLARED_KEYS)('%s', (key) => {
    const json = registry[key].json;
    if ('none' in json) {
      expect(json.none.length).toBeGreaterThan(10);
      return;
    }
    const fields = fieldsOf(json);
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) {
      // The field is in the body's schema, at its group.
      const top = field.path.split('.')[0];
      expect(Object.keys(transformSchema.shape)).toContain(top);
      expect(FIELD_MAPPINGS.some((m) => m.key === key && m.path === field.path)).toBe(true);
    }
  });

  it('no two options share a JSON path', () => {
    const paths = FIELD_MAPPINGS.map((m) => m.path);
    expect(new Set(paths).size).toBe(paths.length);
  });
});
