/**
 * The floor for cache hits: bare node:http answering every request with one buffer held in
 * memory and the same headers, no routing, no auth, no cache lookup (what nginx would do).
 */
import http from 'node:http';

process.once('message', (job: { body: string; contentType: string }) => {
  const body = Buffer.from(job.body, 'base64');
  const headers = { 'Content-Type': job.contentType, 'Content-Length': String(body.length), 'Cache-Control': 'public, max-age=31536000, immutable' };
  const server = http.createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.send!({ url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
  });
});

// The bench died or was interrupted: never outlive it.
process.on('disconnect', () => process.exit(0));
