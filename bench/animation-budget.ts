/**
 * `npx tsx bench/animation-budget.ts`: what MAX_ANIMATION_PIXELS bounds. A 12 KB WebP of 97
 * frames (64x64) rendered through `render()` at the largest width the default budget allows,
 * one width past it (refused by the planner before any decode), and with raw sharp at widths
 * nobody bounded before the budget existed. Reports only.
 */
import sharp from 'sharp';
import { loadConfig } from '../src/config.js';
import { render } from '../src/render/index.js';

const limits = loadConfig({}).limits;
const frames = 97;
const side = 64;
const px = Buffer.alloc(side * side * frames * 3);
for (let f = 0; f < frames; f++) for (let i = 0; i < side * side; i++) px.set([(f * 37) % 256, (i % side) * 4, 128], (f * side * side + i) * 3);
const source = await sharp(px, { raw: { width: side, height: side * frames, channels: 3, pageHeight: side } })
  .webp({ loop: 0, quality: 10, effort: 6 })
  .toBuffer();
const atBudget = Math.floor(Math.sqrt(limits.maxAnimationPixels / frames));
console.log(
  `source: ${source.length} bytes, ${frames} frames of ${side}x${side}; MAX_ANIMATION_PIXELS=${limits.maxAnimationPixels} -> widest square frame ${atBudget}px`,
);

for (const w of [atBudget, atBudget + 1, 1000]) {
  const started = performance.now();
  try {
    const out = await render(source, { w }, { format: 'webp', limits });
    console.log(`imgpath w_${w}: ${out.width}x${out.height} x ${frames} frames in ${Math.round(performance.now() - started)} ms (${out.data.length} bytes)`);
  } catch (err) {
    console.log(`imgpath w_${w}: ${(err as { status?: number }).status} in ${Math.round(performance.now() - started)} ms: ${(err as Error).message}`);
  }
}
for (const w of [1000, 2048]) {
  const started = performance.now();
  const out = await sharp(source, { animated: true }).resize(w).webp().toBuffer();
  console.log(`raw sharp, no budget, w ${w}: ${Math.round(performance.now() - started)} ms (${out.length} bytes)`);
}
