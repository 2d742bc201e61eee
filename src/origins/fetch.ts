import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { AppError, BadGatewayError, GatewayTimeoutError, TooLargeError, UnsupportedMediaError } from '../errors.js';
import { isPrivateAddress } from './address.js';
import { isUnder } from './url.js';

/**
 * One guarded GET of a remote original. The SSRF guard is in the connection itself: the host is
 * resolved by our `lookup`, which refuses private addresses and hands the socket the very address
 * it checked (so a second DNS answer cannot swap it: no rebinding window); IP literals, which skip
 * `lookup`, are checked before connecting; and the connected peer is checked again.
 */

export interface OriginRequest {
  origin: string;
  base: string;
  url: string;
  allowPrivate: boolean;
  maxBytes: number;
  timeoutMs: number;
  etag?: string | null;
  lastModified?: string | null;
}

export type OriginAnswer = { kind: 'ok'; bytes: Buffer; etag: string | null; lastModified: string | null } | { kind: 'not_modified' } | { kind: 'not_found' };

/** Same-origin redirects followed (a CDN's trailing-slash or canonical-path hop); more is a loop. */
export const MAX_REDIRECTS = 3;

export async function fetchOriginal(req: OriginRequest): Promise<OriginAnswer> {
  const deadline = Date.now() + req.timeoutMs;
  let url = req.url;
  for (let hop = 0; ; hop++) {
    const answer = await requestOnce(req, url, deadline);
    if (answer.kind !== 'redirect') return answer;
    if (hop >= MAX_REDIRECTS) throw new BadGatewayError(`Origin @${req.origin} redirected more than ${MAX_REDIRECTS} times`, 'origin_redirect_loop');
    let next: string;
    try {
      next = new URL(answer.location, url).href;
    } catch {
      throw new BadGatewayError(`Origin @${req.origin} redirected to an invalid location`, 'origin_redirect_refused');
    }
    // Only within the origin's own base URL: a redirect is the classic way around a host allow-list.
    if (!isUnder(req.base, next)) {
      throw new BadGatewayError(`Origin @${req.origin} redirected outside ${req.base}`, 'origin_redirect_refused', { location: next.slice(0, 200) });
    }
    url = next;
  }
}

type Hop = OriginAnswer | { kind: 'redirect'; location: string };

function requestOnce(req: OriginRequest, url: string, deadline: number): Promise<Hop> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!req.allowPrivate && net.isIP(host) && isPrivateAddress(host)) return Promise.reject(refused(req.origin, host));
  const headers: Record<string, string> = { 'User-Agent': 'imgpath', Accept: 'image/*', 'Accept-Encoding': 'identity' };
  if (req.etag) headers['If-None-Match'] = req.etag;
  if (req.lastModified) headers['If-Modified-Since'] = req.lastModified;

  return new Promise<Hop>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, value?: Hop) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        request.destroy();
        reject(asAppError(req.origin, err));
      } else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new GatewayTimeoutError(`Origin @${req.origin} did not answer within ORIGIN_TIMEOUT_MS=${req.timeoutMs}`)),
      Math.max(0, deadline - Date.now()),
    );
    const transport = target.protocol === 'https:' ? https : http;
    // agent: false: a fresh socket per fetch, never a pooled one connected under other rules.
    const request = transport.request(target, { method: 'GET', headers, agent: false, lookup: guardedLookup(req), family: 0 }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status)) {
        res.resume();
        const location = res.headers.location;
        return location
          ? finish(null, { kind: 'redirect', location })
          : finish(new BadGatewayError(`Origin @${req.origin} answered ${status} without a Location`));
      }
      if (status === 304 && (req.etag || req.lastModified)) {
        res.resume();
        return finish(null, { kind: 'not_modified' });
      }
      if (status === 404 || status === 410) {
        res.resume();
        return finish(null, { kind: 'not_found' });
      }
      if (status !== 200) {
        res.resume();
        return finish(new BadGatewayError(`Origin @${req.origin} answered ${status}`, 'origin_unavailable', { originStatus: status }));
      }
      const encoding = res.headers['content-encoding'];
      if (encoding && encoding !== 'identity')
        return finish(new BadGatewayError(`Origin @${req.origin} sent Content-Encoding ${encoding} although asked for identity`));
      const declared = Number(res.headers['content-length']);
      if (declared > req.maxBytes) return finish(tooLarge(req, declared));
      readBody(req, res, (err, bytes) =>
        err ? finish(err) : finish(null, { kind: 'ok', bytes: bytes!, etag: header(res.headers.etag), lastModified: header(res.headers['last-modified']) }),
      );
    });
    request.on('error', (err) => finish(err));
    // Belt and braces: the peer actually connected to, whatever resolved it.
    request.on('socket', (socket) => {
      socket.once('connect', () => {
        const peer = socket.remoteAddress;
        if (!req.allowPrivate && (!peer || isPrivateAddress(peer))) finish(refused(req.origin, peer ?? 'unknown'));
      });
    });
    request.end();
  });
}

