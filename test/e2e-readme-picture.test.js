'use strict';
// The README's picture, made by the browser: the shipped stream example (examples/gpss/
// stream-ingest.json) with its greenplum-db pointed at the test database, deployed into a real
// Node-RED, running (embedded gpss-pg committing rows), shown in the editor in Chromium with
// the palette's greenplum category and gpss-write's help. The test checks what the picture
// shows (rows committed, statuses in the editor, our help) and saves it to test-artifacts/;
// GPFLOW_UPDATE_DOCS=1 also writes docs/flow.png, the committed copy the README shows.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { launchBrowser, ARTIFACTS } = require('./support/browser');
const { startTestNodeRed } = require('./support/nodered');
const ui = require('./support/browser-editor');

const ROOT = path.resolve(__dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'gpss', 'stream-ingest.json');
const DOCS_PICTURE = path.join(ROOT, 'docs', 'flow.png');
const MAX_BYTES = 200 * 1024;
const VIEWPORT = { width: 1440, height: 640 };

const pg = usePostgres();
let red;
let browser;

async function query(sql) {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function waitFor(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  await waitFor('the test database', () => pg.url, 60_000);
  await query(`CREATE TABLE public.sensor_readings (device_id text NOT NULL, ts timestamp NOT NULL,
    temperature double precision, humidity double precision)`);
  red = await startTestNodeRed();
  browser = await launchBrowser({ viewport: VIEWPORT });
});

after(async () => {
  if (browser) await browser.close();
  if (red) await red.cleanup();
});

test('README picture: the stream example running in the editor, rows committed, statuses and help shown', async () => {
  const flow = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  for (const n of flow) {
    if (n.type === 'greenplum-db') {
      Object.assign(n, { host: pg.host, port: pg.port, database: pg.database, user: pg.user, credentials: { password: pg.password } });
    }
  }
  await red.deployFlows(flow);
  await waitFor('rows committed by the example', async () => (await query('SELECT count(*)::int AS n FROM sensor_readings'))[0].n >= 200);

  const page = browser.page;
  await ui.openEditor(page, red.url);
  const tab = flow.find((n) => n.type === 'tab');
  const write = flow.find((n) => n.type === 'gpss-write');
  const committed = flow.find((n) => n.type === 'debug' && n.name === 'committed');
  await page.evaluate((id) => RED.workspaces.show(id), tab.id);
  // Statuses arrive over the editor's websocket: the debug node shows 100 rows per message.
  await page.waitForFunction(
    ([w, c]) => {
      const text = (id) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent || '';
      return text(w).length > 0 && text(c) === '100';
    },
    [write.id, committed.id],
    { timeout: 30_000 },
  );
  const writeStatus = await page.locator(`[id="${write.id}"] .red-ui-flow-node-status-label`).textContent();

  // Only the greenplum category open in the palette, gpss-write selected, its help in the sidebar.
  await page.evaluate(() => {
    for (const header of document.querySelectorAll('#red-ui-palette [id^="red-ui-palette-header-"]')) {
      const open = header.querySelector('i')?.classList.contains('expanded');
      if ((header.id === 'red-ui-palette-header-greenplum') !== Boolean(open)) header.click();
    }
  });
  await page.evaluate((id) => {
    RED.view.select(id);
    RED.sidebar.help.show('gpss-write');
  }, write.id);
  const help = page.locator('.red-ui-sidebar-help-stack');
  await help.waitFor({ state: 'visible' });
  await waitFor('gpss-write help in the sidebar', async () => /Writes the rows in msg\.payload to Greenplum through GPSS/.test(await help.textContent()));
  assert.ok(await page.locator('.red-ui-palette-node[data-palette-type="gpss-write"]').isVisible(), 'gpss-write in the palette');
  await page.mouse.move(0, VIEWPORT.height - 1); // no hover highlight in the picture

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'readme-flow.png');
  const png = await page.screenshot({ path: file });
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.ok(png.length < MAX_BYTES, `picture is ${png.length} bytes (limit ${MAX_BYTES})`);
  assert.ok(writeStatus.length > 0, 'gpss-write shows a status');
  if (process.env.GPFLOW_UPDATE_DOCS === '1') {
    fs.mkdirSync(path.dirname(DOCS_PICTURE), { recursive: true });
    fs.writeFileSync(DOCS_PICTURE, png);
  }
  // The committed picture is one this test can make: a PNG within the size limit.
  const docs = fs.readFileSync(DOCS_PICTURE);
  assert.equal(docs.subarray(1, 4).toString(), 'PNG');
  assert.ok(docs.length < MAX_BYTES, `docs/flow.png is ${docs.length} bytes`);
});

test('the README shows docs/flow.png by an absolute URL of the repository (the Flow Library breaks relative images)', () => {
  const pkg = require('../package.json');
  const repo = pkg.repository.url.match(/github\.com\/([^/]+\/[^/.]+)/)[1];
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(images.includes(`https://raw.githubusercontent.com/${repo}/main/docs/flow.png`), `README images: ${images}`);
  for (const src of images) assert.match(src, /^https:\/\//, `relative image ${src} breaks on flows.nodered.org`);
});
