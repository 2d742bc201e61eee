import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPg } from '../../src/db/pg/client.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

describe('PostgreSQL schema (issue 13)', () => {
  it('migrates an empty database to the same tables as SQLite, and two nodes starting at once do not collide', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([openPg(url, { node: 'a' }), openPg(url, { node: 'b' })]);
    const { rows } = await a.$client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'api_keys',
        'direct_uploads',
        'image_aliases',
        'image_tags',
        'images',
        'origin_images',
        'presets',
        'renditions',
        'retired_public_ids',
        'tasks',
        'users',
        'variants',
      ]),
    );
    const now = Math.floor(Date.now() / 1000);
    const { rows: made } = await b.$client.query<{ created_at: number }>(
      "INSERT INTO users (username, password_hash) VALUES ('ada', 'x') RETURNING created_at",
    );
    expect(Math.abs(made[0]!.created_at - now)).toBeLessThanOrEqual(2);
    await Promise.all([a.$client.end(), b.$client.end()]);
  });
});
