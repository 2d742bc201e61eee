/**
 * The image core: given an authority, an image, options and `Accept` (plus client hints), it
 * decides access, plans (canonical spec, format, key, ETag, size, cache policy) and produces the
 * rendition through the cache tiers. It knows nothing about HTTP: each surface (/img, /random,
 * the library's transforms and variants, the CLI) maps its results and typed errors itself.
 */
export { checkWatermark, findImage, visibleImage } from './images.js';
export { parseOptions, specLimits } from './options.js';
export { planDelivery, planFitted, type DeliveryPlan, type PlanArgs } from './plan.js';
export { renderVia } from './render.js';
