import { cacheMissCharge, type RequestScope } from '../auth/state.js';
import type { ImageRow, OriginImageRow } from '../db/schema.js';
import { findImage } from '../core/index.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { fileLabel } from '../library/file-names.js';
import { withHashLock } from '../library/hash-lock.js';
import { deleteImage } from '../library/images.js';
import { imagePurge } from '../library/cdn.js';
import { describeOriginal, writeOriginal } from '../library/ingest.js';
import { originalKey } from '../storage/store.js';
import type { OriginConfig } from './config.js';
import { fetchOriginal, type OriginAnswer } from './fetch.js';
import { ORIGIN_ID_LENGTH, originImageId, resolveOriginPath } from './url.js';

/**
 * Remote originals: `@name/path` becomes an ordinary library image under an id derived from name
 * and path, fetched once (concurrent first requests share one fetch), and revalidated with the
 * origin's validators once ORIGIN_TTL_SECONDS have passed. After that the image is the library's:
 * rendition caches, purge, /info and placeholders need to know nothing about origins.
 */

/** What delivery needs besides the row: a remote original may change under its id, so it is never cached as immutable. */
export interface CurrentImage {
  image: ImageRow;
  /** Set for remote originals: caches keep renditions at most `maxAge` seconds and key them by content. */
  mutable?: { maxAge: number };
}

/** Retry a failed revalidation after at most this long (serving the copy we hold meanwhile). */
const RETRY_AFTER_FAILURE_S = 60;

export class Origins {
  private readonly inflight = new Map<string, Promise<ImageRow>>();

  constructor(private readonly deps: Deps) {}

  /**
   * The image for `@name/path`, fetched on first use. `gate` runs before that first fetch with the
   * row the image would get, so a caller who could not see it or use the options costs no fetch;
   * the fetch is charged to `charged` as a render would be.
   */
  async image(name: string, rawPath: string, gate: (row: Pick<ImageRow, 'id' | 'ownerId' | 'visibility'>) => void, charged?: RequestScope): Promise<ImageRow> {
    const origin = this.deps.config.origins.get(name);
    if (!origin) throw new NotFoundError(`No origin @${name} is configured`, 'unknown_origin');
    const { path, url } = resolveOriginPath(origin.base, rawPath);
    const id = originImageId(name, path);
    // By primary key only: a public id that happens to spell this derived id must never stand in for the origin's file.
    const known = await findImage(this.deps, id);
    if (known && known.id === id) return known;
    gate({ id, ownerId: null, visibility: this.deps.config.DEFAULT_VISIBILITY });
    // A first fetch is a miss like a render: it counts against RATE_LIMIT_MISS_PER_MIN.
    cacheMissCharge(this.deps, charged)();
    return this.once(id, async () => {
      const answer = await this.fetch(origin, url);
      if (answer.kind !== 'ok') throw new NotFoundError(`No file ${path} at origin @${name}`, 'image_not_found');
      return this.store(origin, path, id, answer);
    });
  }

  /** `image` as it should be served now: a remote original past its TTL is revalidated first; library images pass through. */
  async current(image: ImageRow): Promise<CurrentImage> {
    // Derived ids have their own length, so a library image costs no lookup here.
    const source = image.id.length === ORIGIN_ID_LENGTH ? await this.sourceOf(image.id) : undefined;
    if (!source) return { image };
    const ttl = this.deps.config.ORIGIN_TTL_SECONDS;
    const mutable = { maxAge: ttl };
    if (source.checkedAt + ttl > this.deps.clock()) return { image, mutable };
    return { image: await this.once(image.id, () => this.revalidate(image, source)), mutable };
  }

  sourceOf(imageId: string): Promise<OriginImageRow | undefined> {
    return this.deps.repos.origins.sourceOf(imageId);
  }

