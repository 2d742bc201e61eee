import { DECLARED_KEYS, opDef } from './registry.js';
import { PHASES } from './types.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
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
        return `| \`${cell(def.syntax)}\`${alias} | ${def.phase} | ${cell(def.doc)} | \`${cell(example)}\` |`;
      }),
  );
  return `${['| option | phase | meaning | example |', '|---|---|---|---|', ...rows].join('\n')}\n`;
}
