import type { RouteHandler } from '@hono/zod-openapi';
import type { Deps } from '../deps.js';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';
import type { Env } from '../http.js';
import { requireAdmin, requireCaller } from './access.js';
// Types only: the route definitions type each handler's request and answers (no runtime cycle).
import type { createUser, loginAt, me, registerAt } from './auth.routes.js';
import { isAdmin } from './principal.js';
import { enforce } from './ratelimit.js';
import { clientIp } from './state.js';
import { issueSession } from './tokens.js';
import { publicUser } from './users.js';

// Accounts and sessions: one handler per route, each made for one app (./auth.routes.ts holds the definitions and wires them).

/** `/auth/register` and `/register` (one handler for both spellings). */
export function register(deps: Deps): RouteHandler<ReturnType<typeof registerAt>, Env> {
  return async function register(c) {
    const { username, password } = c.req.valid('json');
    const p = c.get('principal');
    const byAdmin = isAdmin(p);
    // Hashing is deliberately expensive, so sign-ups share the login budget per address, counted
    // before the hash is even queued (a refused or failed attempt still spends its token).
    if (!byAdmin) enforce(deps.auth.login, `ip:${clientIp(c, deps.config.TRUST_PROXY)}`);
    if (!deps.config.ALLOW_REGISTRATION && !byAdmin) throw new ForbiddenError('Registration is closed on this server; ask an admin', 'registration_closed');
    // Always a plain user: being first to reach a fresh server must not make anyone its admin.
    const user = await deps.auth.users.create(username, password, 'user');
    deps.log.info({ userId: user.id, username: user.username, role: user.role }, 'user registered');
    const session = await issueSession(deps, user.id);
    return c.json({ ...session, tokenType: 'Bearer' as const, user: publicUser(user) }, 201);
  };
}

export function addUser(deps: Deps): RouteHandler<typeof createUser, Env> {
  return async function addUser(c) {
    const caller = requireAdmin(c.get('principal'));
    const { username, password, role } = c.req.valid('json');
    const user = await deps.auth.users.create(username, password, role);
    deps.log.info(
      { userId: user.id, username: user.username, role, by: caller.kind === 'key' ? `key:${caller.keyId}` : `user:${caller.userId}` },
      'user created',
    );
    return c.json(publicUser(user), 201);
  };
}

/** `/auth/login` and `/login` (one handler for both spellings). */
export function login(deps: Deps): RouteHandler<ReturnType<typeof loginAt>, Env> {
  return async function login(c) {
    const { username, password } = c.req.valid('json');
    const ip = clientIp(c, deps.config.TRUST_PROXY);
    // Per address (one attacker, many names) and per name (many addresses, one victim); both
    // before the KDF is queued, so a flood costs a map lookup, not scrypt, and an attempt the
    // hashing queue then refuses (503) has still spent its tokens.
    const headers = enforce(deps.auth.login, `ip:${ip}`);
    enforce(deps.auth.login, `user:${username.trim().toLowerCase()}`);
    const user = await deps.auth.users.authenticate(username, password);
    if (!user) {
      deps.log.warn({ username: username.slice(0, 64), ip }, 'login failed');
      // Same answer for an unknown name and a wrong password: no hint which part was wrong.
      throw new UnauthorizedError('Invalid username or password', 'invalid_credentials');
    }
    deps.log.info({ userId: user.id, ip }, 'login');
    const session = await issueSession(deps, user.id);
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return c.json({ ...session, tokenType: 'Bearer' as const, user: publicUser(user) }, 200);
  };
}

export function whoAmI(deps: Deps): RouteHandler<typeof me, Env> {
  return async function whoAmI(c) {
    const p = requireCaller(c.get('principal'));
    const userId = p.kind === 'user' ? p.userId : p.userId;
    const row = userId !== null ? await deps.auth.users.get(userId) : undefined;
    if (p.kind === 'user' && !row) throw new NotFoundError('User no longer exists', 'user_not_found');
    return c.json(
      {
        kind: p.kind,
        admin: p.admin,
        user: row ? publicUser(row) : null,
        key: p.kind === 'key' ? { id: p.keyId, scopes: p.scopes } : null,
      },
      200,
    );
  };
}
