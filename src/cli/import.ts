import fs from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Deps } from '../deps.js';
import { AppError } from '../errors.js';
import { checkUploadSize, ingest, type IngestOptions } from '../library/ingest.js';

export interface ImportSummary {
  imported: number;
  duplicates: number;
  rejected: number;
}

export type ImportEvent =
  | { file: string; status: 'imported' | 'duplicate'; id: string; width: number; height: number; format: string }
  | { file: string; status: 'rejected'; error: { code: string; message: string } };

async function* walk(dir: string): AsyncGenerator<string> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/** Import every file under `dir` (recursively). Files that are not images, or too large, are reported and left untouched. */
export async function importDir(deps: Deps, dir: string, opts: IngestOptions, onEvent: (e: ImportEvent) => void): Promise<ImportSummary> {
  const summary: ImportSummary = { imported: 0, duplicates: 0, rejected: 0 };
  for await (const file of walk(dir)) {
    try {
      // By its size first: a huge file is reported without being read into memory.
      checkUploadSize(deps.config, (await fs.stat(file)).size);
      const { image, duplicate } = await ingest(deps, await fs.readFile(file), { ...opts, filename: path.basename(file) });
      summary[duplicate ? 'duplicates' : 'imported']++;
      onEvent({ file, status: duplicate ? 'duplicate' : 'imported', id: image.id, width: image.width, height: image.height, format: image.format });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      summary.rejected++;
      onEvent({ file, status: 'rejected', error: { code: err.code, message: err.message } });
    }
  }
  return summary;
}

export async function runImport(deps: Deps, dir: string, opts: IngestOptions & { json: boolean }) {
  const files: string[] = [];
  for await (const f of walk(dir)) files.push(f);
  const tty = process.stderr.isTTY && !opts.json;
  const bar = tty ? new cliProgress.SingleBar({ format: 'importing [{bar}] {value}/{total} {file}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
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
    process.stdout.write(`${summary.imported} imported, ${summary.duplicates} duplicates, ${summary.rejected} rejected (not images or too large; left untouched)\n`);
  }
  return summary;
}
