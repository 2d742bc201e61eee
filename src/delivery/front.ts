import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import { renditionHeaders, type CachedRendition } from '../cache/types.js';
import type { Deps } from '../deps.js';
import { accessRecorder, requestIdFor } from '../ops/observe.js';
import type { MemoEntry } from './hit-memo.js';
import { etagMatches } from './respond.js';

type Fetch = (req: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>;

const INTERNAL = JSON.stringify({ error: { code: 'internal', message: 'Internal server error' } });

/** The route every memo answer is recorded under (the one the full path matched to learn it). */
const ROUTE = '/img/*';

/**
 * The node:http listener of the app: a request the hit memo (src/delivery/hit-memo.ts) can answer
 * is answered here, from precomputed headers and the cache tiers' bytes, with the same access line,
 * metrics and key usage as the full path; everything else goes to Hono, whose /img answers teach
 * the memo. On a hit the memo's answer costs a few map lookups where the full path costs
 * authentication, parsing and planning (issue 14).
 */
export function frontListener(deps: Deps, app: { fetch: Fetch }): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  const memo = deps.hits;
  const record = accessRecorder(deps);
  const usage = deps.auth.usage;
  const learning: Fetch = (req, env) => {
    const res = app.fetch(req, env);
    // Only HTTP/1 requests are answered by the memo (front below), so only theirs teach it.
    if (!('headersDistinct' in env.incoming)) return res;
    const incoming = env.incoming;
    if (res instanceof Promise)
      return res.then((r) => {
        memo.learn(incoming, req, r);
        return r;
      });
    memo.learn(incoming, req, res);
    return res;
  };
  const hono = getRequestListener(learning);

  function send(entry: MemoEntry, incoming: IncomingMessage, outgoing: ServerResponse, started: number, r: CachedRendition | undefined) {
    const id = incoming.headers['x-request-id'];
    const requestId = requestIdFor(Array.isArray(id) ? id.join(', ') : id);
    if (record.starts) record.start(requestId, 'GET', entry.logUrl);
    const apiKey = entry.apiKey?.id;
    if (apiKey !== undefined) usage.request(apiKey);
    const headers = r ? okHeaders(entry, r) : entry.notModified;
    // The slot is filled and read within writeHead, which copies the headers out at once.
    headers[headers.length - 1] = requestId;
    outgoing.writeHead(r ? 200 : 304, headers);
    if (r) outgoing.end(r.data);
    else outgoing.end();
    const bytes = r ? r.data.length : 0;
    if (r?.tier === 'disk' && !entry.diskCopy) entry.diskCopy = { format: r.format, width: r.width, height: r.height, bytes };
    if (apiKey !== undefined) usage.bytes(apiKey, bytes);
    memo.answered();
    record.finish({
      requestId,
      method: 'GET',
      route: ROUTE,
      url: entry.logUrl,
      status: r ? 200 : 304,
      seconds: (performance.now() - started) / 1000,
      tier: r ? r.tier : 'none',
      bytes,
    });
  }

  /** Answers from `entry`, or returns false (nothing sent) when the cache no longer holds its rendition. */
  function answer(entry: MemoEntry, incoming: IncomingMessage, outgoing: ServerResponse): boolean {
    const started = performance.now();
    // As the full path does: a matching If-None-Match is a 304 before the cache is asked.
    const inm = incoming.headers['if-none-match'];
    if (inm !== undefined && etagMatches(inm, entry.etag)) {
      send(entry, incoming, outgoing, started, undefined);
      return true;
    }
    const stored = deps.cache.stored?.(entry.renditionKey, entry.meta, entry.diskCopy);
    if (stored === undefined) return false;
    if (!(stored instanceof Promise)) {
      send(entry, incoming, outgoing, started, stored);
      return true;
    }
    stored.then((r) => (r ? send(entry, incoming, outgoing, started, r) : hono(incoming, outgoing))).catch((err: unknown) => failed(err, outgoing));
    return true;
  }

  function failed(err: unknown, outgoing: ServerResponse) {
    deps.log.error({ err }, 'hit memo answer failed');
    if (!outgoing.headersSent) outgoing.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    outgoing.end(outgoing.headersSent ? undefined : INTERNAL);
  }

  return function front(incoming, outgoing) {
    if (incoming.method === 'GET') {
      const entry = memo.match(incoming);
      try {
        if (entry && answer(entry, incoming, outgoing)) return;
      } catch (err) {
        return failed(err, outgoing);
      }
    }
    void hono(incoming, outgoing);
  };
}

/** The 200 headers for rendition `r`: memory hits share one rendition object, so theirs are built once. */
function okHeaders(entry: MemoEntry, r: CachedRendition): string[] {
  if (entry.ok?.of === r) return entry.ok.headers;
  const headers = [...entry.base];
  const own = r.headers ?? renditionHeaders(r);
  for (const name in own) headers.push(name.toLowerCase(), own[name]);
  headers.push('x-request-id', '');
  // Only a memory hit's rendition is the same object next time; a disk read is new every time.
  if (r.headers) entry.ok = { of: r, headers };
  return headers;
}