  private once(id: string, work: () => Promise<ImageRow>): Promise<ImageRow> {
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = work().finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  private async revalidate(image: ImageRow, source: OriginImageRow): Promise<ImageRow> {
    const { deps } = this;
    const origin = deps.config.origins.get(source.origin);
    // An origin removed from ORIGINS: keep serving what we hold, as the library does with any image.
    if (!origin) return image;
    let answer: OriginAnswer;
    try {
      answer = await this.fetch(origin, resolveOriginPath(origin.base, source.path.split('/').map(encodeURIComponent).join('/')).url, source);
      if (answer.kind === 'ok') return await this.store(origin, source.path, image.id, answer, image);
    } catch (err) {
      // The origin is down, slow, or now sends something we refuse: serve the copy we hold and
      // ask again soon, rather than turning an origin outage into ours.
      deps.log.warn({ err, origin: source.origin, path: source.path }, 'revalidation failed; serving the stored original');
      const ttl = deps.config.ORIGIN_TTL_SECONDS;
      await this.touch(image.id, { checkedAt: deps.clock() - ttl + Math.min(ttl, RETRY_AFTER_FAILURE_S) });
      return image;
    }
    if (answer.kind === 'not_modified') {
      await this.touch(image.id, { checkedAt: deps.clock() });
      return image;
    }
    // Gone at the origin: gone here too (rows, renditions, and the bytes unless someone else uses them).
    await deleteImage(deps, image);
    throw new NotFoundError(`No file ${source.path} at origin @${source.origin}`, 'image_not_found');
  }

  private fetch(origin: OriginConfig, url: string, validators?: Pick<OriginImageRow, 'etag' | 'lastModified'>) {
    const { config } = this.deps;
    return fetchOriginal({
      origin: origin.name,
      base: origin.base,
      url,
      allowPrivate: origin.allowPrivate,
      maxBytes: config.limits.maxOriginBytes,
      timeoutMs: config.ORIGIN_TIMEOUT_MS,
      etag: validators?.etag,
      lastModified: validators?.lastModified,
    });
  }

  private touch(imageId: string, set: Partial<OriginImageRow>) {
    return this.deps.repos.origins.touch(imageId, set);
  }

  /** New or changed bytes: described and limited like any upload, written, then the rows; a change purges the renditions. */
  private async store(origin: OriginConfig, path: string, id: string, answer: Extract<OriginAnswer, { kind: 'ok' }>, previous?: ImageRow): Promise<ImageRow> {
    const { deps } = this;
    const described = await describeOriginal(deps.config, answer.bytes);
    const now = deps.clock();
    const source = { imageId: id, origin: origin.name, path, etag: answer.etag, lastModified: answer.lastModified, fetchedAt: now, checkedAt: now };
    if (previous && previous.hash === described.hash) {
      await this.touch(id, source);
      return previous;
    }
    const image = await withHashLock(deps.repos, described.hash, async () => {
      await writeOriginal(deps, described.hash, answer.bytes);
      return deps.repos.origins.store({ id, ...described, visibility: deps.config.DEFAULT_VISIBILITY, filename: fileLabel(path) }, source);
    });
    deps.log.info({ origin: origin.name, path, imageId: id, bytes: answer.bytes.length, replaced: Boolean(previous) }, 'remote original stored');
    if (!previous) {
      deps.events.added.forEach((fn) => fn(image));
      return image;
    }
    await this.dropIfUnused(previous.hash);
    await deps.cache.purgeImage(id);
    // The origin's share, not the library's: whoever can change the bytes there never delays an admin's purge.
    if (image.visibility === 'public') (await imagePurge(deps, image, 'image-changed', [id, `@${origin.name}/${path}`], `origin:${origin.name}`)).send();
    deps.events.changed.forEach((fn) => fn(image));
    return image;
  }

  /** The replaced bytes, unless another image (an upload of the same file) still uses them; as deleteImage does. */
  private async dropIfUnused(hash: string) {
    const { deps } = this;
    await withHashLock(deps.repos, hash, async () => {
      if (await deps.repos.images.hashInUse(hash)) return;
      try {
        await deps.store.delete(originalKey(hash));
      } catch (err) {
        deps.log.error({ err, hash }, 'a replaced remote original could not be removed from storage');
      }
    });
  }
}

/** The app's one Origins service (made on first use, so every Deps has one without createDeps knowing). */
export function originsOf(deps: Deps): Origins {
  return (deps.origins ??= new Origins(deps));
}
