import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, sample, testApp, type TestApp } from '../helpers/app.js';

/**
 * The roadmap.sh "Image Processing Service" contract (roadmap.sh/projects/image-processing-service),
 * from its text alone, as a client written against it sends it:
 * a real server over a real socket, every call in the contract, its errors included.
 *   POST /register, POST /login {"username","password"} -> a JWT; later calls carry Authorization: Bearer
 *   POST /images (multipart, field "image"); GET /images?page=1&limit=10; GET /images/:id
 *   POST /images/:id/transform {"transformations": {...}}; async: GET /tasks/:id
 */

let t: TestApp;
let server: Awaited<ReturnType<typeof listen>>;
let token: string;
let otherToken: string;
let id: string;
/** What the client uploads: a 600x400 photo, so every size below is easy to predict. */
let photo: Buffer;

const call = (path: string, init: RequestInit & { bearer?: string } = {}) =>
  fetch(server.url + path, {
    ...init,
    headers: { ...(init.bearer ? { Authorization: `Bearer ${init.bearer}` } : {}), ...(init.headers as Record<string, string>) },
  });
const postJson = (path: string, body: unknown, bearer?: string) =>
  call(path, { method: 'POST', bearer, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

function upload(bearer: string | undefined, bytes: Buffer, field = 'image', name = 'photo.jpg') {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), name);
  return call('/images', { method: 'POST', bearer, body: form });
}

async function fetchImage(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const meta = await sharp(bytes).metadata();
  return { bytes, width: meta.width, height: meta.height, format: meta.format };
}

beforeAll(async () => {
  t = await testApp({ NODE_ENV: 'test' });
  server = await listen(t.app.fetch);
  photo = await sharp(sample('dune-2mp.jpg')).resize(600, 400, { fit: 'fill' }).jpeg().toBuffer();
});

afterAll(async () => {
  await server?.close();
  await t?.cleanup();
});

