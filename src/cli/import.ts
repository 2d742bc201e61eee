import fs from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Deps } from '../deps.js';
import { AppError } from '../errors.js';
import { readDroppedFile, StillWritingError } from '../library/drop-file.js';
import { ingest, type IngestOptions } from '../library/ingest.js';

export interface ImportSummary {
  imported: number;
  duplicates: number;
  rejected: number;
}

export type ImportEvent =
  | { file: string; status: 'imported' | 'duplicate'; id: string; publicId: string | null; width: number; height: number; format: string }
  | { file: string; status: 'rejected'; error: { code: string; message: string } };

export interface ImportOptions extends Omit<IngestOptions, 'publicId' | 'filename'> {
  /** Each file's path below `dir`, without its extension, becomes its public id (`blog/2024/cat.jpg` → `blog/2024/cat`). */
  keepPaths?: boolean;
}

/**
 * `--keep-paths`: the relative path with `/` separators, minus the extension (from the last dot of
 * the file name, so `cat.final.jpg` → `cat.final`, which the public id rule refuses: no dot in the
 * last segment; such a file is reported, not renamed behind the user's back). A re-run finds the
 * same bytes under the same name and counts them as duplicates.
 */
export function publicIdOf(dir: string, file: string): string {
  const rel = path.relative(dir, file).split(path.sep).join('/');
  const ext = path.extname(rel);
  return ext ? rel.slice(0, -ext.length) : rel;
}

/** Every entry under `dir` but the folders: links are listed (to be refused), never followed. */
async function* walk(dir: string): AsyncGenerator<string> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

/**
 * Import every file under `dir` (recursively). Files that are not images, too large, or not regular
 * files of their own (symlinks, hard links, FIFOs, devices: see drop-file.ts) are reported and left untouched.
 */
export async function importDir(deps: Deps, dir: string, opts: ImportOptions, onEvent: (e: ImportEvent) => void): Promise<ImportSummary> {
  const summary: ImportSummary = { imported: 0, duplicates: 0, rejected: 0 };
  const { keepPaths, ...ingestOpts } = opts;
  for await (const file of walk(dir)) {
    try {
      // Sized on the open descriptor: a huge file is reported without being read into memory.
      const bytes = await readDroppedFile(file, deps.config, dir);
      const publicId = keepPaths ? publicIdOf(dir, file) : undefined;
      const { image, duplicate } = await ingest(deps, bytes, { ...ingestOpts, filename: path.basename(file), publicId });
      summary[duplicate ? 'duplicates' : 'imported']++;
      onEvent({
        file,
        status: duplicate ? 'duplicate' : 'imported',
        id: image.id,
        publicId: image.publicId,
        width: image.width,
        height: image.height,
        format: image.format,
      });
    } catch (err) {
      // A file changing under us is somebody's copy in progress: reported, not imported half-written.
      const refused = err instanceof AppError ? err : err instanceof StillWritingError ? { code: 'still_writing', message: err.message } : undefined;
      if (!refused) throw err;
      summary.rejected++;
      onEvent({ file, status: 'rejected', error: { code: refused.code, message: refused.message } });
    }
  }
  return summary;
}

export async function runImport(deps: Deps, dir: string, opts: ImportOptions & { json: boolean }) {
  const files: string[] = [];
  for await (const f of walk(dir)) files.push(f);
  const tty = process.stderr.isTTY && !opts.json;
  const bar = tty
    ? new cliProgress.SingleBar({ format: 'importing [{bar}] {value}/{total} {file}', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(files.length, 0, { file: '' });
  const rejected: ImportEvent[] = [];
  const summary = await importDir(deps, dir, opts, (e) => {
    if (opts.json) process.stdout.write(`${JSON.stringify(e)}\n`);
    if (e.status === 'rejected') rejected.push(e);
    bar?.increment({ file: path.basename(e.file) });
  });
  bar?.stop();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ summary })}\n`);
  } else {
    for (const r of rejected) if (r.status === 'rejected') process.stderr.write(`skipped ${r.file}: ${r.error.message}\n`);
    process.stdout.write(
      `${summary.imported} imported, ${summary.duplicates} duplicates, ${summary.rejected} rejected (not images, too large, or not regular files; left untouched)\n`,
    );
  }
  return summary;
}
