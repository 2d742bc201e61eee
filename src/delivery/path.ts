import { BadRequestError, NotFoundError } from '../errors.js';
import { IMAGE_ID } from '../library/ids.js';

/** The parts of `/img/[s--{sig}--/][{options}/]{id}[.{ext}][.json]`, before any validation of options. */
export interface DeliveryPath {
  signature?: string;
  /** What a signature covers: `{options}/{id}[.{ext}]` exactly as in the URL (without `.json`). */
  signedPart: string;
  options: string;
  id: string;
  ext?: string;
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
