import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// A real headless Chromium for the Web UI tests. It is the distribution's build (CI installs it
// with apt), not one playwright downloads, so a test run needs no network beyond the loopback.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Screenshots land at the repository root (dist/test/support → ../../..), git-ignored, where
// CI picks them up as artifacts.
const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      // CI runs as root in a container, where Chromium's sandbox cannot start.
      '--no-sandbox',
      '--disable-gpu',
      // Containers give /dev/shm 64 MiB, too little for the renderer.
      '--disable-dev-shm-usage',
      // Nothing but the loopback UI: no update checks, sync or field trials.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Saves a full-page screenshot as `test-artifacts/<group>/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, group: string, name: string): Promise<string> {
  const dir = join(ARTIFACTS_DIR, group);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
