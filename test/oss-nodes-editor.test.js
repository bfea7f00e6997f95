'use strict';
// The OSS nodes in the real editor (playwright-core + Debian's Chromium, a real Node-RED 4.1
// runtime, the OSS emulator): the oss-account dialog's "Test connection" (typed secret, then a
// wrong one: 403 shown, secret never echoed), the oss-export dialog showing the rows of the
// chosen source and format, and a deployed messages-mode export writing an object, with the
// secret in neither the flow nor GET /flows. Screenshots go to test-artifacts/.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const OSS = require('ali-oss');
const { launchBrowser } = require('./support/browser');
const { startTestNodeRed } = require('./support/nodered');
const ui = require('./support/browser-editor');
const { startOssEmulator } = require('../dist/devstack/services');

const KEY_ID = 'LTAIossEditorId';
const SECRET = 'oss-editor-secret-' + require('node:crypto').randomBytes(5).toString('hex');
const BUCKET = 'editor-bucket';

async function waitFor(what, fn, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('OSS nodes in the editor (Chromium)', () => {
  let emu;
  let dir;
  let red;
  let browser;
  let page;
  let exportId;
  const snap = (name) => browser && browser.screenshot(`oss-nodes-editor-${name}`);
  const client = () => new OSS({ region: 'oss-cn-hangzhou', endpoint: emu.endpoint, bucket: BUCKET, accessKeyId: KEY_ID, accessKeySecret: SECRET, secure: false });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-oss-editor-'));
    emu = await startOssEmulator({ listen: '127.0.0.1:0', dataDir: dir, accessKeyId: KEY_ID, accessKeySecret: SECRET, buckets: [BUCKET] });
    await client().put('exports/a.csv', Buffer.from('1,a\n'));
    await client().put('exports/day1/b.csv', Buffer.from('2,b\n'));
    red = await startTestNodeRed();
    browser = await launchBrowser();
    page = browser.page;
    await ui.openEditor(page, red.url);
  });

  after(async () => {
    if (browser) await snap('final');
    if (browser) await browser.close();
    if (red) await red.cleanup();
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('oss-account dialog: Test connection lists the prefix; a wrong secret shows 403 and never the secret', async () => {
    exportId = await ui.dropNode(page, 'oss-export', 300, 120);
    await ui.editNode(page, exportId);
    await page.locator('#node-input-btn-account-add').click();
    await page.locator('#node-config-input-bucket').waitFor({ state: 'visible' });
    await page.locator('#node-config-input-endpoint').fill(emu.endpoint);
    await page.locator('#node-config-input-bucket').fill(BUCKET);
    await page.locator('#node-config-input-accessKeyId').fill(KEY_ID);
    await page.locator('#node-config-input-accessKeySecret').fill(SECRET);
    await page.locator('#node-config-input-secure').uncheck();
    await page.locator('#node-config-oss-test-prefix').fill('exports/');
    await page.locator('#node-config-oss-test').click();
    const result = page.locator('#node-config-oss-test-result');
    await waitFor('the test result', async () => /OK:|Failed:/.test(await result.textContent()));
    const ok = await result.textContent();
    await snap('account-test-ok');
    assert.match(ok, new RegExp(`^OK: oss://${BUCKET} @ ${emu.endpoint.replace(/[.]/g, '\\.')}`));
    assert.match(ok, /exports\/day1\//);
    assert.match(ok, /exports\/a\.csv\s+4/);

    const wrong = 'wrong-' + SECRET;
    await page.locator('#node-config-input-accessKeySecret').fill(wrong);
    await page.locator('#node-config-oss-test').click();
    await waitFor('the failure', async () => /Failed:/.test(await result.textContent()));
    const failed = await result.textContent();
    await snap('account-test-403');
    assert.match(failed, /signature/i);
    assert.ok(!failed.includes(wrong) && !failed.includes(SECRET), 'no secret in the dialog text');

    await page.locator('#node-config-input-accessKeySecret').fill(SECRET);
    await ui.confirmConfigDialog(page);
  });

  it('oss-export dialog shows the rows of the chosen source and format', async () => {
    const visible = (sel) => page.locator(sel).isVisible();
    // Node-RED's tabs take a second click within 400 ms as a double click (red.js onTabClick).
    const tab = async (id) => {
      await page.waitForTimeout(450);
      await page.locator(`#oss-export-tabs a[href="#oss-export-tab-${id}"]`).click();
    };
    // The dialog is in tabs (Source / Objects / Upload); Source first.
    assert.equal(await visible('#node-input-prefix'), false, 'the prefix is on the Objects tab');
    await page.locator('#node-input-source').selectOption('query');
    assert.equal(await visible('#node-input-query-editor'), true);
    assert.equal(await visible('#node-input-query-expand'), true);
    // Node-RED's code editor (Monaco by default in 4.x, or ace) in the query row; the text
    // typed is the query saved (checked after Done below).
    assert.equal(await page.locator('#node-input-query-editor .monaco-editor, #node-input-query-editor.ace_editor').count(), 1);
    await page.locator('#node-input-query-editor').click();
    await page.keyboard.type('SELECT 42 AS answer');
    assert.equal(await visible('#node-input-table'), false);
    assert.equal(await visible('#node-input-columns'), false);
    await page.locator('#node-input-source').selectOption('messages');
    assert.equal(await visible('#node-input-columns'), true);
    assert.equal(await visible('#node-input-query-editor'), false);
    await page.locator('#node-input-columns').fill('id, name');
    await tab('objects');
    await page.locator('#node-input-format').selectOption('text');
    assert.equal(await visible('#node-input-quote'), false);
    await page.locator('#node-input-format').selectOption('csv');
    assert.equal(await visible('#node-input-quote'), true);
    await page.locator('#node-input-prefix').fill('ui/');
    await page.locator('#node-input-objectName').fill('typed');
    await page.locator('#node-input-compression').selectOption('0');
    await tab('upload');
    assert.equal(await visible('#node-input-rollSeconds'), true, 'roll after, for source messages, on the Upload tab');
    assert.equal(await visible('#node-input-prefix'), false);
    await snap('export-dialog');
    await ui.confirmNodeDialog(page);
    assert.equal(await ui.isValid(page, exportId), true);
    assert.equal(await page.evaluate((i) => RED.nodes.node(i).query, exportId), 'SELECT 42 AS answer');
  });

  it('deployed: rows from an inject become an object on flush; the secret is not in the flows', async () => {
    // Two inject nodes (rows, then a flush) dropped from the palette and wired to the export node.
    const rowsId = await ui.dropNode(page, 'inject', 120, 220);
    const flushId = await ui.dropNode(page, 'inject', 120, 300);
    await ui.wire(page, rowsId, exportId);
    await ui.wire(page, flushId, exportId);
    await page.evaluate(([r, f]) => {
      const set = (id, props) => {
        const n = RED.nodes.node(id);
        Object.assign(n, props, { changed: true, dirty: true });
      };
      set(r, { name: 'rows', props: [{ p: 'payload' }], payload: '[[1,"one"],[2,"two, \\"2\\""]]', payloadType: 'json', topic: '' });
      set(f, { name: 'flush', props: [{ p: 'flush', v: 'true', vt: 'bool' }], topic: '' });
      RED.nodes.dirty(true);
      RED.view.redraw(true);
    }, [rowsId, flushId]);
    assert.equal(await ui.deploy(page), 200);
    assert.equal(await ui.clickInject(page, rowsId), 200);
    assert.equal(await ui.clickInject(page, flushId), 200);
    const listed = await waitFor('the object', async () => {
      const r = await client().listV2({ prefix: 'ui/' });
      return r.objects && r.objects.length ? r.objects : null;
    });
    assert.equal(listed.length, 1);
    assert.match(listed[0].name, /^ui\/typed_\d{8}T\d{6}_00000\.csv$/);
    assert.equal((await client().get(listed[0].name)).content.toString(), '1,one\n2,"two, ""2"""\n');
    // The node's status shows the upload (green) in the editor.
    await waitFor('the status', async () => /1 obj/.test((await page.locator(`[id="${exportId}"] .red-ui-flow-node-status-label`).textContent().catch(() => '')) || ''));
    await snap('deployed-status');

    const { flows } = await red.getFlows();
    assert.ok(!JSON.stringify(flows).includes(SECRET), 'secret in GET /flows');
    assert.ok(!fs.readFileSync(red.flowFile, 'utf8').includes(SECRET), 'secret in flows.json');
    const acct = flows.find((n) => n.type === 'oss-account');
    assert.ok(acct && !('accessKeySecret' in acct));
    const cred = (await red.request('GET', `/credentials/oss-account/${acct.id}`)).json();
    assert.equal(cred.has_accessKeySecret, true);
    assert.equal(cred.accessKeyId, KEY_ID, 'the key id (a text credential) comes back to the editor');
    assert.ok(!JSON.stringify(cred).includes(SECRET));
    assert.deepEqual(browser.pageErrors, [], 'no script errors in the editor');
  });

  it('oss-import dialog: the folder button browses the deployed account\'s bucket', async () => {
    const importId = await ui.dropNode(page, 'oss-import', 600, 220);
    await ui.editNode(page, importId);
    const acctId = await page.evaluate(() => {
      let id = null;
      RED.nodes.eachConfig((n) => {
        if (n.type === 'oss-account') id = n.id;
      });
      return id;
    });
    await page.locator('#node-input-account').selectOption(acctId);
    await page.locator('#node-input-prefix').fill('exports/');
    await page.locator('#node-input-oss-browse').click();
    const list = page.locator('#node-input-oss-browse-list');
    await waitFor('the listing', async () => /exports\/a\.csv/.test(await list.textContent()));
    assert.match(await list.textContent(), /exports\/day1\//);
    await list.locator('a', { hasText: 'exports/day1/' }).click();
    assert.equal(await page.locator('#node-input-prefix').inputValue(), 'exports/day1/');
    await waitFor('the folder', async () => /exports\/day1\/b\.csv\s+4/.test(await list.textContent()));
    await snap('import-browse');
    await page.locator('#node-dialog-cancel').click();
  });
});
