import fs from 'node:fs';
import { chromium, type Browser, type BrowserServer } from 'playwright-core';

/**
 * Debian's Chromium (installed by scripts/install-test-deps.sh, never a browser download) driven
 * by playwright-core, as in test/ui/browser.test.ts.
 */

export const CHROMIUM = '/usr/bin/chromium';
// Playwright gives every launch a fresh temporary --user-data-dir of its own (and refuses one in args).
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run, or undefined. Tests should throw it (a beforeAll error would only mark them skipped). */
export const missingBrowser = fs.existsSync(CHROMIUM)
  ? undefined
  : `Chromium is missing at ${CHROMIUM}: run "bash scripts/install-test-deps.sh" as root (it runs apt-get install chromium)`;

export interface Chromium {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const server: BrowserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    async close() {
      const pid = server.process().pid;
      await browser.close().catch(() => {});
      const closed = await server.close().then(
        () => true,
        () => false,
      );
      // Only when close() failed: after a clean close the pid may already belong to someone else.
      if (!closed && pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
  };
}
