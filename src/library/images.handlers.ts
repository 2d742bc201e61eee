import type { RouteHandler } from '@hono/zod-openapi';
import type { Deps } from '../deps.js';
import type { Env } from '../http.js';
import { actingUserId } from '../auth/principal.js';
import { planDelivery } from '../core/index.js';
import { callerRef } from '../auth/caller-ref.js';
import { requireCaller } from '../auth/access.js';
import { managedImage } from './access.js';
import { deleteImage, imageDetail, imageView, listImages, setFocalPoint, updateImage, variantsOf } from './images.js';
// Types only: the route definitions type each handler's request and answers (no runtime cycle).
import type { focal, get, list, patch, remove, transform, upload } from './images.routes.js';
import { ingest } from './ingest.js';
import { renameImage } from './public-ids.js';
import { enqueueTransform, taskView } from './tasks.js';
import { namingFields, parseTransform } from './transform.js';
import { readUpload } from './upload.js';
import { baseUrl } from './urls.js';
import { makeVariant } from './variants.js';

// The images API: one handler per route, each made for one app (./images.routes.ts holds the definitions and wires them).

export function uploadImage(deps: Deps): RouteHandler<typeof upload, Env> {
  return async function uploadImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const { bytes, filename, fields } = await readUpload(deps, c, c.req.valid('query'));
    const { image, duplicate } = await ingest(deps, bytes, {
      ownerId: actingUserId(principal),
      filename,
      tags: fields.tags,
      collection: fields.collection,
      visibility: fields.visibility,
      publicId: fields.publicId,
    });
    const body = { ...imageView(deps, baseUrl(c, deps), image), duplicate };
    c.header('Location', `/images/${image.id}`);
    return duplicate ? c.json(body, 200) : c.json(body, 201);
  };
}

export function listLibrary(deps: Deps): RouteHandler<typeof list, Env> {
  return async function listLibrary(c) {
    const principal = requireCaller(c.get('principal'));
    const q = c.req.valid('query');
    const { items, total, nextCursor } = await listImages(deps, principal, q);
    const base = baseUrl(c, deps);
    const pageUrl = (change: Record<string, string | undefined>) => {
      const url = new URL(`${base}/images`);
      for (const [k, v] of Object.entries({ ...c.req.query(), ...change })) if (v !== undefined) url.searchParams.set(k, v);
      return url.toString();
    };
    let next: string | undefined;
    let prev: string | undefined;
    if (q.cursor !== undefined) {
      if (nextCursor) next = pageUrl({ cursor: nextCursor, page: undefined });
    } else {
      if (q.page * q.limit < total) next = pageUrl({ page: String(q.page + 1) });
      // Past the end, "prev" goes to the last page that has items, not to another empty one.
      const lastPage = Math.max(1, Math.ceil(total / q.limit));
      if (q.page > 1) prev = pageUrl({ page: String(Math.min(q.page - 1, lastPage)) });
    }
    const links = [next && `<${next}>; rel="next"`, prev && `<${prev}>; rel="prev"`].filter(Boolean);
    if (links.length) c.header('Link', links.join(', '));
    c.header('Cache-Control', 'private, no-store');
    const made = await variantsOf(deps, base, items);
    return c.json(
      {
        items: items.map((image) => ({ ...imageView(deps, base, image), variants: made.get(image.id) ?? [] })),
        page: q.cursor === undefined ? q.page : null,
        limit: q.limit,
        total,
        ...(next && { next }),
        ...(prev && { prev }),
        ...(nextCursor && { nextCursor }),
      },
      200,
    );
  };
}

export function getImage(deps: Deps): RouteHandler<typeof get, Env> {
  return async function getImage(c) {
    const image = await managedImage(deps, c.get('principal'), c.req.valid('param').id);
    c.header('Cache-Control', 'private, no-store');
    return c.json(await imageDetail(deps, baseUrl(c, deps), image, c.req.valid('query')), 200);
  };
}

export function patchImage(deps: Deps): RouteHandler<typeof patch, Env> {
  return async function patchImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    const { publicId, ...rest } = c.req.valid('json');
    const renamed = publicId === undefined ? image : await renameImage(deps, image, publicId);
    const updated = await updateImage(deps, renamed, rest);
    return c.json(imageView(deps, baseUrl(c, deps), updated), 200);
  };
}

export function putFocalPoint(deps: Deps): RouteHandler<typeof focal, Env> {
  return async function putFocalPoint(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    const updated = await setFocalPoint(deps, image, c.req.valid('json'));
    return c.json(imageView(deps, baseUrl(c, deps), updated), 200);
  };
}

export function removeImage(deps: Deps): RouteHandler<typeof remove, Env> {
  return async function removeImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    await deleteImage(deps, image);
    return c.body(null, 204);
  };
}

export function transformImage(deps: Deps): RouteHandler<typeof transform, Env> {
  return async function transformImage(c) {
    const principal = requireCaller(c.get('principal'), 'upload', 'deliver');
    const image = await managedImage(deps, principal, c.req.valid('param').id);
    const body = c.req.valid('json');
    const { options, spec } = parseTransform(body, deps.config.limits);
    const accept = c.req.header('accept');
    const base = baseUrl(c, deps);
    const mode = c.req.valid('query').async;
    if (mode === '1' || mode === 'true') {
      // Refuse bad input now, not as a failed task later: parse and check what needs no pixels.
      await namingFields(body, () => planDelivery(deps, { authority: { kind: 'internal', for: principal }, image, spec, accept }));
      const task = await enqueueTransform(deps, actingUserId(principal), { imageId: image.id, options, accept, base, caller: callerRef(principal) });
      c.header('Location', `/tasks/${task.id}`);
      return c.json(taskView(task), 202);
    }
    return c.json(await namingFields(body, () => makeVariant(deps, { principal, image, spec, accept, base, charged: c.get('scope') })), 200);
  };
}
