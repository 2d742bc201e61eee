import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/log.js';
import { listen, sample, testApp, type TestApp } from '../helpers/app.js';

/**
 * The Flask random-image API imgpath replaces (README "Drop-in for roadmap.sh / the Flask API"), from its contract alone:
 * its three URLs, with the key in the path, over a real socket, answers and error bodies verbatim.
 *   GET /random-image/<key>   -> image/webp; 401 {"error": "Unauthorized"}; 404 {"error": "No images found"}
 *   GET /update-images/<key>  -> 200 {"message": "Images list updated"}; 404 {"error": "No images found"}
 *   GET /update-key/<key>     -> 200 {"message": "API key updated successfully"}
 */

let t: TestApp;
let server: Awaited<ReturnType<typeof listen>>;
let inbox: string;
let key: string;
let keyId: string;
/** A wrong key shaped like the old service's (`openssl rand -hex 32`). */
const WRONG = 'a3f1'.repeat(16);

const get = (p: string) => fetch(server.url + p);

async function json(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.json();
}

beforeAll(async () => {
  const dir = await fsp.mkdtemp(path.join((await import('node:os')).tmpdir(), 'imgpath-flask-'));
  inbox = path.join(dir, 'inbox');
  await fsp.mkdir(inbox);
  // No watcher runs here: only /update-images brings the dropped files in.
  t = await testApp({ INBOX_DIR: inbox });
  const created = await t.deps.keys.create({ scopes: ['deliver'], name: 'flask' });
  key = created.key;
  keyId = created.id;
  server = await listen(t.app.fetch);
});

afterAll(async () => {
  await server?.close();
  await t?.cleanup();
});

describe('an empty library', () => {
  it('GET /random-image/<key>: 404 {"error": "No images found"}', async () => {
    const res = await get(`/random-image/${key}`);
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: 'No images found' });
  });

  it('GET /update-images/<key>: 404 {"error": "No images found"}', async () => {
    const res = await get(`/update-images/${key}`);
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: 'No images found' });
  });
});

describe('a wrong key: 401 {"error": "Unauthorized"} on every route', () => {
  it.each([
    ['/random-image', WRONG],
    ['/update-images', WRONG],
    ['/update-key', WRONG],
    ['/random-image', 'short'],
    ['/update-key', 'not-a-key-at-all-but-long-enough'],
  ])('%s/%s', async (route, wrong) => {
    const res = await get(`${route}/${wrong}`);
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: 'Unauthorized' });
  });

  it('a key without the deliver scope is refused the same way', async () => {
    const uploadOnly = (await t.deps.keys.create({ scopes: ['upload'] })).key;
    for (const route of ['/random-image', '/update-images', '/update-key']) {
      const res = await get(`${route}/${uploadOnly}`);
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ error: 'Unauthorized' });
    }
  });

  it("only these routes answer in the old shape: the rest of the API keeps imgpath's", async () => {
    const res = await fetch(`${server.url}/images`, { headers: { 'X-API-Key': WRONG } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'invalid_key' });
  });
});

describe('the folder, the list and the key', () => {
  it('GET /update-images/<key>: takes what was dropped in the folder now, 200 {"message": "Images list updated"}', async () => {
    // What the old conversion script leaves behind: WebP files in the folder.
    await fsp.writeFile(path.join(inbox, 'dune.webp'), await sharp(sample('dune-2mp.jpg')).resize(400).webp().toBuffer());
    await fsp.writeFile(path.join(inbox, 'notes.txt'), 'not an image');
    const res = await get(`/update-images/${key}`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: 'Images list updated' });
    // Imported and moved aside; the non-image is left in place, never deleted.
    expect((await fsp.readdir(inbox)).sort()).toEqual(['.imported', 'notes.txt']);
    // Calling it again is harmless.
    const again = await get(`/update-images/${key}`);
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual({ message: 'Images list updated' });
  });

  it('GET /random-image/<key>: a random image, image/webp', async () => {
    const res = await get(`/random-image/${key}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.width).toBe(400);
  });

  it('GET /update-key/<key>: 200 {"message": "API key updated successfully"}', async () => {
    const res = await get(`/update-key/${key}`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: 'API key updated successfully' });
  });

  it('after a rotation (imgpath keys rotate) the new key works at once and the old one is Unauthorized', async () => {
    const rotated = (await t.deps.keys.rotate(keyId))!;
    const old = await get(`/random-image/${key}`);
    expect(old.status).toBe(401);
    expect(await json(old)).toEqual({ error: 'Unauthorized' });
    const confirm = await get(`/update-key/${rotated.key}`);
    expect(confirm.status).toBe(200);
    expect(await json(confirm)).toEqual({ message: 'API key updated successfully' });
    expect((await get(`/random-image/${rotated.key}`)).status).toBe(200);
    key = rotated.key;
  });

  it('all three routes are readable from any origin, preflight included, as flask-cors made them', async () => {
    for (const route of ['/random-image', '/update-images', '/update-key']) {
      const res = await fetch(`${server.url}${route}/${key}`, { headers: { Origin: 'https://blog.example' } });
      expect(res.status, route).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), route).toBe('*');
      await res.arrayBuffer();
      const preflight = await fetch(`${server.url}${route}/${key}`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://blog.example', 'Access-Control-Request-Method': 'GET' },
      });
      expect(preflight.status, route).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin'), route).toBe('*');
    }
  });

  it('a stray ?key= beside the key in the path changes nothing', async () => {
    for (const route of ['/random-image', '/update-images', '/update-key']) {
      const res = await get(`${route}/${key}?key=not-a-key`);
      expect(res.status, route).toBe(200);
      await res.arrayBuffer();
    }
  });

  it('the key in these URLs never reaches a log line', () => {
    for (const route of ['/random-image', '/update-images', '/update-key']) {
      expect(redactUrl(`${route}/${key}?seed=1`)).toBe(`${route}/[redacted]?seed=1`);
    }
  });
});
