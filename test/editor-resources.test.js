'use strict';
// The dialogs' shared script (resources/editor-common.js) on a real Node-RED with this package
// linked into the userDir as a module (as npm installs it): served under
// resources/@gpflow/node-red-greenplum/, loaded by the editor in Chromium before the dialogs,
// and every dialog built from it. `npm run test:node-red-versions` runs this file on the other
// Node-RED lines too (GPFLOW_NODE_RED_DIR), where the editor and its loader differ.
// The shared behaviour in use (pickers, Test connection, SQL editors, validators) is driven in
// e2e-editor.test.js and oss-nodes-editor.test.js.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { nodeRedVersion } = require('./support/node-red-runtime');
const ui = require('./support/browser-editor');
const editorCommon = require('../resources/editor-common.js');

const PKG = require('../package.json');
const TYPES = Object.keys(PKG['node-red'].nodes);
const SCRIPT_URL = `resources/${PKG.name}/editor-common.js`;
const NODES = path.join(__dirname, '..', 'nodes');

describe(`shared dialog script on Node-RED ${nodeRedVersion} (Chromium)`, () => {
  const session = ui.useEditorSession({ finalScreenshot: `editor-resources-${nodeRedVersion}` });
  let red;
  let browser;
  let page;
  before(() => ({ red, browser, page } = session));

  it('every dialog loads the script by the URL the runtime serves from resources/', async () => {
    for (const type of TYPES) {
      const html = fs.readFileSync(path.join(NODES, `${type}.html`), 'utf8');
      const first = /<script\b[^>]*>/.exec(html)[0];
      assert.ok(first.includes(`src="${SCRIPT_URL}"`), `${type}: its first script is ${first}`);
    }
    const served = await red.request('GET', `/${SCRIPT_URL}`);
    assert.equal(served.status, 200);
    assert.equal(served.body, fs.readFileSync(path.join(__dirname, '..', 'resources', 'editor-common.js'), 'utf8'));
  });

  it('the editor runs it before the dialogs: all types registered, every template part put in, no errors', async () => {
    const state = await page.evaluate((types) => ({
      api: typeof gpflowEditor === 'object' ? Object.keys(gpflowEditor).sort() : null,
      missing: types.filter((t) => !RED.nodes.getType(t)),
      unexpanded: [...document.querySelectorAll('script[data-template-name]')].filter((s) => /data-gpflow-part=/.test(s.textContent)).map((s) => s.getAttribute('data-template-name')),
    }), TYPES);
    assert.deepEqual(state.api, Object.keys(editorCommon).sort());
    assert.deepEqual(state.missing, []);
    assert.deepEqual(state.unexpanded, []);
    assert.deepEqual(browser.pageErrors, []);
  });

  it('each dialog opens with its shared parts in its own texts', async () => {
    const text = (sel) => page.evaluate((s) => $(s).filter(':visible').first().text().trim(), sel);
    const tab = async (type, name) => {
      await page.waitForTimeout(450); // a second click within 400 ms is a double click
      await page.locator(`#${type}-tabs a[href="#${type}-tab-${name}"]`).click();
    };
    let y = 80;
    for (const type of ['gpss-connect', 'gpss-write', 'gpss-close', 'oss-export', 'oss-import']) {
      const id = await ui.dropNode(page, type, 300, y);
      y += 60;
      await ui.editNode(page, id);
      if (type === 'gpss-connect' || type === 'gpss-write') {
        assert.equal(await text('label[for="node-input-table"]'), 'Table', type);
        assert.equal(await page.locator('#gpflow-pick-columns').getAttribute('title'), "Describe the table's columns", type);
        await tab(type, 'load');
        assert.equal(await text('label[for="node-input-stagingSchema"]'), 'Staging schema', type);
        assert.equal(await page.locator('#node-input-preSql-editor .monaco-editor, #node-input-preSql-editor.ace_editor').count(), 1, `${type}: SQL editor`);
        // The config dialog of its gpss-server, and from there the greenplum-db one.
        await page.locator('#node-input-btn-server-add').click();
        await page.locator('#node-config-gpss-server-test').waitFor({ state: 'visible' });
        assert.equal(await text('#node-config-gpss-server-test'), 'Test connection');
        await page.locator('#node-config-input-btn-db-add').click();
        await page.locator('#node-config-greenplum-db-test').waitFor({ state: 'visible' });
        assert.equal(await text('#node-config-greenplum-db-test'), 'Test connection');
        for (let i = 0; i < 2; i++) {
          const cancel = await page.locator('#node-config-dialog-cancel').last().elementHandle();
          await cancel.click();
          await cancel.waitForElementState('hidden');
        }
      }
      if (type === 'oss-export' || type === 'oss-import') {
        // The account is on the Source tab, the first one.
        await page.locator('#node-input-btn-account-add').click();
        await page.locator('#node-config-oss-test').waitFor({ state: 'visible' });
        assert.equal(await text('#node-config-oss-test'), 'Test connection');
        const cancel = await page.locator('#node-config-dialog-cancel').last().elementHandle();
        await cancel.click();
        await cancel.waitForElementState('hidden');
        await tab(type, type === 'oss-export' ? 'objects' : 'format');
        assert.equal(await text('label[for="node-input-format"]'), 'Format', type);
        assert.equal(await page.locator(`.${type}-csv`).isVisible(), true, `${type}: CSV rows shown for CSV`);
      }
      if (type === 'gpss-close') assert.equal(await text('label[for="node-input-maxErrorRows"]'), 'Error rows', type);
      await page.locator('#node-dialog-cancel').click();
      await page.locator('#node-dialog-cancel').waitFor({ state: 'hidden' });
    }
    assert.deepEqual(browser.pageErrors, [], 'no JavaScript errors in the editor');
  });
});
