import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

// Two nodes on one PostgreSQL, both with the purge hook: the CDN hears of a change once, from the
// node that made it, and only once the other node already refuses the stale answer (issue 13 item 5).
let server: PostgresServer;
let receiver: http.Server;
let a: TestApp;
let b: TestApp;
const calls: Array<{ at: number; body: { reason: string; tags: string[]; urls: string[] } }> = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ at: performance.now(), body: JSON.parse(body) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/purge`;
  server = await startPostgres();
  const url = await server.createDatabase();
  const env = { DATABASE_URL: url, PUBLIC_URL: 'https://img.example.com', PURGE_WEBHOOK_URL: hook };
  a = await testApp({ ...env, NODE_NAME: 'node-a' });
  b = await testApp({ ...env, NODE_NAME: 'node-b' }, { deps: { store: a.deps.store } });
}, 120_000);
afterAll(async () => {
  for (const t of [a, b]) {
    if (!t) continue;
    await t.deps.cdn?.idle();
    await t.deps.repos.close();
    await t.cleanup();
  }
  await server?.stop();
  receiver?.closeAllConnections();
  receiver?.close();
});

it('a delete on B calls the CDN once, from B, after A already answers 404', async () => {
  const id = await a.seed('dune-2mp.jpg');
  // A serves it, so A holds the row and a rendition that must not outlive the delete.
  expect((await a.request(`/img/${id}`)).status).toBe(200);
  const deleted = performance.now();
  expect((await b.request(`/images/${id}`, { method: 'DELETE', headers: { 'X-API-Key': b.adminKey } })).status).toBe(204);
  let goneOnA: number | undefined;
  while (goneOnA === undefined && performance.now() - deleted < 2000) {
    if ((await a.request(`/img/${id}`)).status === 404) goneOnA = performance.now();
    else await new Promise((r) => setTimeout(r, 10));
  }
  expect(goneOnA).toBeDefined();
  await b.deps.cdn!.idle();
  await a.deps.cdn!.idle();
  expect(calls.map((c) => c.body)).toEqual([expect.objectContaining({ reason: 'image-deleted', tags: [`img-${id}`] })]);
  expect(b.deps.cdn!.stats().ok).toBe(1);
  expect(a.deps.cdn!.stats()).toMatchObject({ ok: 0, queued: 0 });
  // With DATABASE_URL the call waits a second after the change: by then A had heard of it.
  expect(calls[0]!.at - deleted).toBeGreaterThanOrEqual(990);
  expect(calls[0]!.at).toBeGreaterThan(goneOnA!);
});
