import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../../src/library/ingest.js';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, makeUser } from './helpers.js';

/**
 * A tenant cannot push someone else's CDN purge out of the queue (security review of the purge
 * hook): the real app on SQLite, a real HTTP receiver on 127.0.0.1 standing in for the CDN that
 * holds its answers (a slow or rate-limited purge API) while a tenant floods the library with
 * changes of their own images.
 */

const PUBLIC = 'https://img.example.com';

let receiver: http.Server;
let hook: string;
let bodies: Array<{ tags: string[]; reason: string }> = [];
/** While set, the receiver holds every answer until `release()`. */
let gate: Promise<void> | undefined;
let release = () => {};
beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      bodies.push(JSON.parse(body));
      await gate;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(() => {
  receiver.closeAllConnections();
  receiver.close();
});

let t: TestApp | undefined;
beforeEach(() => {
  bodies = [];
  gate = new Promise<void>((r) => (release = r));
});
afterEach(async () => {
  release();
  await t?.deps.cdn?.idle();
  await t?.cleanup();
  t = undefined;
});

const JSON_BODY = { 'Content-Type': 'application/json' };
const focal = (a: TestApp, key: string, id: string, x: number) =>
  a.request(`/images/${id}/focal-point`, { method: 'PUT', headers: { ...auth(key), ...JSON_BODY }, body: JSON.stringify({ x, y: 0.5 }) });
/** Distinct small PNGs, so each is its own image (the same bytes twice are one image). */
const png = (i: number) =>
  sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i % 256, g: Math.floor(i / 256), b: 7 } } })
    .png()
    .toBuffer();

async function setup() {
  t = await testApp({ PUBLIC_URL: PUBLIC, PURGE_WEBHOOK_URL: `${hook}/purge`, RATE_LIMIT_API_PER_MIN: '0' });
  // The operator's image that leaked: public, about to be deleted.
  const leaked = await t.seed('dune-2mp.jpg', { visibility: 'public' });
  const mallory = makeUser(t, 'mallory');
  return { a: t, leaked, mallory };
}

describe('CDN purge queue under a tenant flood', () => {
  it("one image's repeated changes take one place: the admin's delete is still sent", async () => {
    const { a, leaked, mallory } = await setup();
    const mine = (await ingest(a.deps, await png(1), { ownerId: mallory.id, visibility: 'public' })).image.id;
    // The CDN is slow: the first purge is in flight and held.
    expect((await focal(a, mallory.key, mine, 0.01)).status).toBe(200);
    expect((await a.request(`/images/${leaked}`, { method: 'DELETE', headers: auth(a.adminKey) })).status).toBe(204);
    for (let i = 0; i < 150; i++) expect((await focal(a, mallory.key, mine, (i + 2) / 200)).status).toBe(200);
    const waiting = a.deps.cdn!.stats().queued;
    release();
    await a.deps.cdn!.idle();
    expect(bodies.filter((b) => b.tags.includes(`img-${leaked}`))).toEqual([expect.objectContaining({ reason: 'image-deleted' })]);
    // The call in flight, the delete, and the tenant's image once.
    expect(waiting).toBeLessThanOrEqual(3);
    expect(a.deps.cdn!.stats().dropped).toBe(0);
  });

  it("many images of one tenant neither push out nor hold back another owner's purge; the tenant's own tags all reach the CDN", async () => {
    const { a, leaked, mallory } = await setup();
    const mine: string[] = [];
    for (let i = 0; i < 120; i++) mine.push((await ingest(a.deps, await png(i), { ownerId: mallory.id, visibility: 'public' })).image.id);
    expect((await focal(a, mallory.key, mine[0]!, 0.3)).status).toBe(200);
    for (const id of mine.slice(1, 60)) expect((await focal(a, mallory.key, id, 0.3)).status).toBe(200);
    expect((await a.request(`/images/${leaked}`, { method: 'DELETE', headers: auth(a.adminKey) })).status).toBe(204);
    for (const id of mine.slice(60)) expect((await focal(a, mallory.key, id, 0.3)).status).toBe(200);
    // Bounded: about 100 waiting, whatever the flood.
    expect(a.deps.cdn!.stats().queued).toBeLessThanOrEqual(101);
    release();
    await a.deps.cdn!.idle();
    // Sent right after the call that was in flight: each owner in turn, not first come first served.
    expect(bodies[1]).toMatchObject({ reason: 'image-deleted', tags: [`img-${leaked}`] });
    // Folded, never lost: every tag of the flood was sent.
    const sent = new Set(bodies.flatMap((b) => b.tags));
    expect(mine.filter((id) => !sent.has(`img-${id}`))).toEqual([]);
  }, 60_000);
});
