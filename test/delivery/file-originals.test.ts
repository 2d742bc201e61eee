import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findImage } from '../../src/core/images.js';
import { ingest } from '../../src/library/ingest.js';
import { originalKey } from '../../src/storage/store.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { animatedGif, cmykJpeg, orientedJpeg, samples } from '../render/fixtures.js';

/**
 * Originals on local disk are decoded from their file by libvips (no copy through the JS heap);
 * originals elsewhere (S3) from their bytes. Both must answer the very same bytes for every kind
 * of source, every phase of the pipeline, reductions and baseline copies included; and an
 * original whose file is gone is the same 500 `original_missing` whichever way it was to be read.
 */

const KINDS: Record<string, () => Promise<Buffer>> = {
  'baseline JPEG': () => sharp(samples.dune).resize(800).jpeg({ quality: 85 }).toBuffer(),
  'progressive JPEG (baseline copy)': () => sharp(samples.dune).resize(800).jpeg({ quality: 85, progressive: true }).toBuffer(),
  // Its frame header lies past the first 64 KiB a render looks at: then the whole file says.
  'progressive JPEG, frame past 64 KiB': async () => withComments(await sharp(samples.dune).resize(800).jpeg({ quality: 85, progressive: true }).toBuffer(), 3),
  'EXIF-rotated JPEG': orientedJpeg,
  'CMYK JPEG': cmykJpeg,
  'grey JPEG': () => sharp(samples.dune).resize(600).grayscale().jpeg().toBuffer(),
  'alpha PNG': () => sharp(samples.dragonfly).resize(500).png().toBuffer(),
  'palette PNG': () => sharp(samples.dune).resize(300).png({ palette: true }).toBuffer(),
  '16-bit PNG': () => sharp(samples.dune).resize(300).toColourspace('rgb16').png().toBuffer(),
  'alpha WebP': () => sharp(samples.dragonfly).resize(400).webp().toBuffer(),
  AVIF: () => sharp(samples.dune).resize(400).avif({ effort: 0 }).toBuffer(),
  TIFF: () => sharp(samples.dune).resize(400).tiff().toBuffer(),
  'animated GIF': () => animatedGif(4),
};

