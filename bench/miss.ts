/**
 * The miss scenarios of `npm run bench` (and of `npm run bench:scale`): every URL distinct, against
 * raw sharp doing the same operation on the same input with the same number in flight, no HTTP.
 * Each reports throughput, latency and peak RSS, plus the average output size on both sides and,
 * for AVIF, SSIM next to raw sharp at libvips' default effort (the lead must not cost quality).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { SAMPLES_DIR } from '../src/bootstrap.js';
import { nextMessage } from './children.js';
import { http, type rawSharp, summarize, type Sample, type Summary } from './load.js';
import { ssimAgainstSource } from './quality.js';
import type { RawJob } from './raw-child.js';

export interface ServerProc {
  child: ChildProcess;
  url: string;
  /** `file`: where raw sharp reads it when it is not a sample (the large original). */
  images: Array<{ id: string; filename: string | null; width: number; height: number; bytes: number; file?: string }>;
}

export type RawSharp = Awaited<ReturnType<typeof rawSharp>>;

export async function counters(s: ServerProc) {
  s.child.send({ type: 'stats' });
  const m = await nextMessage<{ stats: Record<string, number>; originals: Record<string, number> }>(s.child, 'stats');
  const counted: Record<string, number> = { ...m.stats, reductionsMade: m.originals.reductionsMade, reductionsUsed: m.originals.reductionsUsed };
  return counted;
}

/** ABBA: round k runs `a` first when k is even, `b` first when odd. */
export async function alternate(rounds: number, a: (k: number) => Promise<Sample>, b: (k: number) => Promise<Sample>) {
  const as: Sample[] = [];
  const bs: Sample[] = [];
  for (let k = 0; k < rounds; k++) {
    if (k % 2 === 0) {
      as.push(await a(k));
      bs.push(await b(k));
    } else {
      bs.push(await b(k));
      as.push(await a(k));
    }
  }
  return [summarize(as), summarize(bs)] as const;
}

export const line = (label: string, s: Summary, extra = '') =>
  `  ${label.padEnd(22)} ${s.rps.toFixed(1).padStart(8)} req/s  p50 ${s.p50.toFixed(1).padStart(7)} ms  p99 ${s.p99.toFixed(1).padStart(7)} ms  errors ${String(s.errors).padStart(3)}  peak RSS ${String(s.peakMb).padStart(4)} MB` +
  `${s.cpuUs ? `  CPU ${(s.cpuUs / 1000).toFixed(1).padStart(6)} ms/op` : ''}${extra}\n`;

export interface MissResult {
  name: string;
  server: Summary;
  ref: Summary;
  /** Average bytes of one output. */
  serverBytes: number;
  refBytes: number;
}

export interface MissOptions {
  rounds: number;
  /** Requests in flight on both sides. */
  connections: number;
  roundMaxSeconds: number;
  /** Run only this fraction of each scenario's operations (a quick dry run); 1 by default. */
  fraction?: number;
  report: (name: string, server: Summary, refName: string, ref: Summary, note: string) => void;
}

/**
 * The large originals of the miss scenarios, written into `dir` for the server
 * (BENCH_LARGE_ORIGINAL, a path list) and raw sharp alike:
 * - `large-20mp.jpg`: a 20 MP baseline JPEG (the sunset sample upscaled to 5472x3648, q90).
 *   Baseline on purpose: a progressive original decodes from its baseline copy in imgpath, so
 *   only a baseline one shows what a big decode costs on both sides.
 * - `first-N.jpg`: FIRST_ORIGINALS copies of it, each with its own comment marker (same pixels,
 *   another content hash): every render of the `first-miss` scenario is the first of its
 *   original, the case no originals cache, baseline copy or reduction helps.
 */
/** 10 per round at the bench's 4 rounds: with 16 (2 per lane per round) the ramp and the tail of each round swung the ratio by 0.1. */
export const FIRST_ORIGINALS = 40;

export async function largeOriginals(dir: string): Promise<string[]> {
  const file = path.join(dir, 'large-20mp.jpg');
  const bytes = await sharp(path.join(SAMPLES_DIR, 'sunset-12mp.jpg')).resize(5472, 3648).jpeg({ quality: 90, progressive: false, mozjpeg: false }).toBuffer();
  fs.writeFileSync(file, bytes);
  const copies = Array.from({ length: FIRST_ORIGINALS }, (_, n) => {
    const text = Buffer.from(`imgpath bench original ${n}`);
    const marker = Buffer.from([0xff, 0xfe, 0, text.length + 2]);
    const copy = path.join(dir, `first-${n}.jpg`);
    // SOI, then a COM segment, then the rest of the file as it was.
    fs.writeFileSync(copy, Buffer.concat([bytes.subarray(0, 2), marker, text, bytes.subarray(2)]));
    return copy;
  });
  return [file, ...copies];
}

