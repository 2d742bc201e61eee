import { splitItem } from './parse.js';
import { NAME_TO_KEY } from './registry.js';

/**
 * Readable public ids (`blog/2024/cat`): the grammar, shared by the server (upload, PATCH,
 * delivery paths, /info, the API) and the browser-safe client, so both refuse the same ids.
 *
 * A public id lives in the delivery URL, `/img/[{options}/]{id}[.{ext}]`, so it must never be
 * read as something else there:
 * - segments of `[A-Za-z0-9_.-]`, none empty, none starting with a dot (so no `.` or `..`, no
 *   hidden files), no `%`, `@`, `,` or anything that needs percent-encoding;
 * - no dot in the last segment: the first dot of the URL's last segment always starts the
 *   format extension (`cat.webp`), as it does for random ids; dots in folders (`v1.2/cat`) are fine;
 * - the first segment is not an options segment (`w_300/cat` would be read as `w_300` applied
 *   to `cat`) and not `s--…` (a signature); `@` is refused anywhere, so `@origin/...` paths stay origins';
 * - at most PUBLIC_ID_MAX_LENGTH characters and PUBLIC_ID_MAX_DEPTH segments.
 */

/** Cloudinary's own bound; long enough for a mirrored site's paths, short enough for an index key. */
export const PUBLIC_ID_MAX_LENGTH = 255;
/** Deeper trees are almost always a mistake (an absolute path pasted in) and make URLs unreadable. */
export const PUBLIC_ID_MAX_DEPTH = 10;

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** The random (and remote-origin) id rule: one segment, no dot. */
export const IMAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Whether a path segment reads as a delivery options list: every comma item names a known option
 * (`w_300`, `t_thumb,f_webp`). Shape only; whether the values parse is the spec parser's business.
 */
export function isOptionsSegment(segment: string): boolean {
  if (segment === '') return false;
  return segment.split(',').every((item) => item !== '' && NAME_TO_KEY.has(splitItem(item).name));
}

/** Why `id` is not a valid public id, in one sentence; undefined when it is valid. */
export function publicIdProblem(id: string): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'a public id may not be empty';
  if (id.length > PUBLIC_ID_MAX_LENGTH) return `a public id is at most ${PUBLIC_ID_MAX_LENGTH} characters (received ${id.length})`;
  const segments = id.split('/');
  if (segments.length > PUBLIC_ID_MAX_DEPTH) return `a public id has at most ${PUBLIC_ID_MAX_DEPTH} segments (received ${segments.length})`;
  for (const segment of segments) {
    if (segment === '') return 'a public id has no empty segments (no leading, trailing or double slash)';
    if (!SEGMENT.test(segment)) {
      return `each segment is made of A-Z a-z 0-9 _ - . and does not start with a dot (received ${JSON.stringify(segment.slice(0, 40))})`;
    }
  }
  if (segments[segments.length - 1].includes('.')) return 'the last segment may not contain a dot: in a URL the text after it is the format extension';
  if (isOptionsSegment(segments[0])) return `the first segment ${JSON.stringify(segments[0])} reads as delivery options; choose another folder name`;
  if (segments[0].startsWith('s--')) return 'a public id may not start with "s--" (the signature prefix)';
  // Generated ids are 12 (random) and 22 (remote origin, derived from name and path) characters:
  // a one-segment name of that shape could claim an id before the image it belongs to exists.
  if (segments.length === 1 && /^(?:[A-Za-z0-9_-]{12}|[A-Za-z0-9_-]{22})$/.test(id)) {
    return 'a one-segment public id of 12 or 22 letters, digits, _ or - reads as a generated id; add a folder or change its length';
  }
  return undefined;
}

/** An id as delivery URLs and the API take it: a random id or a valid public id. */
export function isImageKey(key: string): boolean {
  return IMAGE_ID.test(key) || publicIdProblem(key) === undefined;
}
