/** The URL grammar: options text → typed Spec → canonical key / output format / output size. Never imports sharp. */
export * from './types.js';
export {
  registry,
  SPEC_KEYS,
  DECLARED_KEYS,
  NAME_TO_KEY,
  formatItem,
  isDefault,
  type KeysInPhase,
  type ImageTrait,
  type OpDef,
  type Probe,
  type Registry,
} from './registry.js';
export { parseSpec, validateSpec, checkSpec, splitItem } from './parse.js';
export { quarterTurn, valueAt, type JsonBody, type JsonField, type JsonValue, type NoJson } from './json.js';
export { canonicalize, signingForm, mergePreset, normalize } from './canonical.js';
export { chooseFormat, accepts, outputFrames, type SourceFacts } from './format.js';
export { largestFitting, planGeometry, planLayout, resolveBox, rotatedSize, type Layout, type PlanSource, type Region, type Size } from './geometry.js';
export { optionsMarkdownTable } from './docs.js';
export { keepsPixels } from './identity.js';
