import type { Deps } from '../../src/deps.js';
import { testApp, type TestApp } from '../helpers/app.js';

/** A test app with cheap password hashing (scrypt cost is the only thing lowered) and a settable clock. */
export async function authApp(env: Record<string, string> = {}, deps: Partial<Deps> = {}) {
  const clock = { now: Math.floor(Date.now() / 1000) };
  const t = await testApp(
    { SCRYPT_COST: '14', SCRYPT_PARALLELISM: '1', RATE_LIMIT_LOGIN_PER_MIN: '1000', ...env },
    { deps: { clock: () => clock.now, ...deps } },
  );
  return Object.assign(t, { clock });
}

export type AuthTestApp = Awaited<ReturnType<typeof authApp>>;

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

export function postJson(t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) {
  return t.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export interface SessionBody {
  token: string;
  expiresAt: number;
  user: { id: number; username: string; role: 'admin' | 'user' };
}

export async function register(t: TestApp, username: string, password = 'correct horse battery', headers: Record<string, string> = {}) {
  const res = await postJson(t, '/auth/register', { username, password }, headers);
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()) as SessionBody;
}

/** Registration by an admin credential: works whatever ALLOW_REGISTRATION says, and is never rate-limited. */
export const asAdmin = (t: TestApp) => ({ 'X-API-Key': t.adminKey });

/**
 * An admin user, made the supported way (`POST /users` with the admin key; registration never
 * makes admins), logged in.
 */
export async function createAdmin(t: TestApp, username: string, password = 'correct horse battery') {
  const res = await postJson(t, '/users', { username, password, role: 'admin' }, asAdmin(t));
  if (res.status !== 201) throw new Error(`create admin ${username}: ${res.status} ${await res.text()}`);
  const login = await postJson(t, '/auth/login', { username, password });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${await login.text()}`);
  return (await login.json()) as SessionBody;
}

export async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } & Record<string, unknown> }).error;
}
