import type { Deps } from '../deps.js';
import { BadOptionError, NotFoundError } from '../errors.js';
import { createRoute, router, z } from '../http.js';
import { limitApi } from '../auth/limits.js';
import { parseOptions } from '../core/index.js';
import type { PresetRow } from '../repos/presets.js';
import { registry } from '../spec/index.js';
import { requireAdmin, requireCaller } from '../auth/access.js';
import { presetPurge } from './cdn.js';
import { errors, iso, presetSchema } from './schemas.js';

/**
 * Named option lists (`t_card`). Presets are what anonymous pages may request, so only
 * admins write them; changing or deleting one purges exactly the renditions made from it, here
 * and in the CDN in front (by the `preset-{name}` tag its responses carry).
 */

const tags = ['presets'];
const presetJson = { 'application/json': { schema: presetSchema } };
const nameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'card' }),
});

const listPresets = createRoute({
  method: 'get',
  path: '/presets',
  tags,
  summary: 'All presets',
  responses: {
    200: { description: 'Presets by name', content: { 'application/json': { schema: z.object({ items: z.array(presetSchema) }).openapi('PresetList') } } },
    ...errors(401, 403),
  },
});

const putPreset = createRoute({
  method: 'post',
  path: '/presets',
  tags,
  summary: 'Create or replace a preset (admin); replacing purges its renditions',
  description: 'Replacing also calls the CDN purge hook (PURGE_WEBHOOK_URL) with the tag `preset-{name}` its renditions carry in `Cache-Tag`.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              name: z.string().min(1).max(64).openapi({ example: 'card' }),
              options: z.string().min(1).max(2048).openapi({ example: 'w_400,h_300,c_fill,g_auto,f_auto' }),
            })
            .openapi('PresetInput'),
        },
      },
    },
  },
  responses: { 201: { description: 'Created', content: presetJson }, 200: { description: 'Replaced', content: presetJson }, ...errors(400, 401, 403) },
});

const deletePreset = createRoute({
  method: 'delete',
  path: '/presets/{name}',
  tags,
  summary: 'Delete a preset (admin) and purge its renditions',
  description: 'Here and in the CDN in front (PURGE_WEBHOOK_URL, tag `preset-{name}`).',
  request: { params: nameParam },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404) },
});

function view(row: PresetRow) {
  return { name: row.name, options: row.options, createdAt: iso(row.createdAt), updatedAt: iso(row.updatedAt) };
}

/** Through the URL grammar itself, so a stored preset always parses when a URL uses it. */
function validatePreset(deps: Deps, name: string, options: string) {
  registry.t.parse(name, deps.config.limits);
  const spec = parseOptions(deps, options);
  if (spec.t !== undefined) throw new BadOptionError('t', 'A preset cannot refer to another preset', 'options without t_');
  if (spec.exp !== undefined) throw new BadOptionError('exp', 'A preset cannot expire; put exp_ in the signed URL instead', 'options without exp_');
}

export function presetsRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });

  app.openapi(listPresets, async function presetList(c) {
    requireCaller(c.get('principal'));
    const rows = await deps.repos.presets.list();
    return c.json({ items: rows.map(view) }, 200);
  });

  app.openapi(putPreset, async function savePreset(c) {
    requireAdmin(c.get('principal'));
    const { name, options } = c.req.valid('json');
    validatePreset(deps, name, options);
    const cdn = await presetPurge(deps, name, 'preset-changed');
    const { row, created } = await deps.repos.presets.save(name, options, deps.clock());
    if (!created) {
      await deps.cache.purgePreset(name);
      cdn.send();
    }
    c.header('Location', `/presets/${name}`);
    return created ? c.json(view(row), 201) : c.json(view(row), 200);
  });

  app.openapi(deletePreset, async function removePreset(c) {
    requireAdmin(c.get('principal'));
    const { name } = c.req.valid('param');
    const cdn = await presetPurge(deps, name, 'preset-deleted');
    const gone = await deps.repos.presets.delete(name);
    if (!gone) throw new NotFoundError(`No preset ${name}`, 'preset_not_found');
    await deps.cache.purgePreset(name);
    cdn.send();
    return c.body(null, 204);
  });

  return app;
}