/** The body, counted as it streams (past maxBytes it is cut at once) and sniffed from its first bytes. */
function readBody(req: OriginRequest, res: http.IncomingMessage, done: (err: unknown, bytes?: Buffer) => void) {
  const chunks: Buffer[] = [];
  let total = 0;
  let sniffed = false;
  let over = false;
  res.on('data', (chunk: Buffer) => {
    if (over) return;
    chunks.push(chunk);
    total += chunk.length;
    if (total > req.maxBytes) {
      over = true;
      return done(tooLarge(req, total));
    }
    if (!sniffed && total >= SNIFF_BYTES) {
      sniffed = true;
      const head = Buffer.concat(chunks).subarray(0, SNIFF_BYTES);
      // Refused before the rest downloads and long before a decoder sees it.
      if (!looksLikeImage(head)) {
        over = true;
        done(notAnImage(req, res));
      }
    }
  });
  res.on('end', () => {
    if (over) return;
    const bytes = Buffer.concat(chunks);
    if (!looksLikeImage(bytes.subarray(0, SNIFF_BYTES))) return done(notAnImage(req, res));
    done(null, bytes);
  });
  res.on('error', (err) => done(err));
  res.on('aborted', () => done(new BadGatewayError(`Origin @${req.origin} closed the connection mid-body`)));
}

const SNIFF_BYTES = 16;

/**
 * Magic bytes of the raster formats probe() accepts. Only a first cut: probe() still reads the
 * header with libvips and decodes a thumbnail before anything is stored.
 */
export function looksLikeImage(b: Buffer): boolean {
  const ascii = (from: number, to: number) => b.subarray(from, to).toString('latin1');
  return (
    (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) || // JPEG
    b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')) || // PNG
    ascii(0, 4) === 'GIF8' ||
    (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') ||
    ascii(4, 8) === 'ftyp' || // AVIF, HEIF (brand checked by probe)
    ascii(0, 4) === 'II*\u0000' ||
    ascii(0, 4) === 'MM\u0000*' // TIFF
  );
}

function guardedLookup(req: OriginRequest): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true, family: options.family, hints: options.hints }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      // One private answer refuses the host: a name that resolves both ways is a rebinding setup.
      const bad = addresses.find((a) => isPrivateAddress(a.address));
      if (!req.allowPrivate && bad) return callback(refused(req.origin, bad.address, hostname) as NodeJS.ErrnoException, '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function refused(origin: string, address: string, host?: string) {
  return new BadGatewayError(
    `Origin @${origin} resolves to ${address}${host ? ` (${host})` : ''}, a private, loopback or link-local address; name it in ORIGINS_ALLOW_PRIVATE if that is intended`,
    'origin_address_refused',
  );
}

function tooLarge(req: OriginRequest, bytes: number) {
  return new TooLargeError(`The origin's file is over ${req.maxBytes} bytes (ORIGIN_MAX_MB)`, { limit: req.maxBytes, received: bytes });
}

function notAnImage(req: OriginRequest, res: http.IncomingMessage) {
  return new UnsupportedMediaError(`Origin @${req.origin} sent something that is not an image`, { contentType: res.headers['content-type'] ?? null });
}

function header(v: string | string[] | undefined): string | null {
  return typeof v === 'string' && v.length <= 512 ? v : null;
}

function asAppError(origin: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new BadGatewayError(`Origin @${origin} is unreachable (${code})`, 'origin_unavailable', { cause: code });
}
