import type { PurgeRequest } from '../cluster/cdn-purge.js';
import { imageTag, presetTag } from '../core/tags.js';
import type { ImageRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { deliveryUrl, exampleRenditions, variantOptions } from './urls.js';

/**
 * What the CDN in front must forget after a library change (PURGE_WEBHOOK_URL). Called where the
 * change is made, so only the node that made it calls the CDN (never from the change bus, where
 * every node would). The tags reach everything (src/core/tags.ts); the URLs are the ones this
 * server can name, for CDNs and proxies that purge by URL only: the original, /info, the example
 * renditions of upload answers and every recorded variant, under each name the image answers to.
 * Only a public image's responses are ever kept by a shared cache, so URLs are those of the image
 * as a public one (unsigned, or signed without expiry: the same URL the API handed out).
 *
 * Collected before the change (a delete takes the variants with it), sent after it is committed:
 * `const purge = await imagePurge(…); …change…; purge.send()`. Never throws: a purge that cannot
 * be collected is logged and sent with its tags alone.
 */

export interface PendingPurge {
  send(): void;
}

const NOTHING: PendingPurge = { send() {} };
/** Enough for the names, /info, the example renditions and a few dozen variants; the tags cover the rest. */
const MAX_URLS = 100;

type ImageReason = Extract<PurgeRequest['reason'], `image-${string}`>;

/**
 * The purge of `image`. `names`: the names whose URLs to list (default: the random id and the
 * public id): a rename lists the old and the new public id, a remote original its `@origin/path`.
 * `owner`: whose share of the purge queue it takes (default: the image's owner).
 */
export async function imagePurge(deps: Deps, image: ImageRow, reason: ImageReason, names?: string[], owner = ownerOf(image)): Promise<PendingPurge> {
  const { cdn } = deps;
  if (!cdn) return NOTHING;
  const tags = [imageTag(image.id)];
  let urls: string[] = [];
  try {
    urls = await imageUrls(deps, image, names ?? [image.id, ...(image.publicId ? [image.publicId] : [])]);
  } catch (err) {
    deps.log.warn({ err, imageId: image.id, reason }, 'CDN purge: could not list the URLs; purging by tag only');
  }
  return { send: () => cdn.purge({ reason, tags, urls, owner }) };
}

/**
 * Whose purge it is, for the queue's fairness (src/cluster/purge-queue.ts): the image's owner,
 * whoever made the change, because an owner's flood can only come from their own images.
 */
const ownerOf = (image: ImageRow) => (image.ownerId === null ? 'library' : `user:${image.ownerId}`);

/** The purge of a preset's renditions: its tag, and `/img/t_{name}/…` of the public images it was rendered for. */
export async function presetPurge(deps: Deps, name: string, reason: Extract<PurgeRequest['reason'], `preset-${string}`>): Promise<PendingPurge> {
  const { cdn } = deps;
  if (!cdn) return NOTHING;
  let urls: string[] = [];
  try {
    const ids = [...new Set((await deps.repos.renditions.byPreset(name)).map((r) => r.imageId))].slice(0, MAX_URLS);
    const images = ids.length ? await deps.repos.images.byIds(ids) : [];
    urls = images.filter((i) => i.visibility === 'public').map((i) => deliveryUrl(deps, base(deps), i, `t_${name}`));
  } catch (err) {
    deps.log.warn({ err, preset: name, reason }, 'CDN purge: could not list the URLs; purging by tag only');
  }
  // Presets are the admins' (src/library/presets.routes.ts): theirs is one owner's share.
  return { send: () => cdn.purge({ reason, tags: [presetTag(name)], urls, owner: 'presets' }) };
}

/** Config refuses PURGE_WEBHOOK_URL without PUBLIC_URL, so this is always the public base. */
const base = (deps: Deps) => (deps.config.PUBLIC_URL ?? '').replace(/\/+$/, '');

async function imageUrls(deps: Deps, image: ImageRow, names: string[]): Promise<string[]> {
  const made = await deps.repos.images.variantsOf([image.id]);
  const options = ['', ...Object.values(exampleRenditions(deps, image)), ...made.map((v) => variantOptions(v.options, v.format))];
  const as = [...new Set(names)].map((name) => ({ id: image.id, publicId: name, visibility: 'public' as const }));
  // Most wanted first (originals and /info under every name), so the cap cuts the least likely URLs.
  const urls = new Set(as.map((i) => `${base(deps)}/info/${i.publicId}`));
  for (const o of options) {
    for (const i of as) {
      try {
        urls.add(deliveryUrl(deps, base(deps), i, o));
      } catch {
        // A variant recorded under options the grammar no longer takes: no URL reaches it anymore.
      }
    }
  }
  return [...urls].slice(0, MAX_URLS);
}
