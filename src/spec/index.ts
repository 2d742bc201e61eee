/** The URL grammar: options text → typed Spec → canonical key / output format / output size. Never imports sharp. */
export * from './types.js';
export { registry, SPEC_KEYS, formatItem, type OpDef, type Registry } from './registry.js';
export { parseSpec, validateSpec, checkSpec } from './parse.js';
export { canonicalize, signingForm, mergePreset, normalize } from './canonical.js';
export { chooseFormat, accepts, type SourceFacts } from './format.js';
export { planGeometry, planLayout, resolveBox, rotatedSize, type Layout, type Region, type Size } from './geometry.js';
export { optionsMarkdownTable } from './docs.js';
