import { BadRequestError, NotFoundError } from '../errors.js';
import { isImageKey, isOptionsSegment } from '../spec/public-id.js';

/**
 * The parts of `/img/[s--{sig}--/][{options}/]{id}[.{ext}][.json]` (`{id}` a random id or a
 * public id with slashes, `blog/2024/cat`) or
 * `/img/[s--{sig}--/][{options}/]@{origin}/{path}[.json]`, before any validation of options.
 */
export interface DeliveryPath {
  signature?: string;
  /** What a signature covers: `{options}/{id}[.{ext}]` or `{options}/@{origin}/{path}` exactly as in the URL (without `.json`). */
  signedPart: string;
  options: string;
  /** The library id (random or public); empty when `origin` is set. */
  id: string;
  /**
   * `/img/{x}/{y}` where `{x}` is no options list (`wdth_300`): read as the public id `x/y`, but
   * when no such image exists, `x` was more likely a mistyped option; its parse error reads better than a 404.
   */
  optionsTypo?: string;
  ext?: string;
  /** A file at a remote origin: its name and the raw (still percent-encoded) path below its base URL. */
  origin?: { name: string; path: string };
  dryRun: boolean;
}

export function parseDeliveryPath(rest: string, explain: boolean): DeliveryPath {
  let signature: string | undefined;
  const sig = rest.match(/^s--([^/]*)--\/(.*)$/);
  if (sig) {
    signature = sig[1];
    rest = sig[2];
  }
  let dryRun = explain;
  if (rest.endsWith('.json')) {
    dryRun = true;
    rest = rest.slice(0, -'.json'.length);
  }
  const segments = rest.split('/');
  // `@name` as the first or second segment: the rest is a path at that origin (its extension is
  // part of the file name there, not an output format; use f_ for that).
  const at = segments.findIndex((s) => s.startsWith('@'));
  if (at === 0 || at === 1) {
    const name = segments[at].slice(1);
    const path = segments.slice(at + 1).join('/');
    if (!name || !path) throw new NotFoundError('Expected /img/{options}/@{origin}/{path}', 'bad_path');
    return { signature, signedPart: rest, options: at === 1 ? segments[0] : '', id: '', origin: { name, path }, dryRun };
  }
  if (segments.some((s) => s === '')) {
    throw new NotFoundError('Expected /img/{options}/{id}[.{ext}] or /img/{id}[.{ext}]', 'bad_path');
  }
  // The first segment is options when it reads as options; a public id never starts with one (src/spec/public-id.ts).
  let hasOptions = segments.length >= 2 && isOptionsSegment(segments[0]);
  let { id, ext } = splitFile(hasOptions ? segments.slice(1) : segments);
  if (!hasOptions && segments.length === 2 && !isImageKey(id)) {
    // `/img/w_300,zz_1/abc` is no public id either: read it as options, whose parser says what is wrong.
    hasOptions = true;
    ({ id, ext } = splitFile(segments.slice(1)));
  }
  if (!isImageKey(id)) throw new BadRequestError(`Invalid image id ${JSON.stringify(id.slice(0, 80))}`, {}, 'bad_id');
  const options = hasOptions ? segments[0] : '';
  const optionsTypo = !hasOptions && segments.length === 2 && /[_,:]/.test(segments[0]) ? segments[0] : undefined;
  return { signature, signedPart: rest, options, id, ext, dryRun, ...(optionsTypo !== undefined && { optionsTypo }) };
}

/** `['blog', '2024', 'cat.webp']` → id `blog/2024/cat`, ext `webp`: the first dot of the last segment starts the extension. */
function splitFile(idSegments: string[]): { id: string; ext?: string } {
  const file = idSegments[idSegments.length - 1];
  const dot = file.indexOf('.');
  const id = [...idSegments.slice(0, -1), dot === -1 ? file : file.slice(0, dot)].join('/');
  return dot === -1 ? { id } : { id, ext: file.slice(dot + 1) };
}