/** `n` comment segments of 40,000 bytes right after SOI: the frame header moves that far into the file. */
function withComments(jpeg: Buffer, n: number): Buffer {
  const body = Buffer.alloc(40_000, 0x20);
  const segment = Buffer.concat([Buffer.from([0xff, 0xfe, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  return Buffer.concat([jpeg.subarray(0, 2), ...Array(n).fill(segment), jpeg.subarray(2)]);
}

/** One option set per pipeline phase (and the pure re-encode that may answer the source bytes). */
const OPTIONS = [
  'w_200',
  'c_fill,w_120,h_120,g_auto',
  'r_90,fl_mirror',
  'e_sepia,e_blur:2',
  'c_pad,w_300,h_300,bg_ff0000',
  'w_150,wm_$wm',
  'f_avif,w_100',
  'f_png',
  '',
];

let files: TestApp;
let bytes: TestApp;
const ids = new Map<TestApp, Map<string, string>>();

beforeAll(async () => {
  const env = { ALLOW_UNSIGNED_TRANSFORMS: 'true', RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0', PATH: process.env.PATH ?? '' };
  files = await testApp(env);
  bytes = await testApp(env, { remoteOriginals: true });
  for (const t of [files, bytes]) {
    const byKind = new Map<string, string>();
    for (const [kind, make] of Object.entries(KINDS)) byKind.set(kind, (await ingest(t.deps, await make(), { filename: kind })).image.id);
    byKind.set('$wm', await t.seed('dragonfly-alpha.png'));
    ids.set(t, byKind);
  }
});
afterAll(async () => {
  await files?.cleanup();
  await bytes?.cleanup();
});

async function answer(t: TestApp, options: string, kind: string) {
  const byKind = ids.get(t)!;
  const opts = options.replace('$wm', byKind.get('$wm')!);
  const res = await t.request(`/img/${opts ? `${opts}/` : ''}${byKind.get(kind)}`);
  return { status: res.status, type: res.headers.get('Content-Type'), body: Buffer.from(await res.arrayBuffer()) };
}

describe.each(Object.keys(KINDS))('%s: decoded from its file or from its bytes, the same answer', (kind) => {
  it.each(OPTIONS)('"%s"', async (options) => {
    const [a, b] = [await answer(files, options, kind), await answer(bytes, options, kind)];
    // A 4xx (r_90 on an animation) must be the same refusal either way.
    expect(a.status, a.body.toString().slice(0, 200)).toBe(kind === 'animated GIF' && options.startsWith('r_90') ? 400 : 200);
    expect(b.status).toBe(a.status);
    expect(a.type).toBe(b.type);
    expect(a.body.equals(b.body)).toBe(true);
  });

  it('reductions made from the file and from the bytes answer the same (widths shrinking it 9x and more)', async () => {
    const byKind = ids.get(files)!;
    const image = (await findImage(files.deps, byKind.get(kind)!))!;
    for (const w of [4, 5, 6].map((d) => Math.max(1, Math.floor(image.width / (8 * d))))) {
      const [a, b] = [await answer(files, `w_${w},f_png`, kind), await answer(bytes, `w_${w},f_png`, kind)];
      expect(a.status).toBe(200);
      expect(a.body.equals(b.body)).toBe(true);
    }
  });
});

describe('an original whose file is gone (nothing of it held in memory: ORIGINALS_CACHE_MB=0)', () => {
  it.each(['baseline JPEG', 'progressive JPEG (baseline copy)', 'alpha PNG', 'animated GIF', 'AVIF'])(
    '%s: 500 original_missing as JSON on every miss, from a file or from bytes; hits still served',
    async (kind) => {
      for (const remoteOriginals of [undefined, true] as const) {
        const t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', ORIGINALS_CACHE_MB: '0' }, { remoteOriginals });
        try {
          const { image } = await ingest(t.deps, await KINDS[kind](), { filename: kind });
          expect((await t.request(`/img/w_64/${image.id}`)).status).toBe(200);
          await fs.rm(path.join(t.deps.config.dataDir, originalKey(image.hash)));
          for (const options of ['w_65', 'w_66,f_webp', 'r_33,f_png']) {
            const res = await t.request(`/img/${options}/${image.id}`);
            expect(res.status, options).toBe(500);
            expect(await res.json()).toMatchObject({ error: { code: 'original_missing' } });
          }
          expect((await t.request(`/img/w_64/${image.id}`)).headers.get('X-Cache')).toBe('HIT-MEMORY');
        } finally {
          await t.cleanup();
        }
      }
    },
  );
});

describe('which local originals are read for a baseline copy (their head, then the whole file only if it may be progressive)', () => {
  it.each([
    ['baseline JPEG', 0],
    ['progressive JPEG (baseline copy)', 1],
    ['progressive JPEG, frame past 64 KiB', 1],
    ['alpha PNG', 0],
  ] as const)('%s: copies made %d', async (kind, copies) => {
    const t = await testApp({ PATH: process.env.PATH ?? '' });
    try {
      const { image } = await ingest(t.deps, await KINDS[kind](), { filename: kind });
      for (const w of [100, 120]) expect((await t.request(`/img/w_${w}/${image.id}?key=${t.adminKey}`)).status).toBe(200);
      expect(t.deps.originals.stats()).toMatchObject({ made: copies, failed: 0 });
    } finally {
      await t.cleanup();
    }
  });
});

/** What can become of an original's file on disk: each must answer as the same original read as bytes would. */
const SABOTAGE: Record<string, (file: string) => Promise<void>> = {
  gone: (file) => fs.rm(file),
  // Unreadable for a reason other than absence (as EIO or EACCES, which root cannot simulate).
  'a directory': async (file) => {
    await fs.rm(file);
    await fs.mkdir(file);
  },
  'a symlink loop': async (file) => {
    await fs.rm(file);
    await fs.symlink(file, file);
  },
  truncated: async (file) => fs.writeFile(file, (await fs.readFile(file)).subarray(0, 100)),
  empty: (file) => fs.writeFile(file, Buffer.alloc(0)),
};

describe.each(Object.keys(SABOTAGE))('an original whose file is %s: the answer read from bytes, never a path nor a crash', (how) => {
  it.each(['baseline JPEG', 'progressive JPEG (baseline copy)', 'alpha PNG', 'animated GIF'])('%s, rendered and as a watermark', async (kind) => {
    const answers: string[][] = [];
    for (const remoteOriginals of [undefined, true] as const) {
      const t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', PATH: process.env.PATH ?? '' }, { remoteOriginals });
      try {
        const { image } = await ingest(t.deps, await KINDS[kind](), { filename: kind });
        const base = await t.seed('dune-2mp.jpg');
        await SABOTAGE[how](path.join(t.deps.config.dataDir, originalKey(image.hash)));
        const seen: string[] = [];
        for (const url of [`/img/w_64/${image.id}`, `/img/w_80,wm_${image.id}/${base}`]) {
          const res = await t.request(url);
          const body = await res.text();
          expect(body).not.toContain(t.dir);
          expect(res.headers.get('Content-Type')).toMatch(/json/);
          seen.push(`${url.includes('wm_') ? 'watermark' : 'original'}: ${res.status} ${JSON.parse(body).error.code}`);
        }
        answers.push(seen);
      } finally {
        await t.cleanup();
      }
    }
    const [file, bytes] = answers;
    expect(file).toEqual(bytes);
    for (const a of bytes) expect(a).not.toMatch(/internal/);
  });
});

describe('an image deleted while its miss is on the way (found, then gone before its original is read)', () => {
  it.each([undefined, true] as const)('remote originals %s: 404 image_not_found, as a moment later, not a 500', async (remoteOriginals) => {
    const t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', ORIGINALS_CACHE_MB: '0' }, { remoteOriginals });
    try {
      const { image } = await ingest(t.deps, await KINDS['alpha PNG'](), { filename: 'gone-meanwhile.png' });
      const remove = () => t.request(`/images/${image.id}`, { method: 'DELETE', headers: { 'X-API-Key': t.adminKey } });
      // The delete lands between the plan (the row found) and the read of the original: from a
      // file, libvips then finds none; from bytes, the store answers none.
      if (remoteOriginals) {
        const get = t.deps.store.get.bind(t.deps.store);
        t.deps.store.get = async (key) => {
          expect((await remove()).status).toBe(204);
          return get(key);
        };
      } else {
        const localFile = t.deps.store.localFile!.bind(t.deps.store);
        let deleted: Promise<Response> | undefined;
        t.deps.store.localFile = (key) => {
          deleted ??= remove();
          return localFile(key);
        };
        const render = t.deps.originals.wantsBytes.bind(t.deps.originals);
        t.deps.originals.wantsBytes = async (...args) => {
          await deleted;
          return render(...args);
        };
      }
      const res = await t.request(`/img/w_90/${image.id}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'image_not_found' } });
    } finally {
      await t.cleanup();
    }
  });
});

describe('deletes racing misses, at every moment of the render', () => {
  it('each miss answers 200 or 404 image_not_found, never a 4xx about the image or a 500', async () => {
    const t = await testApp({ ALLOW_UNSIGNED_TRANSFORMS: 'true', ORIGINALS_CACHE_MB: '0', RATE_LIMIT_MISS_PER_MIN: '0', RATE_LIMIT_API_PER_MIN: '0' });
    try {
      const bytes = await sharp(samples.dune).resize(300).png().toBuffer();
      const seen = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const { image } = await ingest(t.deps, Buffer.concat([bytes, Buffer.from(`${i}`)]), { filename: `race-${i}.png` });
        const miss = t.request(`/img/w_${50 + i}/${image.id}`);
        // 0–3 ms in: before the plan, between the plan and libvips' open, during the decode, after.
        await new Promise((r) => setTimeout(r, i % 4));
        await t.request(`/images/${image.id}`, { method: 'DELETE', headers: { 'X-API-Key': t.adminKey } });
        const res = await miss;
        const code = res.status === 200 ? 'ok' : ((await res.json()) as { error: { code: string } }).error.code;
        seen.set(`${res.status} ${code}`, (seen.get(`${res.status} ${code}`) ?? 0) + 1);
      }
      expect(
        [...seen.keys()].filter((k) => k !== '200 ok' && k !== '404 image_not_found'),
        JSON.stringify([...seen]),
      ).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});
