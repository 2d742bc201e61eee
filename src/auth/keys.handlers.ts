import type { RouteHandler } from '@hono/zod-openapi';
import type { ApiKeyRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import type { Env } from '../http.js';
import { adminRequired, mayManageKey, requireCaller, requireKeyManager } from './access.js';
import { parseScopes } from './keys.js';
// Types only: the route definitions type each handler's request and answers (no runtime cycle).
import type { createKey, keyUsage, listKeys, revokeKey, rotateKey } from './keys.routes.js';
import type { Caller } from './principal.js';
import { flushUsage } from './state.js';

// The API keys' routes: one handler per route, each made for one app (./keys.routes.ts holds the definitions and wires them).

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

/** The key if `p` may manage it; 404 otherwise, so key ids of others are not confirmed. */
async function ownKey(deps: Deps, p: Caller, id: string) {
  const row = await deps.keys.get(id);
  if (!row || !mayManageKey(p, row.userId)) throw new NotFoundError(`No key ${id}`, 'key_not_found');
  return row;
}

export function createApiKey(deps: Deps): RouteHandler<typeof createKey, Env> {
  return async function createApiKey(c) {
    const p = requireKeyManager(c.get('principal'));
    const body = c.req.valid('json');
    if (body.scopes.includes('admin') && !p.admin) throw adminRequired('Only admins may create admin-scoped keys');
    if (body.userId !== undefined && !p.admin) throw adminRequired('Only admins may create keys for other users');
    if (body.userId !== undefined && !(await deps.auth.users.get(body.userId))) throw new BadRequestError(`No user ${body.userId}`, { field: 'userId' });
    const scopes = [...new Set(body.scopes)];
    const created = await deps.keys.create({ userId: body.userId ?? p.userId, name: body.name, scopes });
    deps.log.info({ keyId: created.id, prefix: created.prefix, scopes, by: p.kind === 'key' ? p.keyId : `user:${p.userId}` }, 'api key created');
    return c.json(created, 201);
  };
}

export function listApiKeys(deps: Deps): RouteHandler<typeof listKeys, Env> {
  return async function listApiKeys(c) {
    const p = requireKeyManager(c.get('principal'));
    await flushUsage(deps);
    const rows = await (p.admin ? deps.keys.list() : deps.keys.list(p.userId));
    return c.json({ keys: rows.map(keyInfo) }, 200);
  };
}

export function rotateApiKey(deps: Deps): RouteHandler<typeof rotateKey, Env> {
  return async function rotateApiKey(c) {
    const p = requireKeyManager(c.get('principal'));
    const { id } = c.req.valid('param');
    // No body (or no Content-Type) is a rotation without grace.
    const graceSeconds = c.req.valid('json').graceSeconds ?? 0;
    await ownKey(deps, p, id);
    const rotated = await deps.keys.rotate(id, graceSeconds);
    if (!rotated) throw new NotFoundError(`Key ${id} is revoked`, 'key_not_found');
    deps.log.info({ keyId: id, prefix: rotated.prefix, previousValidUntil: rotated.previousValidUntil }, 'api key rotated');
    return c.json(rotated, 200);
  };
}

export function revokeApiKey(deps: Deps): RouteHandler<typeof revokeKey, Env> {
  return async function revokeApiKey(c) {
    const p = requireKeyManager(c.get('principal'));
    const { id } = c.req.valid('param');
    const row = await ownKey(deps, p, id);
    if (!row.revokedAt) await deps.keys.revoke(id);
    deps.log.info({ keyId: id }, 'api key revoked');
    return c.body(null, 204);
  };
}

export function apiKeyUsage(deps: Deps): RouteHandler<typeof keyUsage, Env> {
  return async function apiKeyUsage(c) {
    // A key may read its own counters (a client checking its budget); managers read any of theirs.
    const p = requireCaller(c.get('principal'));
    const { id } = c.req.valid('param');
    await flushUsage(deps);
    const row = p.kind === 'key' && p.keyId === id ? (await deps.keys.get(id))! : await ownKey(deps, p.kind === 'key' ? requireKeyManager(p) : p, id);
    return c.json({ id: row.id, requests: row.requests, renders: row.renders, bytesServed: row.bytesServed, lastUsedAt: row.lastUsedAt }, 200);
  };
}
