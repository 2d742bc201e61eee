import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES } from '../helpers/app.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
let dir: string;
const env = () => ({ ...process.env, DATA_DIR: path.join(dir, 'data'), CACHE_DIR: path.join(dir, 'cache'), LOG_LEVEL: 'silent' });
const cli = (...args: string[]) => run(process.execPath, [path.join(root, 'bin/imgpath.js'), ...args], { env: env(), cwd: root });

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imgpath-cli-'));
  const drop = path.join(dir, 'drop', 'nested');
  await fs.mkdir(drop, { recursive: true });
  await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(dir, 'drop', 'dune.jpg'));
  await fs.copyFile(path.join(SAMPLES, 'dragonfly-alpha.png'), path.join(drop, 'fly.png'));
  await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(drop, 'dune-copy.jpg'));
  await fs.writeFile(path.join(drop, 'notes.txt'), 'not an image');
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

describe('imgpath import', () => {
  it('imports recursively, deduplicates, reports non-images and leaves them untouched (--json)', async () => {
    const { stdout } = await cli('import', path.join(dir, 'drop'), '--json').catch((e) => e);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l));
    const byFile = Object.fromEntries(lines.filter((l: { file?: string }) => l.file).map((l: { file: string }) => [path.basename(l.file), l]));
    expect(byFile['dune.jpg'].status === 'imported' || byFile['dune-copy.jpg'].status === 'imported').toBe(true);
    expect([byFile['dune.jpg'].status, byFile['dune-copy.jpg'].status].sort()).toEqual(['duplicate', 'imported']);
    expect(byFile['dune.jpg'].id).toBe(byFile['dune-copy.jpg'].id);
    expect(byFile['fly.png']).toMatchObject({ status: 'imported', width: 1000, height: 750, format: 'png' });
    expect(byFile['notes.txt'].status).toBe('rejected');
    expect(byFile['notes.txt'].error.code).toBe('unsupported_media_type');
    expect(lines.at(-1).summary).toEqual({ imported: 2, duplicates: 1, rejected: 1 });
    await expect(fs.readFile(path.join(dir, 'drop', 'nested', 'notes.txt'), 'utf8')).resolves.toBe('not an image');
  });

  it('reports a file over MAX_UPLOAD_MB as too_large by its size alone and leaves it untouched', async () => {
    const big = path.join(dir, 'big');
    await fs.mkdir(big);
    await fs.copyFile(path.join(SAMPLES, 'dragonfly-alpha.png'), path.join(big, 'fly.png'));
    // Sparse: 3 GiB on paper, nothing on disk; reading it whole would not even fit in a Buffer.
    await fs.writeFile(path.join(big, 'huge.jpg'), '');
    await fs.truncate(path.join(big, 'huge.jpg'), 3 * 1024 ** 3);
    const { stdout } = await cli('import', big, '--json');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l));
    const huge = lines.find((l: { file?: string }) => l.file?.endsWith('huge.jpg'));
    expect(huge).toMatchObject({ status: 'rejected', error: { code: 'too_large' } });
    expect(lines.at(-1).summary).toMatchObject({ rejected: 1 });
    expect((await fs.stat(path.join(big, 'huge.jpg'))).size).toBe(3 * 1024 ** 3);
  });

  it('signs a path for an imported image (refusals: test/cli/sign.test.ts)', async () => {
    const { stdout: imported } = await cli('import', path.join(dir, 'drop'), '--json').catch((e) => e);
    const id = (imported as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id?: string })
      .find((l) => l.id)!.id!;
    const { stdout } = await cli('sign', id, 'w_300,f_webp', '--expires', '3600', '--json');
    const { path: p } = JSON.parse(stdout);
    expect(p).toMatch(new RegExp(`^/img/s--k1\\.[A-Za-z0-9_-]{43}--/w_300,f_webp,exp_\\d+/${id}$`));
  });

  it("--keep-paths: each file's path below the folder, without its extension, becomes its public id", async () => {
    const tree = path.join(dir, 'site');
    await fs.mkdir(path.join(tree, 'blog', '2024'), { recursive: true });
    await fs.mkdir(path.join(tree, 'v1.2'), { recursive: true });
    await fs.copyFile(path.join(SAMPLES, 'dune-2mp.jpg'), path.join(tree, 'blog', '2024', 'cat.jpg'));
    await fs.copyFile(path.join(SAMPLES, 'dragonfly-alpha.png'), path.join(tree, 'v1.2', 'fly.png'));
    await fs.copyFile(path.join(SAMPLES, 'friends-portrait.jpg'), path.join(tree, 'top.jpeg'));
    // Refused, reported and left alone: a dot in the name (the extension rule) and a non-ASCII name.
    await fs.copyFile(path.join(SAMPLES, 'sunset-12mp.jpg'), path.join(tree, 'blog', 'cat.final.jpg'));
    await fs.copyFile(path.join(SAMPLES, 'sunset-12mp.jpg'), path.join(tree, 'café.jpg'));
    const { stdout } = await cli('import', tree, '--keep-paths', '--json');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l));
    const byFile = Object.fromEntries(lines.filter((l: { file?: string }) => l.file).map((l: { file: string }) => [path.relative(tree, l.file), l]));
    // dune and fly were imported without names by the tests above: those images take the names now.
    expect(byFile[path.join('blog', '2024', 'cat.jpg')]).toMatchObject({ status: 'duplicate', publicId: 'blog/2024/cat' });
    expect(byFile[path.join('v1.2', 'fly.png')]).toMatchObject({ status: 'duplicate', publicId: 'v1.2/fly' });
    expect(byFile['top.jpeg']).toMatchObject({ status: 'imported', publicId: 'top' });
    expect(byFile[path.join('blog', 'cat.final.jpg')]).toMatchObject({
      status: 'rejected',
      error: { code: 'bad_public_id', message: expect.stringMatching(/last segment/) },
    });
    expect(byFile['café.jpg']).toMatchObject({ status: 'rejected', error: { code: 'bad_public_id' } });
    expect(lines.at(-1).summary).toEqual({ imported: 1, duplicates: 2, rejected: 2 });

    // A re-run is idempotent: the same bytes under the same names are duplicates.
    const again = (await cli('import', tree, '--keep-paths', '--json')).stdout
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l));
    expect(again.at(-1).summary).toEqual({ imported: 0, duplicates: 3, rejected: 2 });

    // The names sign and serve: the CLI signer takes a public id as the path text.
    const { stdout: signed } = await cli('sign', 'blog/2024/cat', 'w_300', '--json');
    expect(JSON.parse(signed).path).toMatch(/^\/img\/s--k1\.[A-Za-z0-9_-]{43}--\/w_300\/blog\/2024\/cat$/);
  });
});
