import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/**
 * A real HTTP origin on 127.0.0.1 for the origin tests: files by path, with ETags and 304s,
 * redirects, slow and huge answers, non-images. Counts requests and TCP connections so a test
 * can show that a refused fetch never reached it.
 */

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface OriginServer {
  url: string;
  port: number;
  /** Requests seen, by path (raw, as sent). */
  hits: Map<string, number>;
  /** Headers of the last request to each path. */
  last: Map<string, http.IncomingHttpHeaders>;
  connections(): number;
  route(path: string, handler: Route): void;
  /** Serve bytes with a strong ETag (and Last-Modified), answering conditional requests with 304. */
  file(path: string, bytes: Buffer, opts?: { delayMs?: number; type?: string }): void;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<OriginServer> {
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  const last = new Map<string, http.IncomingHttpHeaders>();
  let connections = 0;
  const server = http.createServer(async (req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    last.set(path, req.headers);
    const route = routes.get(path);
    if (!route) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    await route(req, res);
  });
  server.on('connection', (socket) => {
    connections++;
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    last,
    connections: () => connections,
    route: (path, handler) => routes.set(path, handler),
    file(path, bytes, opts = {}) {
      const etag = `"v-${bytes.length}-${bytes.readUInt32BE(bytes.length - 8)}"`;
      routes.set(path, async (req, res) => {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { ETag: etag }).end();
        res
          .writeHead(200, {
            'Content-Type': opts.type ?? 'image/jpeg',
            'Content-Length': bytes.length,
            ETag: etag,
            'Last-Modified': 'Tue, 01 Dec 2026 10:00:00 GMT',
          })
          .end(bytes);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A small real image of a given size and colour. */
export function solid(width: number, height: number, format: 'jpeg' | 'png', color = '#c04020'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    [format]()
    .toBuffer();
}
