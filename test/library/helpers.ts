import fs from 'node:fs';
import path from 'node:path';
import { generateKeySecret, hashKey, type Scope } from '../../src/auth/keys.js';
import { apiKeys, images, users } from '../../src/db/schema.js';
import { sample, type TestApp } from '../helpers/app.js';

/** A user row plus an API key owned by it (what issue 4's login would give, without the JWT). */
export function makeUser(t: TestApp, username: string, scopes: Scope[] = ['upload', 'deliver'], role: 'user' | 'admin' = 'user') {
  const user = t.deps.db.insert(users).values({ username, passwordHash: 'not-a-real-hash', role }).returning().get();
  // Written directly, like the user row, so this helper stays synchronous (ApiKeys.create is async).
  const key = generateKeySecret();
  t.deps.db
    .insert(apiKeys)
    .values({
      id: `key_${username}_${user.id}`,
      userId: user.id,
      name: `${username} key`,
      prefix: key.slice(0, 12),
      hash: hashKey(key),
      scopes: scopes.join(','),
    })
    .run();
  return { id: user.id, key };
}

export function auth(key: string, extra: Record<string, string> = {}) {
  return { 'X-API-Key': key, ...extra };
}

export function multipart(name: string, fields: Record<string, string | string[]> = {}, bytes = sample(name)) {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }), name);
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) form.append(k, one);
  return form;
}

export async function upload(t: TestApp, key: string, name: string, fields: Record<string, string | string[]> = {}) {
  const res = await t.request('/images', { method: 'POST', headers: auth(key), body: multipart(name, fields) });
  return { res, body: (await res.json()) as any };
}

/** Every file under DATA_DIR/originals: what a delete or a refused upload must (not) leave behind. */
export function originalsOnDisk(t: TestApp): string[] {
  const root = path.join(t.deps.config.dataDir, 'originals');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

export function imageRows(t: TestApp) {
  return t.deps.db.select().from(images).all();
}
