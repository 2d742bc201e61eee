import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, makeUser } from './helpers.js';

let t: TestApp;
let id: string;
beforeEach(async () => {
  t = await testApp();
  id = await t.seed('dune-2mp.jpg');
});
afterEach(async () => {
  await t.cleanup();
});

const save = (key: string | undefined, body: unknown) =>
  t.request('/presets', { method: 'POST', headers: { ...(key ? auth(key) : {}), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function widthOf(res: Response) {
  return (await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width;
}

describe('presets', () => {
  it('create, list, replace, delete', async () => {
    const created = await save(t.adminKey, { name: 'card', options: 'w_400,h_300,c_fill' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'card', options: 'w_400,h_300,c_fill' });
    const replaced = await save(t.adminKey, { name: 'card', options: 'w_200' });
    expect(replaced.status).toBe(200);
    const user = makeUser(t, 'alice', ['deliver']);
    const list = (await (await t.request('/presets', { headers: auth(user.key) })).json()) as any;
    expect(list.items).toEqual([expect.objectContaining({ name: 'card', options: 'w_200' })]);
    expect((await t.request('/presets/card', { method: 'DELETE', headers: auth(t.adminKey) })).status).toBe(204);
    expect((await t.request('/presets/card', { method: 'DELETE', headers: auth(t.adminKey) })).status).toBe(404);
    expect(((await (await t.request('/presets', { headers: auth(user.key) })).json()) as any).items).toEqual([]);
  });

  it('anonymous pages may use a preset but not arbitrary options', async () => {
    await save(t.adminKey, { name: 'card', options: 'w_320,h_200,c_fill' });
    const viaPreset = await t.request(`/img/t_card/${id}`);
    expect(viaPreset.status).toBe(200);
    expect(await widthOf(viaPreset)).toBe(320);
    expect((await t.request(`/img/w_300/${id}`)).status).toBe(401);
  });

  it('editing a preset purges its renditions; deleting it makes t_ a 400', async () => {
    await save(t.adminKey, { name: 'thumb', options: 'w_100' });
    expect(await widthOf(await t.request(`/img/t_thumb/${id}`))).toBe(100);
    expect((await t.request(`/img/t_thumb/${id}`)).headers.get('x-cache')).toMatch(/^HIT/);
    await save(t.adminKey, { name: 'thumb', options: 'w_60' });
    const after = await t.request(`/img/t_thumb/${id}`);
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(await widthOf(after)).toBe(60);
    await t.request('/presets/thumb', { method: 'DELETE', headers: auth(t.adminKey) });
    const gone = await t.request(`/img/t_thumb/${id}`);
    expect(gone.status).toBe(400);
    expect(((await gone.json()) as any).error.option).toBe('t');
  });

  it('options are validated by the URL grammar', async () => {
    for (const [options, option] of [
      ['w_0', 'w'],
      ['q_1000', 'q'],
      ['f_exe', 'f'],
      ['bogus_1', 'bogus'],
      ['t_other', 't'],
      ['exp_1700000000', 'exp'],
    ]) {
      const res = await save(t.adminKey, { name: 'bad', options });
      expect(res.status, options).toBe(400);
      expect(((await res.json()) as any).error.option).toBe(option);
    }
    for (const name of ['Card', 'a.b', 'x'.repeat(65), '']) {
      expect((await save(t.adminKey, { name, options: 'w_10' })).status, name).toBe(400);
    }
    expect((await save(t.adminKey, { name: 'x' })).status).toBe(400);
  });

  it('only admins write; anyone with a key reads; nobody anonymous', async () => {
    const user = makeUser(t, 'alice');
    expect((await save(user.key, { name: 'card', options: 'w_10' })).status).toBe(403);
    expect((await save(undefined, { name: 'card', options: 'w_10' })).status).toBe(401);
    await save(t.adminKey, { name: 'card', options: 'w_10' });
    expect((await t.request('/presets/card', { method: 'DELETE', headers: auth(user.key) })).status).toBe(403);
    expect((await t.request('/presets', { headers: auth(user.key) })).status).toBe(200);
    expect((await t.request('/presets')).status).toBe(401);
  });
});
