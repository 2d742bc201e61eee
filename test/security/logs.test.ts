import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { testApp, type TestApp } from '../helpers/app.js';

/** The legacy /random-image/{key} route carries an API key in the path, where the access log looks. */

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let t: TestApp;
afterAll(() => t.cleanup());

describe('access log', () => {
  it('never holds the API key of /random-image/{key}', async () => {
    t = await testApp({}, { deps: { log: createLogger({ LOG_LEVEL: 'trace' }, sink) } });
    await t.seed('dune-2mp.jpg');
    const { key } = await t.deps.keys.create({ scopes: ['deliver'], name: 'legacy' });
    expect((await t.request(`/random-image/${key}`)).status).toBe(200);
    expect((await t.request(`/random-image/${key}?tag=none`)).status).toBe(404);
    expect((await t.request(`/random-image/${key}x`)).status).toBe(401);
    const access = lines.filter((l) => l.includes('"msg":"request"'));
    expect(access.length).toBeGreaterThanOrEqual(3);
    expect(access.join('\n')).toContain('/random-image/');
    expect(lines.join('\n')).not.toContain(key.slice(5, 21));
  });
});
