import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeMark } from '../../src/db/changes.js';
import { images } from '../../src/db/schema.js';
import { eq } from 'drizzle-orm';
import { testApp, type TestApp } from '../helpers/app.js';

/**
 * Issue 14 item 1: a memory hit reads no image or preset row while the database is unchanged
 * (src/db/changes.ts). Any write, through this connection or another process's, must be seen by
 * the next request, as if the rows had been read.
 */

let t: TestApp;
let id: string;
const admin = () => ({ 'X-API-Key': t.adminKey, 'Content-Type': 'application/json' });
/** One read of data_version stands for the next millisecond: another process's commit is seen after that. */
const pastReuse = () => new Promise((r) => setTimeout(r, 5));

/** A write by another process: its own connection to the database file. */
function otherProcess(write: (db: Database.Database) => void) {
  const other = new Database(t.deps.db.$client.name);
  try {
    write(other);
  } finally {
    other.close();
  }
}

beforeAll(async () => {
  t = await testApp();
  id = await t.seed('dune-2mp.jpg');
});
afterAll(() => t.cleanup());

describe('the change mark', () => {
  it('moves on a write through this connection, at once, and not on reads', () => {
    const mark = changeMark(t.deps.db);
    const before = mark();
    t.deps.db.select().from(images).all();
    expect(mark()).toBe(before);
    t.deps.db.update(images).set({ collection: 'x' }).where(eq(images.id, 'no-such-image')).run();
    expect(mark()).not.toBe(before);
  });

  it("moves on another connection's commit", async () => {
    const mark = changeMark(t.deps.db);
    const before = mark();
    // A commit that changes a row (one that changes nothing leaves data_version alone, rightly).
    otherProcess((db) => db.prepare("UPDATE images SET collection = 'y' WHERE id = ?").run(id));
    await pastReuse();
    expect(mark()).not.toBe(before);
  });
});

describe('cached rows on the hit path', () => {
  it('an image made private by another process stops being served anonymously', async () => {
    const own = await t.seed('friends-portrait.jpg');
    expect((await t.request(`/img/${own}`)).status).toBe(200);
    expect((await t.request(`/img/${own}`)).headers.get('x-cache')).toBe('HIT-MEMORY');
    otherProcess((db) => db.prepare("UPDATE images SET visibility = 'private' WHERE id = ?").run(own));
    await pastReuse();
    expect((await t.request(`/img/${own}`)).status).toBe(404);
  });

  it('an image made private through this connection (no event) stops at once', async () => {
    const own = await t.seed('dragonfly-alpha.png');
    expect((await t.request(`/img/${own}`)).status).toBe(200);
    t.deps.db.update(images).set({ visibility: 'private' }).where(eq(images.id, own)).run();
    expect((await t.request(`/img/${own}`)).status).toBe(404);
  });

  it('a preset edited by another process renders its new options on the next request', async () => {
    expect(
      (await t.request('/presets', { method: 'POST', headers: admin(), body: JSON.stringify({ name: 'hitcache', options: 'w_64' }) })).status,
    ).toBeLessThan(300);
    const first = await t.request(`/img/t_hitcache/${id}`);
    expect(first.status).toBe(200);
    otherProcess((db) => db.prepare("UPDATE presets SET options = 'w_96' WHERE name = 'hitcache'").run());
    await pastReuse();
    const second = await t.request(`/img/t_hitcache/${id}`);
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'));
    otherProcess((db) => db.prepare("DELETE FROM presets WHERE name = 'hitcache'").run());
    await pastReuse();
    expect((await t.request(`/img/t_hitcache/${id}`)).status).toBe(400);
  });
});
