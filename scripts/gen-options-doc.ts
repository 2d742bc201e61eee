/**
 * Regenerates the README's option table from the spec registry, so the docs cannot drift from
 * the parser. `tsx scripts/gen-options-doc.ts` updates README.md between the markers (or prints
 * the table when the markers are absent); `--check` exits 1 when README.md is out of date;
 * `--print` only prints.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { optionsMarkdownTable } from '../src/spec/index.js';

const START = '<!-- options:start -->';
const END = '<!-- options:end -->';
const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));

export function withTable(readme: string, table: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1 || end < start) return undefined;
  return `${readme.slice(0, start + START.length)}\n${table}${readme.slice(end)}`;
}

function main(args: string[]): number {
  const table = optionsMarkdownTable();
  const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
  const updated = withTable(readme, table);
  if (args.includes('--print') || updated === undefined) {
    process.stdout.write(table);
    return 0;
  }
  if (args.includes('--check')) {
    if (updated === readme) return 0;
    process.stderr.write('README.md option table is out of date: run `npm run docs:options`\n');
    return 1;
  }
  if (updated !== readme) writeFileSync(readmePath, updated);
  process.stdout.write(updated === readme ? 'README.md option table is up to date\n' : 'README.md option table updated\n');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
