'use strict';
// greenplum-query's dialog in the real editor (Node-RED 4.1 in Chromium) against a real
// PostgreSQL: the SQL field is Node-RED's code editor in SQL mode with an expand button, the
// rows-per-message field shows for batches only, SQL typed in the editor and the output are
// saved, the help explains msg.query, msg.params and msg.tick, and the deployed node runs the
// typed SQL (status and debug sidebar).
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const ui = require('./support/browser-editor');

describe('greenplum-query dialog (Chromium)', () => {
  const pg = usePostgres();
  const session = ui.useEditorSession();
  let red;
  let browser;
  let page;

  before(async () => {
    ({ red, browser, page } = session);
    const end = Date.now() + 60000;
    while (!pg.url && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const deployed = await red.deployFlows([
      { id: 'qtab', type: 'tab', label: 'query' },
      { id: 'qdb', type: 'greenplum-db', name: 'e2e db', host: pg.host, port: pg.port, database: pg.database, user: pg.user, poolSize: 2, credentials: { password: pg.password } },
      { id: 'qin', type: 'inject', z: 'qtab', name: 'go', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', crontab: '', once: false, onceDelay: 0.1, topic: '', x: 120, y: 100, wires: [['qq']] },
      { id: 'qq', type: 'greenplum-query', z: 'qtab', database: 'qdb', query: 'SELECT 1 AS one', output: 'all', batchSize: 1000, x: 320, y: 100, wires: [['qdbg']] },
      { id: 'qdbg', type: 'debug', z: 'qtab', name: 'rows', active: true, tosidebar: true, complete: 'payload', targetType: 'msg', x: 520, y: 100, wires: [] },
    ]);
    assert.ok(deployed, 'flows deployed through the admin API');
    // The editor opened before the deploy: load the deployed flows into it.
    await ui.openEditor(page, red.url);
  });

  it('the SQL field is a code editor in SQL mode; rows per message shows for batches only; typed SQL and the output are saved', async () => {
    await ui.editNode(page, 'qq');
    const editor = await page.evaluate(() => {
      const ed = $('#node-input-query-editor');
      const monaco = ed.find('.monaco-editor');
      const mode = monaco.length ? monaco.attr('data-mode-id') || (window.monaco && window.monaco.editor.getModels().map((m) => m.getLanguageId()).join(',')) : ed.hasClass('ace_editor') && ace.edit(ed[0]).session.getMode().$id;
      return { kind: monaco.length ? 'monaco' : ed.hasClass('ace_editor') ? 'ace' : 'none', mode, text: ed.text().replace(/\u00a0/g, ' ') };
    });
    assert.notEqual(editor.kind, 'none', 'a code editor');
    assert.match(String(editor.mode), /sql/, `SQL highlighting (${editor.kind}: ${editor.mode})`);
    assert.match(editor.text, /SELECT 1 AS one/);
    assert.equal(await page.locator('#node-input-query-expand').isVisible(), true, 'the expand button');
    assert.equal(await page.locator('#node-input-batchSize').isVisible(), false, 'rows per message hidden for "all rows"');
    await page.locator('#node-input-output').selectOption('batch');
    assert.equal(await page.locator('#node-input-batchSize').isVisible(), true, 'rows per message shown for batches');
    await page.locator('#node-input-output').selectOption('row');
    assert.equal(await page.locator('#node-input-batchSize').isVisible(), false);
    // The tip says msg.query wins.
    assert.match(await page.locator('.form-tips').last().textContent(), /msg\.query/);
    // Replace the SQL by typing into the editor.
    await page.locator('#node-input-query-editor').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('SELECT g AS n FROM generate_series(1, 3) g');
    await ui.confirmNodeDialog(page);
    const saved = await page.evaluate(() => {
      const n = RED.nodes.node('qq');
      return { query: n.query, output: n.output, valid: n.valid, label: RED.utils.getNodeLabel(n) };
    });
    assert.deepEqual(saved, { query: 'SELECT g AS n FROM generate_series(1, 3) g', output: 'row', valid: true, label: 'SELECT g AS n' });
    // Closing a dialog after typing into a SQL editor makes Monaco throw "Model is disposed!"
    // inside Node-RED's editor.destroy() (every dialog with the shared SQL editors; the text is
    // saved all the same), as the editor suite notes: any other error fails.
    assert.deepEqual(browser.pageErrors.filter((e) => !/^Model is disposed!/.test(e)), [], 'no other JavaScript errors in the editor');
  });

  it('the help names msg.query, msg.params, msg.tick and every field', async () => {
    const help = await page.evaluate(() => {
      RED.sidebar.help.show('greenplum-query');
      return document.getElementById('red-ui-sidebar-content').innerText;
    });
    for (const s of ['msg.query', 'msg.params', 'msg.tick', 'Rows per message', 'Output', 'SQLSTATE']) assert.ok(help.includes(s), `help mentions ${s}`);
  });

  it('deployed, the typed SQL runs: one message per row in the debug sidebar, a green status with the count', async () => {
    assert.equal(await ui.deploy(page), 200);
    await page.evaluate(() => RED.sidebar.show('debug'));
    assert.equal(await ui.clickInject(page, 'qin'), 200);
    await page.waitForFunction(() => document.querySelectorAll('#red-ui-sidebar-content .red-ui-debug-msg').length >= 3, null, { timeout: 15000 });
    await page.waitForFunction(() => /SELECT 3/.test(document.querySelector('[id="qq"] .red-ui-flow-node-status-label')?.textContent || ''), null, { timeout: 15000 });
    const shown = await page.evaluate(() => [...document.querySelectorAll('#red-ui-sidebar-content .red-ui-debug-msg')].map((m) => m.innerText.replace(/\s+/g, ' ')).join(' | '));
    for (const n of [1, 2, 3]) assert.match(shown, new RegExp(`n: ${n}\\b`), shown);
    const dot = await page.evaluate(() => document.querySelector('[id="qq"] .red-ui-flow-node-status').getAttribute('class'));
    assert.match(dot, /red-ui-flow-node-status-dot-green/, 'a green dot');
  });
});