/**
 * The environment of a bench server over temp dirs in `dir`: samples imported, unsigned
 * transforms allowed, rate limits off (the bench measures rendering and caching, not the
 * per-IP limits), the large original made and stored; the rest as the caller's environment says.
 */
export async function benchServerEnv(dir: string): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(dir, 'data'),
    CACHE_DIR: path.join(dir, 'cache'),
    ALLOW_UNSIGNED_TRANSFORMS: 'true',
    IMPORT_SAMPLES: 'true',
    INBOX_DIR: 'off',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    RATE_LIMIT_MISS_PER_MIN: '0',
    RATE_LIMIT_API_PER_MIN: '0',
    BENCH_LARGE_ORIGINAL: (await largeOriginals(dir)).join(path.delimiter),
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function averageBytes(url: string, paths: string[]) {
  let total = 0;
  for (const p of paths) total += (await (await fetch(`${url}${p}`)).arrayBuffer()).byteLength;
  return total / Math.max(1, paths.length);
}

async function missScenario(
  server: ServerProc,
  raw: RawSharp,
  opts: MissOptions,
  name: string,
  /** Operation i renders images[i % images.length]. */
  images: Array<ServerProc['images'][number]>,
  format: RawJob['format'],
  ops: RawJob['ops'],
) {
  const f = format === 'jpeg' ? 'jpg' : format;
  const fileOf = (img: ServerProc['images'][number]) => img.file ?? path.join(SAMPLES_DIR, img.filename!);
  const image = images[0];
  const file = fileOf(image);
  const placed = ops.map((o, i) => ({ ...o, file: fileOf(images[i % images.length]), id: images[i % images.length].id }));
  const per = Math.ceil(ops.length / opts.rounds);
  const chunk = (k: number) => placed.slice(k * per, (k + 1) * per);
  const rendered: string[] = [];
  let refBytes = 0;
  const before = await counters(server);
  const [s, r] = await alternate(
    opts.rounds,
    async (k) => {
      const paths = chunk(k).map((o) => `/img/w_${o.width},f_${f},q_${o.quality}/${o.id}`);
      const sample = await http({
        url: server.url,
        paths,
        connections: opts.connections,
        amount: paths.length,
        seconds: opts.roundMaxSeconds,
        pid: server.child.pid!,
      });
      rendered.push(...paths);
      return sample;
    },
    async (k) => {
      // One original: raw sharp holds its bytes (the server: the page cache, a reduction). Several
      // (each rendered once): raw sharp decodes each from its file, as the server does.
      const ref = chunk(k).map(({ width, quality, file: at }) => (images.length > 1 ? { width, quality, file: at } : { width, quality }));
      const sample = await raw.run({ file, format, ops: ref, concurrency: opts.connections, maxSeconds: opts.roundMaxSeconds });
      refBytes += sample.outBytes ?? 0;
      return sample;
    },
  );
  const after = await counters(server);
  // Read back after the timed rounds (memory hits): the sizes the clients got.
  const serverBytes = await averageBytes(server.url, rendered);
  const refAvg = refBytes / Math.max(1, r.ok);
  opts.report(
    name,
    s,
    'raw sharp',
    r,
    `${images.length > 1 ? `${images.length} originals like ` : ''}${image.filename} ${image.width}x${image.height} → ${ops[0].width}${ops.length > 1 && ops[1].width !== ops[0].width ? `..${ops[ops.length - 1].width}` : ''} px ${format}; ` +
      `${after.renders - before.renders} renders (${after.reductionsUsed - before.reductionsUsed} from a reduction, ${after.reductionsMade - before.reductionsMade} made), ` +
      `${after.rejected - before.rejected} rejected; average output ${kb(serverBytes)} (raw sharp ${kb(refAvg)})`,
  );
  return { rendered, result: { name, server: s, ref: r, serverBytes, refBytes: refAvg } satisfies MissResult };
}

