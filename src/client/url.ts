import { BadOptionError } from '../errors.js';
import { parseSpec } from '../spec/parse.js';
import { signingForm } from '../spec/canonical.js';
import { formatItem, SPEC_KEYS } from '../spec/registry.js';
import { IMAGE_ID, publicIdProblem } from '../spec/public-id.js';
import { DEFAULT_LIMITS, type Spec, type SpecKey } from '../spec/types.js';

/**
 * The URL builder: typed options → an imgpath delivery URL, in the server's own canonical
 * grammar. It runs the server's parser (src/spec, which never imports sharp or node:), so an
 * option the server would refuse throws here with the same message, and the builder cannot
 * drift from the registry. Browser-safe: no node: imports anywhere below this file.
 */

/** Delivery options keyed by their URL names: `{ w: 300, c: 'fill', e_blur: 5, f: 'webp' }` is `c_fill,e_blur:5,f_webp,w_300`. */
export type ImageOptions = Spec;

/** Signs `{options}/{id}[.{ext}]` (the exact path text, slashes of a public id included) into a delivery path (`/img/s--…--/…`); the Node entry's `createSigner` makes one. */
export type Signer = (id: string, options: string, ext?: string) => string;

export interface ClientConfig {
  /** Where imgpath is served (its PUBLIC_URL); '' gives paths (`/img/…`). */
  baseUrl: string;
  /** A policy token (from `POST /sign` with a policy): appended as `?token=` so a plain `<img src>` carries it. */
  token?: string;
  /** Node only: sign every URL instead (see `createSigner` in `imgpath/client`). */
  signer?: Signer;
  /** The server's MAX_OUTPUT_DIM, when it is not the default 8192: the builder checks sizes against it. */
  maxOutputDim?: number;
}

export interface UrlExtras {
  /** Output extension on the id (`webp` → `{id}.webp`), a shorthand for f_. */
  ext?: string;
}

export interface SrcsetOptions extends UrlExtras {
  /** Widths for `w` descriptors (`… 320w, … 640w`): each URL gets that w_. */
  widths?: readonly number[];
  /** Densities for `x` descriptors (`… 1x, … 2x`): each URL gets that dpr_. */
  densities?: readonly number[];
}

/** What `next/image` passes to a custom loader. */
export interface NextLoaderArgs {
  src: string;
  width: number;
  quality?: number;
}

function textOf<K extends SpecKey>(spec: Spec, key: K): string | undefined {
  const value = spec[key];
  if (value === undefined || value === null) return undefined;
  // formatItem leaves a default out; the parser below still sees every value the caller set.
  return formatItem(key, value as NonNullable<Spec[K]>);
}

/**
 * Options (typed or URL text) → the canonical option text the server itself would write
 * (sorted, defaults dropped, dpr_/ar_ folded into w_/h_). Throws the server's BadOptionError
 * (with `.status` 400 and `.toJSON()`) for anything it would refuse.
 */
export function formatOptions(options: ImageOptions | string = '', extras: UrlExtras & { maxOutputDim?: number } = {}): string {
  const limits = { maxOutputDim: extras.maxOutputDim ?? DEFAULT_LIMITS.maxOutputDim };
  const text = typeof options === 'string' ? options : rawText(options);
  // With the extension, so `f_png` on `{id}.webp` is refused as the server would; without, so f_ is not written twice.
  if (extras.ext !== undefined) parseSpec(text, extras.ext, limits);
  return signingForm(parseSpec(text, undefined, limits));
}

function rawText(options: ImageOptions): string {
  const items: string[] = [];
  for (const key of SPEC_KEYS) {
    if (!Object.hasOwn(options, key)) continue;
    const item = textOf(options, key);
    if (item !== undefined) items.push(item);
  }
  const unknown = Object.keys(options).find((k) => !(SPEC_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) throw new BadOptionError(unknown, `Unknown option ${JSON.stringify(unknown)}`, SPEC_KEYS.join(', '));
  return items.join(',');
}

/** The server's id rules (a random id, or a public id like `blog/2024/cat`), so a typo fails here and not as a broken image on a page. */
function checkId(id: string): void {
  if (typeof id === 'string' && IMAGE_ID.test(id)) return;
  const problem = publicIdProblem(id);
  if (problem)
    throw new BadOptionError('id', `Expected an image id of 1..64 characters [A-Za-z0-9_-] or a public id (${problem}) but received ${JSON.stringify(id)}`);
}

export interface ImgpathClient {
  /** One delivery URL: `url('abc123', { w: 300, f: 'webp' })` or `url('blog/2024/cat', …)`. */
  url(id: string, options?: ImageOptions | string, extras?: UrlExtras): string;
  /** A `srcset` attribute value: widths give `w` descriptors, densities `x` descriptors. */
  srcset(id: string, options: ImageOptions | string | undefined, set: SrcsetOptions): string;
  /** A `next/image` loader: `src` is an image id (optionally `id.ext`), `width` becomes w_, `quality` q_. */
  loader(args: NextLoaderArgs): string;
}

/**
 * A URL builder bound to one server: `createImgpath({ baseUrl, token })` in a browser,
 * `createImgpath({ baseUrl, signer: createSigner({ kid, secret }) })` on a Node backend.
 */
export function createImgpath(config: ClientConfig, defaults: ImageOptions = {}): ImgpathClient {
  const base = config.baseUrl.replace(/\/+$/, '');
  const { maxOutputDim } = config;
  const query = config.token ? `?token=${encodeURIComponent(config.token)}` : '';

  function url(id: string, options: ImageOptions | string = {}, extras: UrlExtras = {}): string {
    checkId(id);
    const merged = typeof options === 'string' ? options : { ...defaults, ...options };
    const text = formatOptions(merged, { ext: extras.ext, maxOutputDim });
    const file = extras.ext ? `${id}.${extras.ext}` : id;
    const path = config.signer ? config.signer(id, text, extras.ext) : `/img/${text ? `${text}/` : ''}${file}`;
    return `${base}${path}${query}`;
  }

  function srcset(id: string, options: ImageOptions | string | undefined, set: SrcsetOptions): string {
    const base = typeof options === 'string' ? parseSpec(options, undefined, { maxOutputDim: maxOutputDim ?? DEFAULT_LIMITS.maxOutputDim }) : (options ?? {});
    const entries: string[] = [];
    const extras = { ext: set.ext };
    for (const w of set.widths ?? []) entries.push(`${url(id, { ...base, w }, extras)} ${w}w`);
    for (const dpr of set.densities ?? []) entries.push(`${url(id, { ...base, dpr }, extras)} ${dpr}x`);
    if (!entries.length) throw new TypeError('srcset needs widths or densities');
    return entries.join(', ');
  }

  function loader({ src, width, quality }: NextLoaderArgs): string {
    // The extension is on the last segment only: `v1.2/cat` is a public id without one.
    const slash = src.lastIndexOf('/');
    const dot = src.indexOf('.', slash + 1);
    const id = dot > slash + 1 ? src.slice(0, dot) : src;
    const ext = dot > slash + 1 ? src.slice(dot + 1) : undefined;
    return url(id, { ...(ext ? {} : { f: 'auto' }), ...defaults, w: width, ...(quality ? { q: quality } : {}) }, { ext });
  }

  return { url, srcset, loader };
}
