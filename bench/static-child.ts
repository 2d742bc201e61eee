/**
 * The floor for cache hits: bare node:http answering every request with one buffer held in
 * memory, no routing, no auth, no cache lookup (what nginx would do). With the plain headers
 * (type, length, cache policy) it is the floor issue 14 measures against; given `headers`, it
 * answers exactly those (imgpath's own, X-Request-Id made per request as imgpath makes it), which
 * shows what the response's size alone costs the server and the load generator.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

process.once('message', (job: { body: string; contentType: string; headers?: Array<[string, string]> }) => {
  const body = Buffer.from(job.body, 'base64');
  const plain = { 'Content-Type': job.contentType, 'Content-Length': String(body.length), 'Cache-Control': 'public, max-age=31536000, immutable' };
  const same = job.headers && [...job.headers.flat(), 'x-request-id', ''];
  const server = http.createServer((_req, res) => {
    if (same) {
      same[same.length - 1] = randomUUID();
      res.writeHead(200, same);
    } else res.writeHead(200, plain);
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send!({ url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
  });
});

// The bench died or was interrupted: never outlive it.
process.on('disconnect', () => process.exit(0));