/**
 * Quality next to speed: a few of the server's renditions (read back as hits) against raw sharp on
 * the same input and options, by size and SSIM against the source. For AVIF raw sharp runs at
 * libvips' default effort (the lead must not cost quality); for the others with the raw side's
 * own settings, so a miss started from a reduction (ORIGINALS_CACHE_MB) shows what it costs.
 */
async function quality(server: ServerProc, image: ServerProc['images'][number], format: RawJob['format'], ops: RawJob['ops']) {
  const source = fs.readFileSync(image.file ?? path.join(SAMPLES_DIR, image.filename!));
  const f = format === 'jpeg' ? 'jpg' : format;
  const picked = ops.filter((_, i) => i % Math.ceil(ops.length / 4) === 0);
  const rows: string[] = [];
  let sum = { ours: 0, theirs: 0, oursSsim: 0, theirsSsim: 0, theirsMs: 0 };
  for (const o of picked) {
    const ours = Buffer.from(await (await fetch(`${server.url}/img/w_${o.width},f_${f},q_${o.quality}/${image.id}`)).arrayBuffer());
    const t0 = performance.now();
    const img = sharp(source, { autoOrient: true }).resize({ width: o.width });
    if (format === 'avif') img.avif({ quality: o.quality });
    else if (format === 'webp') img.webp({ quality: o.quality });
    else img.jpeg({ quality: o.quality, mozjpeg: false, progressive: false });
    const theirs = await img.toBuffer();
    const ms = performance.now() - t0;
    const [a, b] = [await ssimAgainstSource(source, ours), await ssimAgainstSource(source, theirs)];
    sum = {
      ours: sum.ours + ours.length,
      theirs: sum.theirs + theirs.length,
      oursSsim: sum.oursSsim + a,
      theirsSsim: sum.theirsSsim + b,
      theirsMs: sum.theirsMs + ms,
    };
    rows.push(`w_${o.width},q_${o.quality} ${kb(ours.length)} SSIM ${a.toFixed(4)} vs ${kb(theirs.length)} SSIM ${b.toFixed(4)}`);
  }
  const n = picked.length;
  const them = format === 'avif' ? `raw sharp at libvips' default effort, ${(sum.theirsMs / n).toFixed(0)} ms per image one at a time` : 'raw sharp';
  return (
    `  quality (imgpath${format === 'avif' ? ', effort 3' : ''} | ${them}): ` +
    `average ${kb(sum.ours / n)}, SSIM ${(sum.oursSsim / n).toFixed(4)} | ${kb(sum.theirs / n)}, SSIM ${(sum.theirsSsim / n).toFixed(4)}\n` +
    `    ${rows.join('; ')}\n`
  );
}

/** The miss scenarios, in order; returns every path rendered (for the restart replay) and the results. */
export async function missScenarios(server: ServerProc, raw: RawSharp, opts: MissOptions) {
  const byName = (n: string) => server.images.find((i) => i.filename === n)!;
  const sunset = byName('sunset-12mp.jpg');
  const dune = byName('dune-2mp.jpg');
  const large = byName('large-20mp.jpg');
  const firsts = server.images.filter((i) => /^first-\d+\.jpg$/.test(i.filename ?? ''));
  const widths = (n: number) => Array.from({ length: n }, (_, k) => ({ width: 200 + Math.floor((k * 1000) / n), quality: 80 }));
  const qualities = (n: number, width: number) => Array.from({ length: n }, (_, k) => ({ width, quality: 20 + k }));
  const rendered: string[] = [];
  const results: MissResult[] = [];
  const scenarios: Array<[string, Array<ServerProc['images'][number]>, RawJob['format'], RawJob['ops']]> = [
    ['miss-webp', [sunset], 'webp', widths(128)],
    ['miss-jpeg', [sunset], 'jpeg', widths(128)],
    ['large-jpeg', [large], 'jpeg', qualities(80, 300)],
    // Every render the first of its original: what a one-off miss costs against raw sharp.
    ['first-miss', firsts, 'jpeg', qualities(firsts.length, 300)],
    ['avif', [dune], 'avif', qualities(32, 600)],
  ];
  for (const [name, images, format, all] of scenarios) {
    const ops = all.slice(0, Math.max(opts.rounds, Math.ceil(all.length * (opts.fraction ?? 1))));
    const done = await missScenario(server, raw, opts, name, images, format, ops);
    rendered.push(...done.rendered);
    results.push(done.result);
    if (process.env.BENCH_QUALITY !== '0' && images.length === 1) process.stdout.write(await quality(server, images[0], format, ops));
  }
  return { rendered, results };
}
