import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';
import { auth, imageRows, originalsOnDisk } from '../library/helpers.js';

/**
 * Inputs that cost a few bytes to send and minutes of CPU to render. A render keeps its slot
 * until libvips finishes (it cannot be interrupted), so a handful of these stall every render.
 */

let t: TestApp;
let id: string;
beforeAll(async () => {
  t = await testApp();
  id = await t.seed('dune-2mp.jpg');
});
afterAll(() => t.cleanup());

describe('e_blur sigma', () => {
  // Measured on sunset-12mp.jpg: sigma 100 → 1.3 s, 200 → 3.3 s, 260 → 7.5 s, 300 → 244 s.
  it.each(['e_blur:1000', 'e_blur:300', 'e_blur:101'])('%s is refused before any render', async (options) => {
    const res = await t.request(`/img/${options}/${id}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { option: string } }).error.option).toBe('e_blur');
  });

  it('the same bound holds in the JSON transform API', async () => {
    const res = await t.request(`/images/${id}/transform`, {
      method: 'POST',
      headers: auth(t.adminKey, { 'Content-Type': 'application/json' }),
      body: JSON.stringify({ filters: { blur: 500 } }),
    });
    expect(res.status).toBe(400);
  });

  it('a strong blur inside the bound still renders', async () => {
    const res = await t.request(`/img/w_200,e_blur:100/${id}`, { headers: auth(t.adminKey) });
    expect(res.status).toBe(200);
  });
});

describe('SVG uploads', () => {
  // 236 bytes, 3000x3000 (under MAX_INPUT_PIXELS), probes in 11 ms, renders in ~27 s.
  const heavy = `<svg xmlns="http://www.w3.org/2000/svg" width="3000" height="3000"><filter id="f"><feTurbulence baseFrequency="0.01" numOctaves="10"/><feGaussianBlur stdDeviation="300"/></filter><rect width="3000" height="3000" filter="url(#f)"/></svg>`;
  const tiny = `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="red"/></svg>`;

  it.each([
    ['a filter bomb', heavy],
    ['a harmless drawing', tiny],
  ])('are refused with 415 (%s), nothing stored', async (_name, svg) => {
    const before = originalsOnDisk(t).length;
    const rows = imageRows(t).length;
    for (const type of ['image/svg+xml', 'image/png']) {
      const res = await t.request('/images', { method: 'POST', headers: auth(t.adminKey, { 'Content-Type': type }), body: svg });
      expect(res.status, type).toBe(415);
    }
    const form = new FormData();
    form.set('file', new Blob([svg], { type: 'image/svg+xml' }), 'logo.svg');
    expect((await t.request('/images', { method: 'POST', headers: auth(t.adminKey), body: form })).status).toBe(415);
    expect(originalsOnDisk(t).length).toBe(before);
    expect(imageRows(t).length).toBe(rows);
  });
});
