/**
 * ORIGINS and ORIGINS_ALLOW_PRIVATE, parsed once at start (src/config.ts): a typo or an
 * unsupported scheme fails the boot, never a request.
 */

export interface OriginConfig {
  /** The `@name` of delivery URLs. */
  name: string;
  /** Absolute http(s) URL ending in `/`: every fetched path is joined under it and may not leave it. */
  base: string;
  /** Named in ORIGINS_ALLOW_PRIVATE: its host may resolve to loopback, private or link-local addresses. */
  allowPrivate: boolean;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HELP =
  'expected name=URL[,name=URL…] with name [a-z0-9_-]{1,32} and an http(s) URL without user, query or fragment (blog=https://blog.example.com/media/)';

export function parseOrigins(raw: string, allowPrivateRaw = ''): { origins: OriginConfig[] } | { error: string } {
  const origins: OriginConfig[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq).trim();
    const target = item.slice(eq + 1).trim();
    if (eq < 1 || !NAME.test(name)) return { error: `${JSON.stringify(item)}: ${HELP}` };
    if (origins.some((o) => o.name === name)) return { error: `origin ${name} is named twice` };
    if (/^s3:/i.test(target)) {
      // An S3 origin needs its own credentials and endpoint per origin; until then a bucket is
      // reachable through its HTTPS endpoint (public or CDN URL), which this guard already covers.
      return { error: `${name}: s3:// origins are not supported yet; name the bucket's HTTPS URL instead (https://bucket.s3.amazonaws.com/prefix/)` };
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return { error: `${name}: ${JSON.stringify(target)} is not a URL; ${HELP}` };
    }
    if (!/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash || target.includes('#')) {
      return { error: `${name}: ${JSON.stringify(target)} is not allowed; ${HELP}` };
    }
    // A base without a trailing slash still means "this folder": /media and /media/ alike.
    const pathname = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    origins.push({ name, base: `${url.origin}${pathname}`, allowPrivate: false });
  }
  if (origins.length === 0) return { error: HELP };
  for (const name of allowPrivateRaw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const o = origins.find((x) => x.name === name);
    if (!o) return { error: `ORIGINS_ALLOW_PRIVATE names ${JSON.stringify(name)}, which is not in ORIGINS (${origins.map((x) => x.name).join(', ')})` };
    o.allowPrivate = true;
  }
  return { origins };
}
