import { createHash } from 'node:crypto';
import { BadRequestError } from '../errors.js';

/**
 * The path after `@name/` in a delivery URL, checked segment by segment and joined under the
 * origin's base. Each decoded segment is re-encoded on its own, so nothing in it can become a
 * separator, a dot segment, a query or an authority: the result is under the base by construction,
 * and checked once more after the join.
 */

/** Longest accepted origin path (raw, as in the URL): enough for real paths, not for abuse. */
const MAX_PATH = 1024;

export interface OriginPath {
  /** Decoded segments joined with `/`: what the database remembers and the derived id is made from. */
  path: string;
  /** The absolute URL fetched: base + each segment percent-encoded. */
  url: string;
}

export function resolveOriginPath(base: string, raw: string): OriginPath {
  if (raw.length === 0 || raw.length > MAX_PATH) throw badPath(raw, `expected 1 to ${MAX_PATH} characters`);
  const segments = raw.split('/').map((seg) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      throw badPath(raw, 'malformed percent-encoding');
    }
    // Empty (`//`), dot segments, encoded separators (%2f, %5c), double encoding (%252e) and control
    // characters: each is a way to make a server resolve the path to something other than it reads.
    if (decoded === '' || decoded === '.' || decoded === '..') throw badPath(raw, 'empty and dot segments are not allowed');
    if (/[/\\%?#]/.test(decoded)) throw badPath(raw, 'encoded /, \\, %, ? or # are not allowed in a segment');
    if (/[\u0000-\u001f\u007f]/.test(decoded)) throw badPath(raw, 'control characters are not allowed');
    return decoded;
  });
  const url = base + segments.map(encodeURIComponent).join('/');
  if (!isUnder(base, url)) throw badPath(raw, 'the path leaves the origin');
  return { path: segments.join('/'), url };
}

/** Whether `url` is on the base's scheme, host and port, below its path, with no user, query or fragment. */
export function isUnder(base: string, url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const b = new URL(base);
  return u.origin === b.origin && u.pathname.startsWith(b.pathname) && !u.username && !u.password && !u.search && !u.hash && !u.href.includes('#');
}

/**
 * The stable image id of an origin's file: 22 characters (128 bits of sha256 over name and path),
 * a length random ids (12) never have, so an id alone says "maybe a remote original".
 */
export function originImageId(name: string, path: string): string {
  return createHash('sha256').update(`${name}\n${path}`).digest('base64url').slice(0, ORIGIN_ID_LENGTH);
}

export const ORIGIN_ID_LENGTH = 22;

function badPath(raw: string, why: string) {
  return new BadRequestError(`Invalid origin path ${JSON.stringify(raw.slice(0, 80))}: ${why}`, {}, 'bad_origin_path');
}
