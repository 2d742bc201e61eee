import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { redactUrl } from './log.js';
import { parseOrigins, type OriginConfig } from './origins/config.js';
import { findOnPath } from './executables.js';
import type { RenderLimits } from './render/types.js';
import type { HintConfig, WidthSteps } from './spec/hints.js';

/**
 * The environment, parsed once at start. Nothing else in `src/` reads `process.env`:
 * everything receives the `Config` object, so tests build one with `loadConfig({...})`.
 */

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const signingKeys = z.string().transform((raw, ctx) => {
  const keys = raw
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      return { kid: pair.slice(0, at), secret: pair.slice(at + 1) };
    });
  for (const k of keys) {
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(k.kid) || k.secret.length < 16) {
      ctx.addIssue({ code: 'custom', message: 'expected kid:secret[,kid:secret…] with kid [A-Za-z0-9_-]{1,16} and a secret of 16+ characters' });
      return z.NEVER;
    }
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected at least one kid:secret' });
    return z.NEVER;
  }
  return keys;
});

const cores = Math.max(1, os.availableParallelism());

/**
 * Which web origins may read answers from a page's script (CORS). `*` is any origin (never with
 * credentials: browsers refuse that pair, and it would be wrong anyway); a list names origins
 * exactly as browsers send them (`https://app.example.com`, a port if not the default, no path);
 * `off` sends no CORS headers at all. Parsed here, once: a typo fails the start, not each request.
 */
export type CorsPolicy = { kind: 'off' } | { kind: 'any' } | { kind: 'list'; origins: string[] };

const CORS_HELP = 'expected *, off, or origins separated by commas (https://app.example.com,http://localhost:5173): scheme and host, a port if needed, no path';

export function parseCorsOrigins(raw: string): { policy: CorsPolicy } | { error: string } {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 1 && items[0] === '*') return { policy: { kind: 'any' } };
  if (items.length === 1 && items[0].toLowerCase() === 'off') return { policy: { kind: 'off' } };
  if (items.length === 0) return { error: CORS_HELP };
  const origins: string[] = [];
  for (const item of items) {
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      /* reported below */
    }
    // A trailing slash is forgiven (people copy it from the address bar); a path, query or user is not.
    const ok = url && /^https?:$/.test(url.protocol) && url.pathname === '/' && !/[?#@]/.test(item);
    if (!ok) return { error: `${JSON.stringify(item)} is not an origin: ${CORS_HELP}${item === '*' ? ' (* stands alone)' : ''}` };
    origins.push(url!.origin);
  }
  return { policy: { kind: 'list', origins: [...new Set(origins)] } };
}

const corsOrigins = z.string().superRefine((raw, ctx) => {
  const parsed = parseCorsOrigins(raw);
  if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
});

