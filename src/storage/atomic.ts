import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Write to a temp name in the same directory, then rename: a crash leaves the old file or none, never half a file. */
export async function atomicWrite(file: string, data: Buffer | Uint8Array) {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Temp files older than this are leftovers of a crash mid-write. */
export async function removeStaleTempFiles(dir: string, olderThanMs = 60_000) {
  let removed = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.tmp')) {
        const st = await fs.stat(p).catch(() => null);
        if (st && Date.now() - st.mtimeMs > olderThanMs) {
          await fs.rm(p, { force: true });
          removed++;
        }
      }
    }
  };
  await walk(dir);
  return removed;
}
