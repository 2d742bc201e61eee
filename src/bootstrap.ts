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

/**
 * First start on an empty DATA_DIR: import the bundled samples and mint an admin key, so a
 * new user sees an image within a minute. Later starts do nothing here.
 */
export async function firstStart(deps: Deps, baseUrl: string): Promise<FirstStart> {
  const result: FirstStart = { imported: [], exampleUrls: [], exampleCommands: [] };
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
  // A public landscape photo makes the friendliest first URL.
  const example = await deps.repos.images.showcase();
  if (example) {
    result.exampleUrls.push(`${baseUrl}/img/${example.id}`);
    result.exampleUrls.push(`${baseUrl}${signedImagePath(example.id, 'w_600,r_90,e_sepia,f_webp', deps.secrets.signingKeys[0])}`);
    // Signed, not `?key=`: the key would sit in terminal scrollback, shell history, proxy and
    // browser logs; a signed URL vouches for these options on this image and nothing else.
    result.exampleUrls.push(`${baseUrl}${signedImagePath(example.id, 'w_400,h_400,c_fill,g_auto,f_auto', deps.secrets.signingKeys[0])}`);
  }
  if (result.adminKey) {
    result.exampleCommands.push(`curl -H "X-API-Key: $IMGPATH_KEY" ${baseUrl}/images?limit=5`);
    if (example) {
      result.exampleCommands.push(`curl -H "X-API-Key: $IMGPATH_KEY" -o thumb.webp ${baseUrl}/img/w_300,f_webp/${example.id}`);
    }
  }
  return result;
}
