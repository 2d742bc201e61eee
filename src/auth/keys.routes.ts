import type { Deps } from '../deps.js';
import { createRoute, errorSchemaRef, router, z } from '../http.js';
import { apiKeyUsage, createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from './keys.handlers.js';
import { MAX_ROTATION_GRACE_SECONDS, SCOPES } from './keys.js';
import { limitApi } from './limits.js';

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

export const createKey = createRoute({
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

export const listKeys = createRoute({
  method: 'get',
  path: '/keys',
  tags: ['keys'],
  summary: 'Your keys (admins: every key); never the secrets',
  responses: { 200: json(z.object({ keys: z.array(KeyInfo) }), 'Keys, newest first'), ...errors(401, 403, 429) },
});

const RotatedKey = NewKey.extend({
  previousValidUntil: z.number().int().nullable().openapi({ description: 'Unix seconds until which the old secret still works (null: it stopped at once)' }),
}).openapi('RotatedApiKey');

export const rotateKey = createRoute({
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

export const revokeKey = createRoute({
  method: 'delete',
  path: '/keys/{id}',
  tags: ['keys'],
  summary: 'Revoke a key; it, its previous secret and every policy token minted with it stop working on the next request',
  request: { params: KeyId },
  responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404, 429) },
});

export const keyUsage = createRoute({
  method: 'get',
  path: '/keys/{id}/usage',
  tags: ['keys'],
  summary: 'Usage counters of a key: requests, renders (cache misses), bytes served',
  request: { params: KeyId },
  responses: { 200: json(Usage.extend({ id: z.string(), lastUsedAt: z.number().int().nullable() }), 'Counters'), ...errors(401, 403, 404, 429) },
});

export function keysRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });
  app.openapi(createKey, createApiKey(deps));
  app.openapi(listKeys, listApiKeys(deps));
  app.openapi(rotateKey, rotateApiKey(deps));
  app.openapi(revokeKey, revokeApiKey(deps));
  app.openapi(keyUsage, apiKeyUsage(deps));
  return app;
}