describe('accounts', () => {
  it('POST /register {"username","password"}: 201, the user and a JWT', async () => {
    const res = await postJson('/register', { username: 'user1', password: 'password123' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(body.user).toMatchObject({ username: 'user1', role: 'user' });
  });

  it('POST /register: the same name again is a 409, a missing password a 400, a short one a 400', async () => {
    expect((await postJson('/register', { username: 'user1', password: 'password123' })).status).toBe(409);
    const missing = await postJson('/register', { username: 'user2' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).error.message).toMatch(/password/);
    expect((await postJson('/register', { username: 'user3', password: 'short' })).status).toBe(400);
  });

  it('POST /login {"username","password"}: 200 and a JWT; a wrong password is a 401', async () => {
    const res = await postJson('/login', { username: 'user1', password: 'password123' });
    expect(res.status).toBe(200);
    token = ((await res.json()) as any).token;
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const wrong = await postJson('/login', { username: 'user1', password: 'password124' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.message).toBe('Invalid username or password');
    otherToken = ((await (await postJson('/register', { username: 'user2', password: 'password456' })).json()) as any).token;
  });

  it('calls without the JWT, or with a bad one, are 401', async () => {
    expect((await call('/images?page=1&limit=10')).status).toBe(401);
    expect((await call('/images?page=1&limit=10', { bearer: 'not.a.jwt' })).status).toBe(401);
    expect((await upload(undefined, photo)).status).toBe(401);
  });
});

describe('images', () => {
  it('POST /images, multipart field "image": 201 with id, name, size, format and a URL', async () => {
    const res = await upload(token, photo);
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ name: 'photo.jpg', size: photo.length, format: 'jpeg', width: 600, height: 400 });
    id = body.id;
    expect(id).toMatch(/^[\w-]+$/);
    expect(await fetchImage(body.url)).toMatchObject({ width: 600, height: 400, format: 'jpeg' });
  });

  it('POST /images: not an image is a 415, a form without the file a 400', async () => {
    const form = new FormData();
    form.append('image', new Blob(['hello']), 'notes.txt');
    expect((await call('/images', { method: 'POST', bearer: token, body: form })).status).toBe(415);
    const empty = new FormData();
    empty.append('title', 'no file');
    expect((await call('/images', { method: 'POST', bearer: token, body: empty })).status).toBe(400);
  });

  it("GET /images?page=1&limit=10: a page of the caller's images with their metadata", async () => {
    const res = await call('/images?page=1&limit=10', { bearer: token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ page: 1, limit: 10, total: 1 });
    expect(body.items).toHaveLength(1);
    const [item] = body.items;
    expect(item).toMatchObject({ id, name: 'photo.jpg', size: photo.length, format: 'jpeg', width: 600, height: 400 });
    expect(Date.parse(item.createdAt)).toBeGreaterThan(0);
    expect(item.variants).toEqual([]);
    expect(typeof item.url).toBe('string');
  });

  it('each user sees only their own images', async () => {
    const res = await call('/images?page=1&limit=10', { bearer: otherToken });
    expect(((await res.json()) as any).items).toEqual([]);
    expect((await call(`/images/${id}`, { bearer: otherToken })).status).toBe(404);
    expect((await postJson(`/images/${id}/transform`, { transformations: { rotate: 90 } }, otherToken)).status).toBe(404);
  });

  it('GET /images/:id: the metadata and URL, optionally in another format', async () => {
    const res = await call(`/images/${id}`, { bearer: token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ id, name: 'photo.jpg', size: photo.length, format: 'jpeg', width: 600, height: 400, variants: [] });
    const png = (await (await call(`/images/${id}?format=png`, { bearer: token })).json()) as any;
    expect(await fetchImage(png.url)).toMatchObject({ width: 600, height: 400, format: 'png' });
    expect((await call('/images/doesnotexist', { bearer: token })).status).toBe(404);
    expect((await call(`/images/${id}?format=bmp`, { bearer: token })).status).toBe(400);
  });
});

describe('POST /images/:id/transform', () => {
  const transform = (transformations: unknown, query = '') => postJson(`/images/${id}/transform${query}`, { transformations }, token);

  it("the contract's example: crop in source pixels, then resize, then rotate, then format and filters", async () => {
    const res = await transform({
      resize: { width: 400, height: 300 },
      crop: { width: 200, height: 200, x: 10, y: 20 },
      rotate: 90,
      format: 'png',
      filters: { grayscale: true, sepia: false },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    // Cropped to 200x200, resized to exactly 400x300, turned: 300x400.
    expect(body).toMatchObject({ imageId: id, format: 'png', width: 300, height: 400 });
    const out = await fetchImage(body.url);
    expect(out).toMatchObject({ width: 300, height: 400, format: 'png' });
    // Grayscale: every pixel has r = g = b.
    const { data, info } = await sharp(out.bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    for (let i = 0; i < data.length; i += info.channels * 97) expect(new Set([data[i], data[i + 1], data[i + 2]]).size).toBe(1);
  });

  it('resize with both sides gives exactly that size (covering it and cropping the overflow)', async () => {
    const body = (await (await transform({ resize: { width: 400, height: 300 } })).json()) as any;
    expect(body).toMatchObject({ width: 400, height: 300 });
    expect(await fetchImage(body.url)).toMatchObject({ width: 400, height: 300 });
    // One side keeps the ratio.
    expect(await (await transform({ resize: { width: 300 } })).json()).toMatchObject({ width: 300, height: 200 });
  });

  it('crop is in pixels of the original: the region, and nothing else, is what comes out', async () => {
    const body = (await (await transform({ crop: { width: 100, height: 50, x: 300, y: 200 }, format: 'png' })).json()) as any;
    const out = await fetchImage(body.url);
    expect(out).toMatchObject({ width: 100, height: 50 });
    const expected = await sharp(photo).extract({ left: 300, top: 200, width: 100, height: 50 }).png().toBuffer();
    const [a, b] = await Promise.all([out.bytes, expected].map((x) => sharp(x).removeAlpha().raw().toBuffer()));
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
    expect(diff / a.length).toBeLessThan(2);
  });

  /** The listed transformations; any two together must work, in the documented order. */
  let wmId = '';
  const ONE: Record<string, () => Record<string, unknown>> = {
    resize: () => ({ resize: { width: 400, height: 300 } }),
    crop: () => ({ crop: { width: 200, height: 100, x: 10, y: 20 } }),
    rotate: () => ({ rotate: 90 }),
    watermark: () => ({ watermark: wmId }),
    flip: () => ({ flip: true }),
    mirror: () => ({ mirror: true }),
    compress: () => ({ compress: { quality: 40 } }),
    format: () => ({ format: 'PNG' }),
    filters: () => ({ filters: { grayscale: true, sepia: true } }),
  };
  const names = Object.keys(ONE);
  const pairs = names.flatMap((a, i) => names.slice(i + 1).map((b) => [a, b] as const));

  /** Crop first (source pixels), then resize, then a quarter turn swaps the sides. */
  function expectedSize(parts: readonly string[]) {
    let size = { width: 600, height: 400 };
    if (parts.includes('crop')) size = { width: 200, height: 100 };
    if (parts.includes('resize')) size = { width: 400, height: 300 };
    if (parts.includes('rotate')) size = { width: size.height, height: size.width };
    return size;
  }

  beforeAll(async () => {
    const logo = await sharp({ create: { width: 120, height: 60, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.8 } } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(logo)], { type: 'image/png' }), 'logo.png');
    wmId = ((await (await call('/images', { method: 'POST', bearer: token, body: form })).json()) as any).id;
  });

  it.each(pairs)('%s + %s', async (a, b) => {
    const res = await transform({ ...ONE[a](), ...ONE[b]() });
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
    const body = (await res.json()) as any;
    const size = expectedSize([a, b]);
    expect(body).toMatchObject(size);
    expect(await fetchImage(body.url)).toMatchObject({ ...size, format: [a, b].includes('format') ? 'png' : 'jpeg' });
  });

  it('all of them at once', async () => {
    const all = Object.assign({}, ...names.map((n) => ONE[n]()));
    const body = (await (await transform(all)).json()) as any;
    expect(body).toMatchObject({ width: 300, height: 400, format: 'png' });
    expect(await fetchImage(body.url)).toMatchObject({ width: 300, height: 400, format: 'png' });
  });

  it("each result is saved as a version named by its parameters and recorded in the image's metadata", async () => {
    const first = (await (await transform({ resize: { width: 123, height: 45 } })).json()) as any;
    const again = (await (await transform({ resize: { width: 123, height: 45 } })).json()) as any;
    expect(again.options).toBe(first.options);
    const detail = (await (await call(`/images/${id}`, { bearer: token })).json()) as any;
    const recorded = detail.variants.filter((v: any) => v.options === first.options);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ width: 123, height: 45, url: first.url });
    const list = (await (await call('/images?page=1&limit=10', { bearer: token })).json()) as any;
    const item = list.items.find((i: any) => i.id === id);
    expect(item.variants.length).toBe(detail.variants.length);
  });

  it('async mode: 202 with a task id, GET /tasks/:id and /tasks/:id/status report the result', async () => {
    const res = await transform({ resize: { width: 64, height: 64 }, format: 'webp' }, '?async=1');
    expect(res.status).toBe(202);
    const task = (await res.json()) as any;
    let state = task;
    for (let i = 0; i < 100 && state.state !== 'done' && state.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await (await call(`/tasks/${task.id}`, { bearer: token })).json();
    }
    expect(state.state).toBe('done');
    expect(state.result).toMatchObject({ width: 64, height: 64, format: 'webp' });
    // The seed names GET /tasks/:id/status first: the same answer there, and the same 404s.
    const status = await call(`/tasks/${task.id}/status`, { bearer: token });
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual(state);
    const theirs = await call(`/tasks/${task.id}/status`, { bearer: otherToken });
    const missing = await call('/tasks/task_nope/status', { bearer: otherToken });
    expect([theirs.status, missing.status]).toEqual([404, 404]);
    expect(((await theirs.json()) as any).error.code).toBe(((await missing.json()) as any).error.code);
    expect((await call(`/tasks/${task.id}/status`)).status).toBe(401);
  });

  it.each<[string, unknown, string]>([
    ['a size out of range', { resize: { width: 0, height: 300 } }, 'transformations.resize.width'],
    ['a crop outside the image', { crop: { width: 10, height: 10, x: 900, y: 0 } }, 'transformations.crop'],
    ['an unknown format', { format: 'bmp' }, 'transformations.format'],
    ['a quality out of range', { compress: { quality: 500 } }, 'transformations.compress.quality'],
    ['an unknown transformation', { blur: 3 }, 'transformations'],
    ['a string where a number belongs', { rotate: 'ninety' }, 'transformations.rotate'],
  ])('%s: 400 with a clear message naming the field', async (_name, transformations, field) => {
    const res = await transform(transformations);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as any;
    expect(error.message.length).toBeGreaterThan(10);
    const named = error.field ?? error.issues?.map((i: any) => i.path).join(' ');
    expect(named).toContain(field);
  });

  it('a missing image is a 404, a body that is not JSON a 400', async () => {
    expect((await postJson('/images/doesnotexist/transform', { transformations: { rotate: 90 } }, token)).status).toBe(404);
    const res = await call(`/images/${id}/transform`, {
      method: 'POST',
      bearer: token,
      headers: { 'Content-Type': 'application/json' },
      body: '{"transformations":',
    });
    expect(res.status).toBe(400);
  });
});
