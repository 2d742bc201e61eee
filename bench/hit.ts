/**
 * `npm run bench:hit`: memory hits only, the three ways one arrives (signed URL, `?key=` API key,
 * anonymous public preset `t_…`), each against bare node:http answering the same bytes (the
 * floor, static-child.ts), 64 connections, short rounds alternating ABBA; then disk hits against
 * memory hits. A minute or two on 2 cores, so a change to the hit path can be measured without
 * the whole `npm run bench`.
 *
 * BENCH_HIT_KINDS=signed,key,preset picks kinds, run in the order given (add `disk` for the disk hits; default all);
 * BENCH_HIT_ROUNDS / BENCH_HIT_SECONDS size the rounds. BENCH_HIT_PROFILE=<dir>: one CPU profile
 * of the server per kind, of the load only, written there as hit-<kind>.cpuprofile (summarise with
 * bench/profile-top.ts); the floor is then skipped. It reports; it never asserts.
 */
import { HIT_KINDS, type HitKind, hitBench, hitTable } from './hits.js';

const chosen = (process.env.BENCH_HIT_KINDS ?? 'signed,key,preset,disk').split(',');
const rows = await hitBench({
  connections: 64,
  rounds: Number(process.env.BENCH_HIT_ROUNDS ?? 4),
  seconds: Number(process.env.BENCH_HIT_SECONDS ?? 3),
  kinds: chosen.filter((k): k is HitKind => (HIT_KINDS as readonly string[]).includes(k)),
  disk: chosen.includes('disk'),
  profileDir: process.env.BENCH_HIT_PROFILE,
  logLevel: process.env.LOG_LEVEL,
  write: (text) => process.stdout.write(text),
});
process.stdout.write(`\n${hitTable(rows)}`);
