import { DECLARED_KEYS, opDef, type OpDef } from './registry.js';
import { PHASES } from './types.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Its field(s) in the JSON body of `POST /images/{id}/transform`, or a dash. */
function jsonCell(def: OpDef<never>): string {
  const json = def.json;
  if ('none' in json) return '—';
  const fields = Array.isArray(json) ? json : [json];
  return fields.map((f: { path: string }) => `\`${f.path}\``).join(', ');
}

/** The README's option table, generated from the registry (phase order, then registry order). */
export function optionsMarkdownTable(): string {
  const rows = PHASES.flatMap((phase) =>
    DECLARED_KEYS.map((key) => opDef(key))
      .filter((def) => def.phase === phase)
      .map((def) => {
        const names = def.names.slice(1).map((n) => `\`${n}_\``);
        const alias = names.length > 0 ? ` (alias ${names.join(', ')})` : '';
        const example = def.valid[0] ?? '';
        return `| \`${cell(def.syntax)}\`${alias} | ${def.phase} | ${cell(def.doc)} | \`${cell(example)}\` | ${jsonCell(def as OpDef<never>)} |`;
      }),
  );
  return `${['| option | phase | meaning | example | JSON transform field |', '|---|---|---|---|---|', ...rows].join('\n')}\n`;
}
