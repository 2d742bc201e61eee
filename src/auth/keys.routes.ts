import type { Deps } from '../deps.js';
import type { ApiKeyRow } from '../db/schema.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { createRoute, errorSchemaRef, router, z } from '../http.js';
import { limitApi } from './limits.js';
import { adminRequired, mayManageKey, requireCaller, requireKeyManager } from './access.js';
import { MAX_ROTATION_GRACE_SECONDS, SCOPES, parseScopes } from './keys.js';
import type { Caller } from './principal.js';
import { flushUsage } from './state.js';

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, { description: 'Error', content: { 'application/json': { schema: errorSchemaRef } } }]));
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

const Usage = z.object({ requests: z.number().int(), renders: z.number().int(), bytesServed: z.number().int() }).openapi('KeyUsage');

const KeyInfo = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'First characters of the key, to recognise it' }),
    scopes: z.array(z.enum(SCOPES)),
    userId: z.number().int().nullable(),
    createdAt: z.number().int(),
    lastUsedAt: z.number().int().nullable(),
    revokedAt: z.number().int().nullable(),
    usage: Usage,
  })
  .openapi('ApiKey');

const NewKey = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: 'The secret: shown once, store it now' }),
    prefix: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    name: z.string(),
  })
  .openapi('NewApiKey');

const KeyId = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'key_0123456789ab' }),
});

const createKey = createRoute({
  method: 'post',
  path: '/keys',
  tags: ['keys'],
  summary: 'Create an API key (the secret is in this answer only). Only admins may grant the admin scope.',
  request: {
    body: {
      content: {
        'application/json': {
          schema: z.object({
            name: z.string().max(100).default(''),
            scopes: z.array(z.enum(SCOPES)).min(1).max(3).default(['deliver']),
            userId: z.number().int().positive().optional().openapi({ description: 'Admins only: the owner of the new key' }),
          }),
        },
      },
      required: true,
    },
  },
  responses: { 201: json(NewKey, 'The new key'), ...errors(400, 401, 403, 429) },
});

const listKeys = createRoute({
  method: 'get',
  path: '/keys',
  tags: ['keys'],
  summary: 'Your keys (admins: every key); never the secrets',
  responses: { 200: json(z.object({ keys: z.array(KeyInfo) }), 'Keys, newest first'), ...errors(401, 403, 429) },
});

const RotatedKey = NewKey.extend({
  previousValidUntil: z.number().int().nullable().openapi({ description: 'Unix seconds until which the old secret still works (null: it stopped at once)' }),
}).openapi('RotatedApiKey');

const rotateKey = createRoute({
  method: 'post',
  path: '/keys/{id}/rotate',
  tags: ['keys'],
  summary:
    'Replace the secret of a key (same id, scopes and counters). The old secret, and every policy token minted with it, stop working at once, or after graceSeconds',
  request: {
    params: KeyId,
    body: {
      content: {
        'application/json': {
          schema: z.object({
            graceSeconds: z
              .number()
              .int()
              .min(0)
              .max(MAX_ROTATION_GRACE_SECONDS)
              .default(0)
              .openapi({
                description: `How long the old secret (and its policy tokens) keep working, 0..${MAX_ROTATION_GRACE_SECONDS} s; default 0`,
                example: 3600,
              }),
          }),
        },
      },
      required: false,
    },
  },
  responses: { 200: json(RotatedKey, 'The new secret'), ...errors(400, 401, 403, 404, 429) },
});

const revokeKey = createRoute({
  method: 'delete',
  path: '/keys/{id}',
  tags: ['keys'],
  summary: 'Revoke a key; it, its previous secret and every policy token minted with it stop working on the next request',
  request: { params: KeyId },
  responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404, 429) },
});

const keyUsage = createRoute({
  method: 'get',
  path: '/keys/{id}/usage',
  tags: ['keys'],
  summary: 'Usage counters of a key: requests, renders (cache misses), bytes served',
  request: { params: KeyId },
  responses: { 200: json(Usage.extend({ id: z.string(), lastUsedAt: z.number().int().nullable() }), 'Counters'), ...errors(401, 403, 404, 429) },
});

function keyInfo(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: parseScopes(row.scopes),
    userId: row.userId,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
    usage: { requests: row.requests, renders: row.renders, bytesServed: row.bytesServed },
  };
}

export function keysRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });
  const state = deps.auth;

  /** The key if `p` may manage it; 404 otherwise, so key ids of others are not confirmed. */
  const ownKey = async (p: Caller, id: string) => {
    const row = await deps.keys.get(id);
    if (!row || !mayManageKey(p, row.userId)) throw new NotFoundError(`No key ${id}`, 'key_not_found');
    return row;
  };

  app.openapi(createKey, async (c) => {
    const p = requireKeyManager(c.get('principal'));
    const body = c.req.valid('json');
    if (body.scopes.includes('admin') && !p.admin) throw adminRequired('Only admins may create admin-scoped keys');
    if (body.userId !== undefined && !p.admin) throw adminRequired('Only admins may create keys for other users');
    if (body.userId !== undefined && !(await state.users.get(body.userId))) throw new BadRequestError(`No user ${body.userId}`, { field: 'userId' });
    const scopes = [...new Set(body.scopes)];
    const created = await deps.keys.create({ userId: body.userId ?? p.userId, name: body.name, scopes });
    deps.log.info({ keyId: created.id, prefix: created.prefix, scopes, by: p.kind === 'key' ? p.keyId : `user:${p.userId}` }, 'api key created');
    return c.json(created, 201);
  });

  app.openapi(listKeys, async (c) => {
    const p = requireKeyManager(c.get('principal'));
    await flushUsage(deps);
    const rows = await (p.admin ? deps.keys.list() : deps.keys.list(p.userId));
    return c.json({ keys: rows.map(keyInfo) }, 200);
  });

  app.openapi(rotateKey, async (c) => {
    const p = requireKeyManager(c.get('principal'));
    const { id } = c.req.valid('param');
    // No body (or no Content-Type) is a rotation without grace.
    const graceSeconds = c.req.valid('json').graceSeconds ?? 0;
    await ownKey(p, id);
    const rotated = await deps.keys.rotate(id, graceSeconds);
    if (!rotated) throw new NotFoundError(`Key ${id} is revoked`, 'key_not_found');
    deps.log.info({ keyId: id, prefix: rotated.prefix, previousValidUntil: rotated.previousValidUntil }, 'api key rotated');
    return c.json(rotated, 200);
  });

  app.openapi(revokeKey, async (c) => {
    const p = requireKeyManager(c.get('principal'));
    const { id } = c.req.valid('param');
    const row = await ownKey(p, id);
    if (!row.revokedAt) await deps.keys.revoke(id);
    deps.log.info({ keyId: id }, 'api key revoked');
    return c.body(null, 204);
  });

  app.openapi(keyUsage, async (c) => {
    // A key may read its own counters (a client checking its budget); managers read any of theirs.
    const p = requireCaller(c.get('principal'));
    const { id } = c.req.valid('param');
    await flushUsage(deps);
    const row = p.kind === 'key' && p.keyId === id ? (await deps.keys.get(id))! : await ownKey(p.kind === 'key' ? requireKeyManager(p) : p, id);
    return c.json({ id: row.id, requests: row.requests, renders: row.renders, bytesServed: row.bytesServed, lastUsedAt: row.lastUsedAt }, 200);
  });

  return app;
}
