import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signedImagePath } from './auth/signature.js';
import type { Deps } from './deps.js';
import { ingest } from './library/ingest.js';

export const SAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'samples');

export interface FirstStart {
  /** The admin key created on this start (shown once), if one was created. */
  adminKey?: string;
  imported: string[];
  /** URLs to try, none carrying a credential (signed where options need it): they end up in scrollback and logs. */
  exampleUrls: string[];
  /** With a new admin key: commands that use it from a header, with `$IMGPATH_KEY` standing for it. */
  exampleCommands: string[];
}

/** Marks the cluster's first start as done (the settings table): later starts of any node skip it. */
const FIRST_START_DONE = 'first-start-done';

/**
 * First start on an empty DATA_DIR: import the bundled samples and mint an admin key, so a
 * new user sees an image within a minute. Later starts do nothing here.
 *
 * On a cluster (DATABASE_URL) once per cluster, not per node: under a cluster-wide lock, so a node
 * starting at the same moment waits and then finds it done (it neither imports the samples again
 * nor prints a second key), and never again once marked done, even if the library is emptied later.
 */
export async function firstStart(deps: Deps, baseUrl: string): Promise<FirstStart> {
  const cluster = deps.repos.cluster;
  if (!cluster) return welcome(deps, baseUrl, await setUp(deps));
  const made = await cluster.exclusive('first-start', async () => {
    if (await cluster.setting(FIRST_START_DONE)) return { imported: [] };
    const done = await setUp(deps);
    await cluster.settle(FIRST_START_DONE, new Date(deps.clock() * 1000).toISOString());
    return done;
  });
  return welcome(deps, baseUrl, made);
}

/** The samples into an empty library and an admin key when there is none. */
async function setUp(deps: Deps): Promise<Pick<FirstStart, 'adminKey' | 'imported'>> {
  const result: Pick<FirstStart, 'adminKey' | 'imported'> = { imported: [] };
  const noImages = (await deps.repos.images.count()) === 0;
  if (noImages && deps.config.IMPORT_SAMPLES) {
    const files = (await fs.readdir(SAMPLES_DIR)).filter((f) => /\.(jpe?g|png|webp|gif|avif)$/i.test(f)).sort();
    for (const f of files) {
      const { image } = await ingest(deps, await fs.readFile(path.join(SAMPLES_DIR, f)), {
        filename: f,
        collection: 'samples',
        tags: ['sample'],
        visibility: 'public',
      });
      result.imported.push(image.id);
    }
  }
  const noKeys = (await deps.repos.keys.count()) === 0;
  if (noKeys) {
    result.adminKey = (await deps.keys.create({ name: 'first-start admin', scopes: ['admin', 'upload', 'deliver'] })).key;
  }
  return result;
}

/** What the start prints: URLs to try, and commands using a key made on this start. */
async function welcome(deps: Deps, baseUrl: string, made: Pick<FirstStart, 'adminKey' | 'imported'>): Promise<FirstStart> {
  const result: FirstStart = { ...made, exampleUrls: [], exampleCommands: [] };
  // A public landscape photo makes the friendliest first URL.
  const example = await deps.repos.images.showcase();
  if (example) {
    // Like every URL imgpath mints: public-only for a public image (src/auth/signature.ts).
    const reach = example.visibility === 'public' ? 'public' : 'any';
    result.exampleUrls.push(`${baseUrl}/img/${example.id}`);
    result.exampleUrls.push(`${baseUrl}${signedImagePath(example.id, 'w_600,r_90,e_sepia,f_webp', deps.secrets.signingKeys[0], { reach })}`);
    // Signed, not `?key=`: the key would sit in terminal scrollback, shell history, proxy and
    // browser logs; a signed URL vouches for these options on this image and nothing else.
    result.exampleUrls.push(`${baseUrl}${signedImagePath(example.id, 'w_400,h_400,c_fill,g_auto,f_auto', deps.secrets.signingKeys[0], { reach })}`);
  }
  if (result.adminKey) {
    result.exampleCommands.push(`curl -H "X-API-Key: $IMGPATH_KEY" ${baseUrl}/images?limit=5`);
    if (example) {
      result.exampleCommands.push(`curl -H "X-API-Key: $IMGPATH_KEY" -o thumb.webp ${baseUrl}/img/w_300,f_webp/${example.id}`);
    }
  }
  return result;
}