export const configSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Optional rotating log file (in addition to stdout). */
  LOG_FILE: z.string().optional(),
  LOG_FILE_MAX_MB: int(1, 10_000).default(10),
  LOG_FILE_COUNT: int(1, 100).default(5),

  DATA_DIR: z.string().min(1).default('./data'),
  CACHE_DIR: z.string().min(1).default('./cache'),
  /** Defaults to `$DATA_DIR/inbox`; `off` disables the watcher. */
  INBOX_DIR: z.string().optional(),
  /** Import bundled sample photos into an empty library on first start. */
  IMPORT_SAMPLES: bool.default(true),

  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  SIGNING_KEYS: signingKeys.optional(),
  /** Secret for user session JWTs and policy tokens; generated and stored in DATA_DIR when unset. */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: int(60, 30 * 24 * 3600).default(24 * 3600),
  ALLOW_UNSIGNED_TRANSFORMS: bool.default(false),
  DEFAULT_VISIBILITY: z.enum(['public', 'private']).default('public'),
  /**
   * Self-service `POST /auth/register`. Unset: on in development and test, off in production, so a
   * fresh public instance takes no strangers' accounts (it never made anyone admin anyway).
   */
  ALLOW_REGISTRATION: bool.optional(),
  /** Signed URLs with exp_ may have their expiry rounded up to this many seconds so CDNs share entries. */
  SIGNATURE_EXPIRY_BUCKET: int(0, 86_400).default(0),
  /** How often /random looks for library changes made by other processes sharing the DB (0 = never). */
  RANDOM_RESYNC_SECONDS: int(0, 86_400).default(30),

  // Cache budgets: sized for a 1-2 GB VM; the memory tier holds hot renditions only.
  // 64 MB: with it the server stays under 400 MB of RSS under sustained misses (npm run bench:memory:
  // 346 MB peak at 64, 419 at 128, 557 at 256); hits past it come from the disk tier and the page cache.
  MEMORY_CACHE_MB: int(0, 65_536).default(64),
  DISK_CACHE_MB: int(0, 10_000_000).default(2048),
  /**
   * Originals kept in memory for the next miss, progressive JPEGs as their jpegtran baseline copies,
   * and originals shrunk again and again as their reductions (src/render/originals-cache.ts,
   * reduced.ts). 0 turns all three off; no jpegtran on PATH turns the copies off.
   */
  ORIGINALS_CACHE_MB: int(0, 65_536).default(32),

  // Limits. Each one stops a way to make the server do unbounded work.
  /** Decompression bombs: a 100 KB PNG can declare 50000x50000 pixels. */
  MAX_INPUT_PIXELS: int(1, 1_000_000_000).default(100_000_000),
  /** Render-amplification: w_99999 would allocate gigabytes of output. Holds for the final canvas (after rotation, padding, dpr_). */
  MAX_OUTPUT_DIM: int(1, 16_383).default(8192),
  /** The same, in area: c_scale,w_8192,h_8192,r_45 is 11585x11585 (134 MP, ~1 GB of RSS per render). 40 MP = 160 MB of RGBA. */
  MAX_OUTPUT_PIXELS: int(1, 268_402_689).default(50_000_000),
  /** Animated amplification: frames x output pixels. A 12 KB WebP of 97 frames at w_2048 took 48 s per render; at 25 MP the worst case is ~2.5 s. */
  MAX_ANIMATION_PIXELS: int(1, 1_000_000_000).default(25_000_000),
  /** Disk and memory exhaustion through uploads. */
  MAX_UPLOAD_MB: int(1, 2048).default(50),
  /** Animated bombs: thousands of frames each decoded at full size. */
  MAX_FRAMES: int(1, 10_000).default(200),

  /** Renders in parallel: more than the cores only adds memory and latency. */
  RENDER_CONCURRENCY: int(1, 256).default(cores),
  /** Renders that may wait; past this a miss answers 503 instead of growing a queue. */
  RENDER_QUEUE: int(0, 100_000).default(cores * 16),
  /** A render running longer than this is abandoned with 503 (a slow-loris for the CPU). */
  RENDER_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /**
   * Read by libuv, not by imgpath, when Node starts (before any of our code runs), so it only works
   * set in the environment; parsed here so start-up can report it. 4 is libuv's own default.
   */
  UV_THREADPOOL_SIZE: int(1, 1024).default(4),

  /** Rate limits, per minute. 0 disables. */
  RATE_LIMIT_API_PER_MIN: int(0, 1_000_000).default(600),
  RATE_LIMIT_MISS_PER_MIN: int(0, 1_000_000).default(1200),
  RATE_LIMIT_LOGIN_PER_MIN: int(0, 1_000).default(10),
  /** Per-IP limits see the socket address; behind a reverse proxy set this so the last X-Forwarded-For hop is used instead. */
  TRUST_PROXY: bool.default(false),
  /**
   * scrypt profile for password hashes: log2 of N, and p (r is 8). The default is OWASP's
   * N=2^15, r=8, p=3: 32 MiB per hash instead of the 128 MiB of N=2^17, p=1, for the same work.
   * OWASP's equivalents: 17/1, 16/2, 15/3, 14/5, 13/10. Stored hashes keep their own profile.
   */
  SCRYPT_COST: int(10, 20).default(15),
  SCRYPT_PARALLELISM: int(1, 16).default(3),
  /** Password hashes at once: each holds a libuv thread (shared with renders) and its scrypt memory; a login flood must not starve renders. */
  PASSWORD_HASH_CONCURRENCY: int(1, 64).default(Math.max(1, Math.floor(cores / 2))),
  /** Password checks that may wait; past this login and registration answer 503 with Retry-After. */
  PASSWORD_HASH_QUEUE: int(0, 1000).default(4),
  /**
   * Password hashes started per minute, server-wide (0 = no budget; bursts of 10 pass). Slots bound
   * memory, this bounds CPU: a flood from many addresses kept one of two cores on scrypt and
   * doubled render p99; at 30 a minute it is at most ~15 % of a 2-core machine.
   */
  PASSWORD_HASHES_PER_MIN: int(0, 100_000).default(30),

  /** `public` serves /metrics to anyone, `admin` needs an admin key, `off` disables it. */
  METRICS: z.enum(['public', 'admin', 'off']).default('admin'),
  /** A separate port for /metrics (0 = serve on the main port). */
  METRICS_PORT: int(0, 65535).default(0),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /**
   * This process's name among the nodes sharing one database: it signs the task leases it holds
   * and its database connections. Unique per process by default (a restarted process is a new node).
   */
  NODE_NAME: z
    .string()
    .min(1)
    .max(200)
    .default(() => `${os.hostname()}-${process.pid}`),

  /**
   * PostgreSQL (`postgres://user:pass@host:5432/imgpath`) for the library, users, keys, presets and
   * tasks, shared by every node (issue 13). Unset: SQLite in DATA_DIR, one node.
   */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// or postgresql:// URL')
    .optional(),
  /**
   * `s3`: a render made on one node is kept in the originals' bucket (under renditions/) for every
   * node, indexed in PostgreSQL; read after this node's own memory and disk. Needs STORAGE=s3 and DATABASE_URL.
   */
  RENDITIONS_STORE: z.enum(['local', 's3']).default('local'),
  /** Budget of the shared rendition tier (RENDITIONS_STORE=s3): bucket space, evicted least recently read first. */
  SHARED_CACHE_MB: int(1, 100_000_000).default(10_240),
  /**
   * How long a node's claim on cluster work (a running task, the drop folder) holds without renewal:
   * work of a node that died is taken over after at most this plus a sweep. Renewed three times per lease.
   */
  LEASE_SECONDS: int(2, 3600).default(30),

  STORAGE: z.enum(['local', 's3']).default('local'),
  S3_BUCKET: z.string().optional(),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  S3_PREFIX: z.string().default(''),
  /**
   * The S3 endpoint as browsers reach it, for presigned upload URLs (POST /images/uploads), when
   * it differs from S3_ENDPOINT (`http://minio:9000` inside, `https://s3.example.com` outside).
   */
  S3_PUBLIC_ENDPOINT: z.string().url().optional(),
  /** How long a presigned upload URL works: whoever holds it may PUT (the signed size) until then. */
  UPLOAD_URL_TTL_SECONDS: int(60, 604_800).default(900),
  /** Bucket filling: direct uploads a caller may hold open at once, each up to MAX_UPLOAD_MB until swept. */
  MAX_OPEN_UPLOADS: int(1, 10_000).default(20),

  /**
   * Remote origins: `name=URL,…`; `/img/{options}/@name/path` renders the file at URL + path,
   * fetched once and kept as an original. Parsed into `config.origins`.
   */
  ORIGINS: z
    .string()
    .superRefine((raw, ctx) => {
      const parsed = parseOrigins(raw);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .optional(),
  /** SSRF: origins whose host may resolve to loopback, private, link-local or CGNAT addresses; none unless named. */
  ORIGINS_ALLOW_PRIVATE: z.string().optional(),
  /** Disk and memory exhaustion through a remote original; unset = MAX_UPLOAD_MB. Cut while streaming. */
  ORIGIN_MAX_MB: int(1, 2048).optional(),
  /** A slow or stalled origin holding a request (and a socket) open: the whole fetch, redirects and body included. */
  ORIGIN_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** How long a fetched original is used before it is revalidated (If-None-Match / If-Modified-Since). */
  ORIGIN_TTL_SECONDS: int(0, 31_536_000).default(3600),

  /**
   * Widths a `w_auto` client hint rounds up to: one number = every multiple of it, or an ascending
   * list (past its last entry: the last). Cache filling: a browser sends its exact layout width, so
   * unrounded hints would make one render and one cache entry per pixel of width (8192 per image);
   * the default list makes at most 11.
   */
  CLIENT_HINT_WIDTH_STEPS: z
    .string()
    .superRefine((raw, ctx) => {
      const parsed = parseWidthSteps(raw);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .default('160,320,480,640,800,1024,1280,1600,1920,2560,3840'),
  /** DPRs a `dpr_auto` client hint rounds up to (ascending, 1..4): 1.25 gives 1.5, 2.625 gives 3. Same cache-filling reason. */
  CLIENT_HINT_DPR_STEPS: z
    .string()
    .superRefine((raw, ctx) => {
      const parsed = parseDprSteps(raw);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .default('1,1.5,2,3,4'),
  /**
   * `w_auto` without a width hint (Firefox and Safari send none; Chromium only for `<img sizes>`)
   * nor its own `w_auto:{px}`: rendered as `w_{this}`. Unset: 1280 (at most MAX_OUTPUT_DIM), which
   * covers a full-width image on most laptops and a ~400 px column on a 3x phone; small slots
   * should say `w_auto:320`.
   */
  CLIENT_HINT_WIDTH_FALLBACK: int(1, 16_383).optional(),

  /** Public base URL used in answers (ready-to-use URLs); defaults to the request's origin. */
  PUBLIC_URL: z.string().url().optional(),

  /**
   * A CDN in front: called (off the request, by the node that made the change) with the tags and
   * URLs to forget when an image is deleted, made private, renamed or re-cropped, or a preset
   * changes (src/cluster/cdn-purge.ts, src/library/cdn.ts). The URLs are built on PUBLIC_URL.
   */
  PURGE_WEBHOOK_URL: z.string().url().optional(),
  /** `json` {reason,tags,urls}; `cloudflare` purge_cache {files}/{tags}; `fastly` Surrogate-Key batch purge (and sends Surrogate-Key); `purge` one PURGE per URL (Varnish, nginx). */
  PURGE_WEBHOOK_FORMAT: z.enum(['json', 'cloudflare', 'fastly', 'purge']).default('json'),
  /** Bearer token (json, cloudflare, purge) or Fastly API token (fastly). */
  PURGE_WEBHOOK_TOKEN: z.string().optional(),

  /**
   * Pages on other origins calling the JSON API (`fetch`). Unset: none, the same origin only (the
   * dashboard, /docs) and server-side clients, which CORS never concerns.
   */
  CORS_ORIGINS: corsOrigins.optional(),
  /**
   * Images (/img, /random, /random-image, /info) read by pages on other origins (`<img crossorigin>`
   * into a canvas, WebGL, fetch). `*` by default: the bytes are fetchable by any client anyway, and
   * `*` is one header value for everyone, so a CDN may keep one copy (a list needs `Vary: Origin`).
   */
  CORS_IMAGE_ORIGINS: corsOrigins.default('*'),
});

const WIDTH_STEPS_HELP = 'expected one step in pixels (every multiple of it: 100) or ascending widths separated by commas (160,320,640,1280), each 1..16383';

export function parseWidthSteps(raw: string): { steps: WidthSteps } | { error: string } {
  const items = raw.split(',').map((s) => s.trim());
  if (items.length > 64 || items.some((s) => !/^\d{1,5}$/.test(s))) return { error: WIDTH_STEPS_HELP };
  const widths = items.map(Number);
  if (widths.some((w, i) => w < 1 || w > 16_383 || (i > 0 && w <= widths[i - 1]))) return { error: WIDTH_STEPS_HELP };
  return { steps: widths.length === 1 ? { kind: 'every', step: widths[0] } : { kind: 'list', widths } };
}

const DPR_STEPS_HELP = 'expected ascending device pixel ratios separated by commas, each 1..4 (1,1.5,2,3,4)';

export function parseDprSteps(raw: string): { steps: number[] } | { error: string } {
  const items = raw.split(',').map((s) => s.trim());
  if (items.length > 32 || items.some((s) => !/^\d(\.\d{1,3})?$/.test(s))) return { error: DPR_STEPS_HELP };
  const steps = items.map(Number);
  if (steps.some((d, i) => d < 1 || d > 4 || (i > 0 && d <= steps[i - 1]))) return { error: DPR_STEPS_HELP };
  return { steps };
}

type Raw = z.infer<typeof configSchema>;

export interface Config extends Raw {
  ALLOW_REGISTRATION: boolean;
  /** CORS_ORIGINS and CORS_IMAGE_ORIGINS, parsed. */
  cors: { api: CorsPolicy; images: CorsPolicy };
  /** CLIENT_HINT_*, parsed: how `w_auto` / `dpr_auto` turn a request's hints into sizes. */
  clientHints: HintConfig;
  /** ORIGINS and ORIGINS_ALLOW_PRIVATE, parsed: the only hosts imgpath ever fetches from. */
  origins: Map<string, OriginConfig>;
  /** Every input and output limit as one typed object, built once here and passed where they are checked. */
  limits: Limits;
  dataDir: string;
  cacheDir: string;
  inboxDir: string | null;
  /** The SQLite file: the whole library, or with DATABASE_URL only this node's disk-tier index (`indexFile`). */
  dbFile: string;
  /**
   * This node's SQLite file holding the disk tier's index: `dbFile` on SQLite; with DATABASE_URL
   * `$CACHE_DIR/index.db`, beside the files it indexes (they are this node's, not the cluster's).
   */
  indexFile: string;
  /** jpegtran on PATH when ORIGINALS_CACHE_MB is on (found once, here), else null. */
  jpegtran: string | null;
  dev: boolean;
}

/** The render limits plus the byte limits on what comes in (uploads, drop folder, remote originals). */
export interface Limits extends RenderLimits {
  /** MAX_UPLOAD_MB in bytes: uploads, direct uploads and drop-folder files. */
  maxUploadBytes: number;
  /** ORIGIN_MAX_MB (else MAX_UPLOAD_MB) in bytes: a remote original is cut off past this while streaming. */
  maxOriginBytes: number;
}

const MB = 1024 * 1024;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parse an environment (usually `process.env` after `.env` was loaded). Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" (a `.env` line `FOO=`), so defaults apply.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}${'received' in i ? '' : describeValue(cleaned[String(i.path[0])])}`),
    );
  }
  const c = parsed.data;
  if (c.STORAGE === 's3' && !c.S3_BUCKET) throw new ConfigError(['S3_BUCKET: required when STORAGE=s3']);
  if (c.RENDITIONS_STORE === 's3') {
    const missing = [
      ...(c.STORAGE === 's3' ? [] : ["STORAGE=s3 (the renditions go to the originals' bucket)"]),
      ...(c.DATABASE_URL ? [] : ['DATABASE_URL (their index is shared by every node)']),
    ];
    if (missing.length) throw new ConfigError([`RENDITIONS_STORE: s3 needs ${missing.join(' and ')}`]);
  }
  const origins = originsOf(c.ORIGINS, c.ORIGINS_ALLOW_PRIVATE);
  purgeWebhookProblem(c, cleaned);
  if (c.CLIENT_HINT_WIDTH_FALLBACK !== undefined && c.CLIENT_HINT_WIDTH_FALLBACK > c.MAX_OUTPUT_DIM) {
    throw new ConfigError([
      `CLIENT_HINT_WIDTH_FALLBACK: ${c.CLIENT_HINT_WIDTH_FALLBACK} is over MAX_OUTPUT_DIM=${c.MAX_OUTPUT_DIM}, so every w_auto without a hint would be refused`,
    ]);
  }
  const dataDir = path.resolve(c.DATA_DIR);
  const inbox = c.INBOX_DIR ?? path.join(dataDir, 'inbox');
  return {
    ...c,
    limits: {
      maxUploadBytes: c.MAX_UPLOAD_MB * MB,
      maxOriginBytes: (c.ORIGIN_MAX_MB ?? c.MAX_UPLOAD_MB) * MB,
      maxInputPixels: c.MAX_INPUT_PIXELS,
      maxFrames: c.MAX_FRAMES,
      maxOutputDim: c.MAX_OUTPUT_DIM,
      maxOutputPixels: c.MAX_OUTPUT_PIXELS,
      maxAnimationPixels: c.MAX_ANIMATION_PIXELS,
    },
    dataDir,
    cacheDir: path.resolve(c.CACHE_DIR),
    inboxDir: inbox === 'off' ? null : path.resolve(inbox),
    dbFile: path.join(dataDir, 'imgpath.db'),
    indexFile: c.DATABASE_URL ? path.join(path.resolve(c.CACHE_DIR), 'index.db') : path.join(dataDir, 'imgpath.db'),
    jpegtran: c.ORIGINALS_CACHE_MB > 0 ? findOnPath('jpegtran', env.PATH) : null,
    dev: c.NODE_ENV === 'development',
    ALLOW_REGISTRATION: c.ALLOW_REGISTRATION ?? c.NODE_ENV !== 'production',
    cors: { api: corsPolicy(c.CORS_ORIGINS ?? 'off'), images: corsPolicy(c.CORS_IMAGE_ORIGINS) },
    clientHints: clientHintsOf(c),
    origins,
  };
}

/** Fails the start on a purge hook that could never work, rather than on every purge. */
function purgeWebhookProblem(c: Raw, env: Record<string, string | undefined>) {
  if (!c.PURGE_WEBHOOK_URL) {
    // The default format names no choice; another format, or a token, means a URL was meant.
    const stray = env.PURGE_WEBHOOK_TOKEN !== undefined ? 'PURGE_WEBHOOK_TOKEN' : c.PURGE_WEBHOOK_FORMAT !== 'json' ? 'PURGE_WEBHOOK_FORMAT' : undefined;
    if (stray) throw new ConfigError([`${stray}: set, but PURGE_WEBHOOK_URL is unset, so nothing would be called`]);
    return;
  }
  const hook = new URL(c.PURGE_WEBHOOK_URL);
  if (!/^https?:$/.test(hook.protocol)) throw new ConfigError(['PURGE_WEBHOOK_URL: expected an http:// or https:// URL']);
  // fetch refuses such a URL, quoting it whole, so every purge would fail and log the password.
  if (hook.username || hook.password) {
    throw new ConfigError(['PURGE_WEBHOOK_URL: no user or password in the URL; put the secret in PURGE_WEBHOOK_TOKEN (sent as Authorization: Bearer)']);
  }
  // The URLs to purge are the public ones: without PUBLIC_URL this server does not know them.
  if (!c.PUBLIC_URL) throw new ConfigError(['PUBLIC_URL: required with PURGE_WEBHOOK_URL (the URLs to purge are built on it)']);
  if ((c.PURGE_WEBHOOK_FORMAT === 'cloudflare' || c.PURGE_WEBHOOK_FORMAT === 'fastly') && !c.PURGE_WEBHOOK_TOKEN) {
    throw new ConfigError([`PURGE_WEBHOOK_TOKEN: required with PURGE_WEBHOOK_FORMAT=${c.PURGE_WEBHOOK_FORMAT} (its purge API refuses anonymous calls)`]);
  }
}

function originsOf(raw: string | undefined, allowPrivate: string | undefined): Map<string, OriginConfig> {
  if (!raw) {
    if (allowPrivate) throw new ConfigError(['ORIGINS_ALLOW_PRIVATE: names origins, but ORIGINS is unset']);
    return new Map();
  }
  const parsed = parseOrigins(raw, allowPrivate);
  if ('error' in parsed) throw new ConfigError([`ORIGINS_ALLOW_PRIVATE: ${parsed.error}`]);
  return new Map(parsed.origins.map((o) => [o.name, o]));
}

/** Only called on values the schema has already accepted. */
function clientHintsOf(c: Raw): HintConfig {
  const widths = parseWidthSteps(c.CLIENT_HINT_WIDTH_STEPS);
  const dprs = parseDprSteps(c.CLIENT_HINT_DPR_STEPS);
  if ('error' in widths || 'error' in dprs) throw new ConfigError(['CLIENT_HINT_*: unparsable']);
  return { widths: widths.steps, dprs: dprs.steps, fallbackWidth: c.CLIENT_HINT_WIDTH_FALLBACK ?? Math.min(1280, c.MAX_OUTPUT_DIM) };
}

/** Only called on values the schema has already accepted. */
function corsPolicy(raw: string): CorsPolicy {
  const parsed = parseCorsOrigins(raw);
  if ('error' in parsed) throw new ConfigError([parsed.error]);
  return parsed.policy;
}

function describeValue(v: string | undefined) {
  return v === undefined ? '' : ` (got ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
}

/** Secrets never leave the process in clear: `imgpath config` and logs use this view. */
export function maskedConfig(config: Config): Record<string, unknown> {
  const secret = /KEY|SECRET|PASSWORD|TOKEN/;
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [
      k,
      (k === 'DATABASE_URL' || k === 'PURGE_WEBHOOK_URL') && typeof v === 'string' ? maskedUrl(v) : secret.test(k) && v !== undefined ? '***' : v,
    ]),
  );
}

/**
 * A URL with its password (if any) as `***` and credential query parameters (`?token=`) redacted:
 * the host and database are worth seeing, the secrets never.
 */
export function maskedUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const tail = url.pathname + url.search;
    const redacted = redactUrl(tail);
    if (!url.password && redacted === tail) return raw;
    if (url.password) url.password = '***';
    return url.href.slice(0, url.href.length - tail.length - url.hash.length) + redacted + url.hash;
  } catch {
    return '***';
  }
}
