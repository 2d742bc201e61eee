import { BadRequestError, NotFoundError } from '../errors.js';
import { IMAGE_ID } from '../library/ids.js';

/**
 * The parts of `/img/[s--{sig}--/][{options}/]{id}[.{ext}][.json]` or
 * `/img/[s--{sig}--/][{options}/]@{origin}/{path}[.json]`, before any validation of options.
 */
export interface DeliveryPath {
  signature?: string;
  /** What a signature covers: `{options}/{id}[.{ext}]` or `{options}/@{origin}/{path}` exactly as in the URL (without `.json`). */
  signedPart: string;
  options: string;
  /** The library id; empty when `origin` is set. */
  id: string;
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
  if (segments.length > 2 || segments.some((s) => s === '')) {
    throw new NotFoundError('Expected /img/{options}/{id}[.{ext}] or /img/{id}[.{ext}]', 'bad_path');
  }
  const file = segments[segments.length - 1];
  const options = segments.length === 2 ? segments[0] : '';
  const dot = file.indexOf('.');
  const id = dot === -1 ? file : file.slice(0, dot);
  const ext = dot === -1 ? undefined : file.slice(dot + 1);
  if (!IMAGE_ID.test(id)) throw new BadRequestError(`Invalid image id ${JSON.stringify(id.slice(0, 80))}`, {}, 'bad_id');
  return { signature, signedPart: rest, options, id, ext, dryRun };
}
