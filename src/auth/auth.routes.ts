import type { Deps } from '../deps.js';
import { NotFoundError, ForbiddenError, UnauthorizedError } from '../errors.js';
import type { RouteHandler } from '@hono/zod-openapi';
import { createRoute, errorSchemaRef, router, z, type Env } from '../http.js';
import { limitApi } from './limits.js';
import { requireAdmin, requireCaller } from './access.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';
import { isAdmin } from './principal.js';
import { enforce } from './ratelimit.js';
import { clientIp } from './state.js';
import { issueSession } from './tokens.js';
import { USERNAME_RULE, publicUser } from './users.js';

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, { description: 'Error', content: { 'application/json': { schema: errorSchemaRef } } }]));

const UserSchema = z.object({ id: z.number().int(), username: z.string(), role: z.enum(['admin', 'user']), createdAt: z.number().int() }).openapi('User');

const Credentials = z
  .object({
    username: z.string().min(1).max(64).openapi({ description: USERNAME_RULE, example: 'ada' }),
    password: z.string().min(1).max(MAX_PASSWORD_LENGTH).openapi({ description: '8 or more characters', example: 'correct horse battery staple' }),
  })
  .openapi('Credentials');

const Session = z
  .object({
    token: z.string().openapi({ description: 'Session JWT: send as Authorization: Bearer <token>' }),
    tokenType: z.literal('Bearer'),
    expiresAt: z.number().int().openapi({ description: 'Unix seconds' }),
    user: UserSchema,
  })
  .openapi('Session');

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/** `/auth/register` and roadmap.sh's `/register`: one route definition, one handler, one rate limit. */
const registerAt = (path: '/auth/register' | '/register') =>
  createRoute({
    method: 'post',
    path,
    tags: ['auth'],
    summary:
      path === '/register'
        ? 'roadmap.sh spelling of POST /auth/register: the same handler, limits and answer ({token, user, …})'
        : 'Create a plain user (never an admin), already logged in. Closed unless ALLOW_REGISTRATION (off by default in production), except for admins.',
    request: { body: { content: { 'application/json': { schema: Credentials } }, required: true } },
    responses: { 201: json(Session, 'The new user, already logged in'), ...errors(400, 403, 409, 429, 503) },
  });

const createUser = createRoute({
  method: 'post',
  path: '/users',
  tags: ['auth'],
  summary: 'Create a user with a role (admins only: the way to make another admin besides `imgpath users create --admin`)',
  request: {
    body: {
      content: { 'application/json': { schema: Credentials.extend({ role: z.enum(['admin', 'user']).default('user') }).openapi('NewUser') } },
      required: true,
    },
  },
  responses: { 201: json(UserSchema, 'The new user'), ...errors(400, 401, 403, 409, 503) },
});

const loginAt = (path: '/auth/login' | '/login') =>
  createRoute({
    method: 'post',
    path,
    tags: ['auth'],
    summary:
      path === '/login'
        ? 'roadmap.sh spelling of POST /auth/login: the same handler, limits and answer ({token, …})'
        : 'Exchange a username and password for a session JWT (503 with Retry-After when password checks are busy)',
    request: { body: { content: { 'application/json': { schema: Credentials } }, required: true } },
    responses: { 200: json(Session, 'A session token'), ...errors(400, 401, 429, 503) },
  });

const me = createRoute({
  method: 'get',
  path: '/auth/me',
  tags: ['auth'],
  summary: 'Who the credentials belong to',
  responses: {
    200: json(
      z.object({
        kind: z.enum(['user', 'key']),
        admin: z.boolean(),
        user: UserSchema.nullable(),
        key: z.object({ id: z.string(), scopes: z.array(z.string()) }).nullable(),
      }),
      'The caller',
    ),
    ...errors(401, 403),
  },
});

export function authRoutes(deps: Deps) {
  // The management API's budget, on every route of this family (src/auth/limits.ts).
  const app = router({ guards: [limitApi(deps)] });
  const state = deps.auth;

  const register: RouteHandler<ReturnType<typeof registerAt>, Env> = async function register(c) {
    const { username, password } = c.req.valid('json');
    const p = c.get('principal');
    const byAdmin = isAdmin(p);
    // Hashing is deliberately expensive, so sign-ups share the login budget per address, counted
    // before the hash is even queued (a refused or failed attempt still spends its token).
    if (!byAdmin) enforce(state.login, `ip:${clientIp(c, deps.config.TRUST_PROXY)}`);
    if (!deps.config.ALLOW_REGISTRATION && !byAdmin) throw new ForbiddenError('Registration is closed on this server; ask an admin', 'registration_closed');
    // Always a plain user: being first to reach a fresh server must not make anyone its admin.
    const user = await state.users.create(username, password, 'user');
    deps.log.info({ userId: user.id, username: user.username, role: user.role }, 'user registered');
    const session = await issueSession(deps, user.id);
    return c.json({ ...session, tokenType: 'Bearer' as const, user: publicUser(user) }, 201);
  };
  app.openapi(registerAt('/auth/register'), register);
  app.openapi(registerAt('/register'), register);

  app.openapi(createUser, async (c) => {
    const caller = requireAdmin(c.get('principal'));
    const { username, password, role } = c.req.valid('json');
    const user = await state.users.create(username, password, role);
    deps.log.info(
      { userId: user.id, username: user.username, role, by: caller.kind === 'key' ? `key:${caller.keyId}` : `user:${caller.userId}` },
      'user created',
    );
    return c.json(publicUser(user), 201);
  });

  const login: RouteHandler<ReturnType<typeof loginAt>, Env> = async function login(c) {
    const { username, password } = c.req.valid('json');
    const ip = clientIp(c, deps.config.TRUST_PROXY);
    // Per address (one attacker, many names) and per name (many addresses, one victim); both
    // before the KDF is queued, so a flood costs a map lookup, not scrypt, and an attempt the
    // hashing queue then refuses (503) has still spent its tokens.
    const headers = enforce(state.login, `ip:${ip}`);
    enforce(state.login, `user:${username.trim().toLowerCase()}`);
    const user = await state.users.authenticate(username, password);
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
  app.openapi(loginAt('/auth/login'), login);
  app.openapi(loginAt('/login'), login);

  app.openapi(me, async (c) => {
    const p = requireCaller(c.get('principal'));
    const userId = p.kind === 'user' ? p.userId : p.userId;
    const row = userId !== null ? await state.users.get(userId) : undefined;
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
  });

  return app;
}
