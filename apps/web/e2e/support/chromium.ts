import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's package; CHROMIUM_PATH points elsewhere (turbo passes it through). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const required = process.env.REQUIRE_E2E === '1';
const present = existsSync(CHROMIUM_PATH);

if (!present && required) {
  throw new Error(`REQUIRE_E2E=1 but there is no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}
if (!present) {
  console.warn(
    `\n[e2e] SKIPPED: no Chromium at ${CHROMIUM_PATH}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH; ` +
      'set REQUIRE_E2E=1 to make a missing browser fail the run.\n',
  );
}

/** Whether the browser suites can run; they `describe.skipIf(!e2eEnabled)`. */
export const e2eEnabled = present;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
