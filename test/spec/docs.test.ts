import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SPEC_KEYS, optionsMarkdownTable, registry } from '../../src/spec/index.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const START = '<!-- options:start -->';
const END = '<!-- options:end -->';
const readme = existsSync(README) ? readFileSync(README, 'utf8') : '';
const hasMarkers = readme.includes(START) && readme.includes(END);

describe('options table', () => {
  it('documents every option', () => {
    const table = optionsMarkdownTable();
    for (const key of SPEC_KEYS) expect(table).toContain(`\`${registry[key].syntax}\``);
  });

  it.skipIf(!hasMarkers)('README.md holds exactly the generated table (run npm run docs:options)', () => {
    const between = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END));
    expect(between.trim()).toBe(optionsMarkdownTable().trim());
  });
});
