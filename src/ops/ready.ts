import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Deps } from '../deps.js';

/**
 * What /readyz checks: everything a cache miss needs. A load balancer takes an instance out
 * of rotation when one fails, so each check is bounded by a timeout (a hung S3 endpoint must
 * turn the probe red, not hang it).
 */

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface Readiness {
  ok: boolean;
  checks: Record<string, CheckResult>;
  failed: string[];
}

const CHECK_TIMEOUT_MS = 2_000;

export const readinessChecks: Record<string, (deps: Deps) => Promise<unknown>> = {
  async database(deps) {
    await deps.repos.ping();
  },
  async storage(deps) {
    await deps.store.check();
  },
  async cache(deps) {
    // Write and remove a probe file: a full disk, a read-only mount or a path that became a file all fail here.
    const probe = path.join(deps.config.cacheDir, `.ready-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(probe, 'ok');
    await fs.rm(probe, { force: true });
  },
  async sharp() {
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const meta = await sharp(png).metadata();
    if (meta.width !== 2) throw new Error('sharp round trip returned the wrong size');
  },
};

export async function checkReadiness(deps: Deps): Promise<Readiness> {
  const entries = await Promise.all(Object.entries(readinessChecks).map(async ([name, check]) => [name, await timed(() => check(deps))] as const));
  const checks = Object.fromEntries(entries);
  const failed = entries.filter(([, r]) => !r.ok).map(([name]) => name);
  if (failed.length) deps.log.warn({ failed, checks }, 'readiness check failed');
  return { ok: failed.length === 0, checks, failed };
}

async function timed(run: () => Promise<unknown>): Promise<CheckResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: round(performance.now() - start) };
  } catch (err) {
    return { ok: false, ms: round(performance.now() - start), error: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Enough to act on, without paths or stack traces leaking into a public probe. */
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code && typeof e.code === 'string') return `${e.code}${e.syscall ? ` on ${e.syscall}` : ''}`;
  return e instanceof Error ? e.message.replace(/\/[^\s'"]+/g, '<path>') : String(err);
}

const round = (ms: number) => Math.round(ms * 10) / 10;
