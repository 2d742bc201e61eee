/**
 * `tsx bench/profile-top.ts <file.cpuprofile> [n]`: the top `n` frames of a V8 CPU profile
 * (`node --cpu-prof`), aggregated by function and file, as two markdown tables: by self time,
 * and by total time (self plus callees, each sample counted once per frame however deep the
 * recursion). Enough to see where a hit's time goes without a flame-graph tool.
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const [file, n = '15'] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

const frameOf = (node: Node) => {
  const f = node.callFrame;
  const where = f.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/work\/[^/]+\//, '');
  return `${f.functionName || '(anonymous)'} ${where ? `${where}:${f.lineNumber + 1}` : ''}`.trim();
};
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const node = byId.get(id)!;
  const key = frameOf(node);
  if (key === '(idle)') {
    idle += dt;
    return;
  }
  self.set(key, (self.get(key) ?? 0) + dt);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const k = frameOf(byId.get(at)!);
    if (seen.has(k) || k === '(root)') continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
  }
});
const busy = total - idle;
const table = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n\n| # | ms | % busy | frame |\n|---|---|---|---|\n`);
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(n))
    .forEach(([k, us], i) => process.stdout.write(`| ${i + 1} | ${(us / 1000).toFixed(0)} | ${((100 * us) / busy).toFixed(1)} | \`${k}\` |\n`));
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy\n`);
table('by self time', self);
table('by total time (self + callees)', inclusive);
