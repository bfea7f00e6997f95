'use strict';
// Browser fixture for the editor e2e tests: playwright-core driving Debian's Chromium
// (/usr/bin/chromium), headless, with a fresh profile. A missing browser is a test
// FAILURE with the install command, never a skip: CI installs it (.ci/run).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function assertChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the editor e2e tests need Debian's Chromium. ` +
        'Install it with `sudo apt-get install -y chromium` (or set CHROMIUM_PATH).',
    );
  }
}

/**
 * Launches Chromium with a fresh user-data directory (a persistent context on a new empty
 * directory, removed on close) and returns { context, page, screenshot(name), close() }.
 */
async function launchBrowser({ viewport = { width: 1600, height: 1000 } } = {}) {
  assertChromium();
  const { chromium } = require('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const page = context.pages()[0] || (await context.newPage());
  // Fail fast on a missing element instead of Playwright's 30 s default.
  page.setDefaultTimeout(10_000);
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    pageErrors,
    /** Saves a PNG under test-artifacts/ (git-ignored) and returns its path. */
    async screenshot(name) {
      const file = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

module.exports = { launchBrowser, assertChromium, CHROMIUM, ARTIFACTS };
