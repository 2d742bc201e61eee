import type { Config } from '../config.js';

/**
 * The names a CDN files a response under (`Cache-Tag`, and `Surrogate-Key` for Fastly), so one
 * purge by tag reaches every URL that showed an image or went through a preset, whatever options,
 * name (random or public id) or signature the URL carried. The library's purges (src/library/cdn.ts)
 * send exactly these names.
 */

export const imageTag = (imageId: string) => `img-${imageId}`;
export const presetTag = (name: string) => `preset-${name}`;

/** Cache-Tag's value for a response showing `imageId` (and the watermark image, and the preset it came through). */
export function cacheTagOf(imageId: string, watermarkId?: string, preset?: string | null): string {
  // The common case (no wm_, no preset) is one string: this is built on every hit.
  if (!watermarkId && !preset) return imageTag(imageId);
  return [imageTag(imageId), ...(watermarkId ? [imageTag(watermarkId)] : []), ...(preset ? [presetTag(preset)] : [])].join(',');
}

/** The tag headers of a response: Cloudflare and others read Cache-Tag (comma list), Fastly Surrogate-Key (space list). */
export function tagHeaders(config: Pick<Config, 'PURGE_WEBHOOK_FORMAT'>, cacheTag: string): Record<string, string> {
  return config.PURGE_WEBHOOK_FORMAT === 'fastly' ? { 'Cache-Tag': cacheTag, 'Surrogate-Key': cacheTag.replaceAll(',', ' ') } : { 'Cache-Tag': cacheTag };
}
