/** Typed spec + bytes → image bytes. Never sees URLs or HTTP. */
export { render } from './pipeline.js';
export { decodes, probe, placeholder, type Placeholder } from './probe.js';
export type { ImageFacts, RenderLimits, RenderOptions, RenderResult } from './types.js';
