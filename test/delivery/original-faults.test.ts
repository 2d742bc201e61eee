import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets } from '../../src/db/schema.js';
import { findImage } from '../../src/core/images.js';
import { ingest } from '../../src/library/ingest.js';
import { originalKey } from '../../src/storage/store.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, makeUser } from '../library/helpers.js';
import { samples } from '../render/fixtures.js';

/**
 * What a render answers when the fault is not the caller's: an original gone from storage or
 * damaged on disk behind the server's back is a 5xx (JSON, no server path, the server stays up),
 * and a `wm_` id the caller cannot use (unknown, someone's private image, deleted) is one and the
 * same 400 whichever it is, on every surface: the URL, its `.json` dry run and the library's JSON
 * transform API. Each from local disk (libvips reads the file) and through a remote view of the
 * same store (bytes). The dry run reads no original: a watermark whose file is gone or damaged
 * passes it (200), as the main image's own file would; only the ids are checked there.
 */

const MODES = [
  ['local disk', undefined],
  ['a remote store', true],
] as const;

const ENV = { RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0', PATH: process.env.PATH ?? '' };

/** A small distinct image (distinct bytes: each gets its own original file). */
function picture(width: number, format: 'jpeg' | 'png' | 'webp' | 'gif', progressive = false): Promise<Buffer> {
  const img = sharp(samples.dune).resize(width);
  if (format === 'jpeg') return img.jpeg({ quality: 80, progressive }).toBuffer();
  return img[format]().toBuffer();
}

function fileOf(t: TestApp, hash: string) {
  return path.join(t.deps.config.dataDir, originalKey(hash));
}

/** A 5xx in the one JSON shape, naming neither a path of the server nor libvips. */
async function serverError(t: TestApp, res: Response, code: string) {
  const body = await res.text();
  expect(res.status, body).toBe(500);
  expect(res.headers.get('Content-Type')).toMatch(/json/);
  expect(body).not.toContain(t.dir);
  expect(body).not.toMatch(/vips|libpng|jpeg:|gifload|\/tmp\//i);
  const json = JSON.parse(body);
  expect(json).toEqual({ error: { code, message: expect.any(String) } });
  expect(json.error.message).not.toContain('/');
}

describe.each(MODES)('watermarks the caller cannot use, or whose original is damaged, from %s', (_, remoteOriginals) => {
  let t: TestApp;
  let key: string;
  let base: string;
  const wm: Record<string, string> = {};

  beforeAll(async () => {
    t = await testApp(ENV, { remoteOriginals });
    const alice = makeUser(t, 'alice');
    const bob = makeUser(t, 'bob');
    key = bob.key;
    const own = async (width: number, format: 'jpeg' | 'png' = 'png') =>
      (await ingest(t.deps, await picture(width, format), { ownerId: bob.id, visibility: 'private', filename: `${width}.${format}` })).image;
    base = (await own(300, 'jpeg')).id;
    wm.usable = (await own(60)).id;
    wm.unknown = 'doesNotExist0';
    wm.private = (await ingest(t.deps, await picture(61, 'png'), { ownerId: alice.id, visibility: 'private', filename: 'alice.png' })).image.id;
    wm.deleted = (await own(62)).id;
    expect((await t.request(`/images/${wm.deleted}`, { method: 'DELETE', headers: auth(key) })).status).toBe(204);
    const missing = await own(63);
    wm.missing = missing.id;
    await fs.rm(fileOf(t, missing.hash));
    const corrupt = await own(64);
    wm.corrupt = corrupt.id;
    const file = fileOf(t, corrupt.hash);
    await fs.writeFile(file, (await fs.readFile(file)).subarray(0, 200));
  });
  afterAll(() => t?.cleanup());

  const url = (id: string, options = 'w_80') => t.request(`/img/${options},wm_${id}/${base}`, { headers: auth(key) });
  const dryRun = (id: string) => t.request(`/img/w_80,wm_${id}/${base}.json`, { headers: auth(key) });
  const api = (id: string, query = '') =>
    t.request(`/images/${base}/transform${query}`, {
      method: 'POST',
      headers: auth(key, { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ resize: { width: 80 }, watermark: { image: id } }),
    });

  const SURFACES = {
    url: (id: string) => url(id),
    'dry run': dryRun,
    'JSON transform': (id: string) => api(id),
    'JSON transform, async': (id: string) => api(id, '?async=1'),
  };

  it.each(Object.keys(SURFACES))('%s: unknown, private to someone else and deleted are one and the same 400', async (surface) => {
    const bodies: string[] = [];
    for (const which of ['unknown', 'private', 'deleted']) {
      const res = await SURFACES[surface as keyof typeof SURFACES](wm[which]);
      const body = await res.text();
      expect(res.status, `${which}: ${body}`).toBe(400);
      bodies.push(body.replaceAll(wm[which], 'ID'));
    }
    expect(JSON.parse(bodies[0])).toMatchObject({ error: { code: 'bad_option', option: 'wm', allowed: 'the id of an image you can see' } });
    expect(bodies[1]).toBe(bodies[0]);
    expect(bodies[2]).toBe(bodies[0]);
  });

  it('the URL and its dry run refuse with the very same bytes', async () => {
    const [a, b] = [await url(wm.unknown), await dryRun(wm.unknown)];
    expect(await a.text()).toBe(await b.text());
  });

  it('a preset whose watermark was deleted: the render and its dry run refuse it as a URL wm_ would, naming the preset and not the id', async () => {
    t.deps.db
      .insert(presets)
      .values({ name: `gone-${remoteOriginals ?? 'file'}`, options: `wm_${wm.deleted},wms_20` })
      .run();
    const name = `gone-${remoteOriginals ?? 'file'}`;
    const asUrl = ((await (await url(wm.deleted)).json()) as { error: Record<string, unknown> }).error;
    for (const p of [`/img/t_${name},w_80/${base}`, `/img/t_${name},w_80/${base}.json`]) {
      const res = await t.request(p, { headers: auth(key) });
      expect(res.status, p).toBe(400);
      const { error } = (await res.json()) as { error: Record<string, unknown> };
      // A preset's watermark may be an image the caller cannot see: its id is not theirs to learn.
      expect({ ...error, message: undefined }, p).toEqual({ ...asUrl, message: undefined });
      expect(error.message, p).toBe(`The watermark image of preset t_${name} no longer exists`);
    }
  });

  it('a watermark whose file is gone: 500 original_missing from the URL and the JSON transform; the dry run, which reads no original, 200', async () => {
    await serverError(t, await url(wm.missing), 'original_missing');
    await serverError(t, await api(wm.missing), 'original_missing');
    // A watermark's id may be a preset's, which the caller may not see: the message does not name it.
    expect(((await (await url(wm.missing)).json()) as { error: { message: string } }).error.message).toBe(
      'The original of the watermark image is missing from storage',
    );
    expect((await dryRun(wm.missing)).status).toBe(200);
    expect((await url(wm.usable)).status).toBe(200);
  });

  it('a watermark whose file is truncated: 500 original_corrupt from the URL and the JSON transform; the dry run 200', async () => {
    await serverError(t, await url(wm.corrupt, 'w_81'), 'original_corrupt');
    expect(((await (await url(wm.corrupt, 'w_82')).json()) as { error: { message: string } }).error.message).toBe(
      'The original of the watermark image cannot be decoded',
    );
    await serverError(t, await api(wm.corrupt), 'original_corrupt');
    expect((await dryRun(wm.corrupt)).status).toBe(200);
    expect((await url(wm.usable, 'w_81')).status).toBe(200);
  });
});

describe.each(MODES)('a watermark deleted while the miss is on the way (allowed by the plan, gone before the render), from %s', (_, remoteOriginals) => {
  it('is refused with the same bytes as the plan refuses a deleted watermark', async () => {
    const t = await testApp(ENV, { remoteOriginals });
    try {
      const base = await ingest(t.deps, await picture(200, 'jpeg'), { filename: 'base.jpg' });
      const logo = (await ingest(t.deps, await picture(50, 'png'), { filename: 'logo.png' })).image.id;
      const remove = () => t.request(`/images/${logo}`, { method: 'DELETE', headers: auth(t.adminKey) });
      // The delete lands when the main image's original is read, after the plan found the watermark.
      let deleted: Promise<Response> | undefined;
      const wanted = originalKey(base.image.hash);
      if (remoteOriginals) {
        const get = t.deps.store.get.bind(t.deps.store);
        t.deps.store.get = async (k) => {
          if (k === wanted) await (deleted ??= remove());
          return get(k);
        };
      } else {
        const localFile = t.deps.store.localFile!.bind(t.deps.store);
        t.deps.store.localFile = (k) => {
          if (k === wanted) deleted ??= remove();
          return localFile(k);
        };
        const wantsBytes = t.deps.originals.wantsBytes.bind(t.deps.originals);
        t.deps.originals.wantsBytes = async (...args) => {
          await deleted;
          return wantsBytes(...args);
        };
      }
      const raced = await t.request(`/img/w_90,wm_${logo}/${base.image.id}?key=${t.adminKey}`);
      expect(deleted).toBeDefined();
      expect((await deleted)!.status).toBe(204);
      const body = await raced.text();
      expect(raced.status, body).toBe(400);
      const planned = await t.request(`/img/w_91,wm_${logo}/${base.image.id}?key=${t.adminKey}`);
      expect(planned.status).toBe(400);
      expect(body).toBe(await planned.text());
    } finally {
      await t.cleanup();
    }
  });
});

/** What can happen to an original's file behind the server's back, after it was accepted. */
const DAMAGE: Record<string, (bytes: Buffer) => Buffer> = {
  truncated: (b) => b.subarray(0, Math.floor(b.length / 2)),
  'cut to its first 100 bytes': (b) => b.subarray(0, 100),
  'overwritten with garbage': (b) => Buffer.from(Array.from({ length: b.length }, (_, i) => (i * 7919 + 13) % 251)),
  'zero-length': () => Buffer.alloc(0),
};

const KINDS: Record<string, (width: number) => Promise<Buffer>> = {
  JPEG: (w) => picture(w, 'jpeg'),
  'progressive JPEG': (w) => picture(w, 'jpeg', true),
  PNG: (w) => picture(w, 'png'),
  WebP: (w) => picture(w, 'webp'),
  GIF: (w) => picture(w, 'gif'),
};

describe.each(MODES)('an original damaged on disk after upload, read from %s', (_, remoteOriginals) => {
  let t: TestApp;
  let healthy: string;
  const damaged = new Map<string, string>();

  beforeAll(async () => {
    t = await testApp({ ...ENV, ALLOW_UNSIGNED_TRANSFORMS: 'true' }, { remoteOriginals });
    healthy = (await ingest(t.deps, await picture(320, 'jpeg'), { filename: 'healthy.jpg' })).image.id;
    let width = 100;
    for (const kind of Object.keys(KINDS)) {
      for (const [how, damage] of Object.entries(DAMAGE)) {
        const { image } = await ingest(t.deps, await KINDS[kind](width++), { filename: `${kind}-${how}` });
        const file = fileOf(t, image.hash);
        await fs.writeFile(file, damage(await fs.readFile(file)));
        damaged.set(`${kind} ${how}`, image.id);
      }
    }
  });
  afterAll(() => t?.cleanup());

  describe.each(Object.keys(KINDS))('%s', (kind) => {
    it.each(Object.keys(DAMAGE))('%s: 500 original_corrupt on a fresh miss, as itself and as a watermark; the server answers the next request', async (how) => {
      const id = damaged.get(`${kind} ${how}`)!;
      await serverError(t, await t.request(`/img/w_64/${id}`), 'original_corrupt');
      await serverError(t, await t.request(`/img/w_90,wm_${id}/${healthy}`), 'original_corrupt');
      // Another output format: another decode of the same damaged bytes, the same answer.
      await serverError(t, await t.request(`/img/w_65,f_png/${id}`), 'original_corrupt');
      expect((await t.request(`/img/w_64/${healthy}`)).status).toBe(200);
    });
  });

  it('the message names the image, not the decoder', async () => {
    const id = damaged.get('PNG truncated')!;
    const res = await t.request(`/img/w_66/${id}`);
    expect(await res.json()).toEqual({ error: { code: 'original_corrupt', message: `The original of ${id} cannot be decoded` } });
  });

  it('options a healthy original cannot be rendered with still answer 400', async () => {
    const region = await t.request(`/img/rg_5000:0:10:10/${healthy}`);
    expect(region.status).toBe(400);
    expect(await region.json()).toMatchObject({ error: { code: 'bad_option', option: 'rg' } });
    const crop = await t.request(`/img/c_crop,w_5,h_5,x_5000/${healthy}`);
    expect(crop.status).toBe(400);
    expect(await crop.json()).toMatchObject({ error: { code: 'bad_option', option: 'x' } });
    const big = await t.request(`/img/c_fill,w_8192,h_8192/${healthy}`);
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({ error: { code: 'output_too_large' } });
  });
});

describe('uploads are still judged at upload: a bad one is the 4xx it always was', () => {
  it.each(Object.keys(KINDS))('%s truncated, garbage and empty: 4xx, nothing stored', async (kind) => {
    const t = await testApp(ENV);
    try {
      const good = await KINDS[kind](140);
      for (const [how, damage] of Object.entries(DAMAGE)) {
        const res = await t.request('/images', {
          method: 'POST',
          headers: auth(t.adminKey, { 'Content-Type': 'application/octet-stream' }),
          body: damage(good),
        });
        expect(res.status, `${how}: ${await res.clone().text()}`).toBeGreaterThanOrEqual(400);
        expect(res.status, how).toBeLessThan(500);
        expect(((await res.json()) as any).error.code, how).toMatch(/^(corrupt_image|unsupported_media_type|empty_body)$/);
      }
    } finally {
      await t.cleanup();
    }
  });
});

describe('a render that fails for its options, on a healthy original', () => {
  it('keeps the answer of the options: the original decodes, so it is not blamed', async () => {
    const { decodes } = await import('../../src/render/index.js');
    const t = await testApp(ENV);
    try {
      const id = await t.seed('dragonfly-alpha.png');
      const row = (await findImage(t.deps, id))!;
      const bytes = await fs.readFile(fileOf(t, row.hash));
      expect(await decodes(bytes, row, t.deps.config.limits.maxInputPixels)).toBe(true);
      expect(await decodes(bytes.subarray(0, bytes.length >> 1), row, t.deps.config.limits.maxInputPixels)).toBe(false);
      expect(await decodes(Buffer.alloc(0), row, t.deps.config.limits.maxInputPixels)).toBe(false);
    } finally {
      await t.cleanup();
    }
  });
});
