import { afterAll, beforeAll, expect, it } from 'vitest';
import { testApp, type TestApp } from '../helpers/app.js';
import { upload } from './helpers.js';

/**
 * One placeholder shape on every answer that describes an image: `placeholder: { thumbhash,
 * dataUri, dominant }`, equal everywhere, and no leftover spellings (dominantColor, placeholderUri …).
 */

let t: TestApp;
afterAll(() => t?.cleanup());
beforeAll(async () => {
  t = await testApp();
});

it('upload, GET /images/{id}, GET /images, /info and /random.json answer the same placeholder', async () => {
  const { body: uploaded } = await upload(t, t.adminKey, 'dragonfly-alpha.png');
  const id = uploaded.id as string;
  const get = async (p: string) => (await t.request(p, { headers: { 'X-API-Key': t.adminKey } })).json() as Promise<any>;
  const answers = {
    upload: uploaded,
    image: await get(`/images/${id}`),
    list: (await get('/images')).items.find((i: { id: string }) => i.id === id),
    info: await get(`/info/${id}`),
    random: (await get('/random.json?count=1')).images[0],
  };
  const expected = {
    thumbhash: expect.stringMatching(/^[A-Za-z0-9+/=]+$/),
    dataUri: expect.stringMatching(/^data:image\/png;base64,/),
    dominant: expect.stringMatching(/^#[0-9a-f]{6}$/),
  };
  for (const [where, answer] of Object.entries(answers)) {
    expect(answer?.placeholder, where).toEqual(expected);
    expect(answer.placeholder, where).toEqual(uploaded.placeholder);
    for (const old of ['dominantColor', 'dominant', 'thumbhash', 'placeholderUri']) expect(answer, `${where}.${old}`).not.toHaveProperty(old);
  }
  // And the OpenAPI document says so, by one shared schema.
  const spec = await get('/openapi.json');
  expect(spec.components.schemas.Placeholder.required?.sort()).toEqual(['dataUri', 'dominant', 'thumbhash']);
  for (const name of ['Image', 'RandomImage']) {
    // UploadedImage extends Image
    expect(JSON.stringify(spec.components.schemas[name]?.properties?.placeholder ?? spec.components.schemas[name]), name).toContain(
      '#/components/schemas/Placeholder',
    );
  }
});
