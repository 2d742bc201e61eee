/**
 * `tsx bench/profile-top.ts <file.cpuprofile> [n]`: the top `n` frames of a V8 CPU profile
 * (`node --cpu-prof`) by self time, aggregated by function and file, as a markdown table.
 * Enough to see where a hit's time goes without a flame-graph tool.
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const [file, n = '15'] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const f = byId.get(id)!.callFrame;
  const where = f.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/work\/main\//, '');
  const key = `${f.functionName || '(anonymous)'} ${where ? `${where}:${f.lineNumber + 1}` : ''}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
});
const idle = (self.get('(idle)') ?? 0) + (self.get('(program)') ?? 0) * 0;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((total - idle) / 1e6).toFixed(1)} s busy\n\n| # | self ms | % busy | frame |\n|---|---|---|---|\n`,
);
[...self.entries()]
  .filter(([k]) => k !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(n))
  .forEach(([k, us], i) => process.stdout.write(`| ${i + 1} | ${(us / 1000).toFixed(0)} | ${((100 * us) / (total - idle)).toFixed(1)} | \`${k}\` |\n`));
