import type { Deps } from '../deps.js';
import { createRoute, errorSchemaRef, router, z } from '../http.js';
import { addUser, login, register, whoAmI } from './auth.handlers.js';
import { limitApi } from './limits.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';
import { USERNAME_RULE } from './users.js';

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
export const registerAt = (path: '/auth/register' | '/register') =>
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

export const createUser = createRoute({
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

export const loginAt = (path: '/auth/login' | '/login') =>
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

export const me = createRoute({
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
  const registerUser = register(deps);
  app.openapi(registerAt('/auth/register'), registerUser);
  app.openapi(registerAt('/register'), registerUser);
  app.openapi(createUser, addUser(deps));
  const logIn = login(deps);
  app.openapi(loginAt('/auth/login'), logIn);
  app.openapi(loginAt('/login'), logIn);
  app.openapi(me, whoAmI(deps));
  return app;
}
