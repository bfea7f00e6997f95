'use strict';
// The sequence and pacing options in the real editor (Node-RED 4.1 in Chromium): gpss-write's
// "second output" option gives the node a second port (and takes it away again), gpss-close's
// "wait for every part" and oss-export's "close the object when a sequence ends" are saved.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const ui = require('./support/browser-editor');

describe('sequence and pacing options in the editor (Chromium)', () => {
  const session = ui.useEditorSession();
  let page;
  before(() => ({ page } = session));

  // Set through jQuery (as a click would, with its change event): the option may sit in a tab.
  const setBox = (id, on) => page.evaluate(([i, v]) => $(`#node-input-${i}`).prop('checked', v).trigger('change'), [id, on]);
  const ports = (id) => page.locator(`[id="${id}"] .red-ui-flow-port-output`).count();

  it('gpss-write: the tick output option adds a second output port and removes it again', async () => {
    const id = await ui.dropNode(page, 'gpss-write', 300, 120);
    assert.equal(await ports(id), 1);
    await ui.editNode(page, id);
    await setBox('tickOutput', true);
    await ui.confirmNodeDialog(page);
    assert.deepEqual(await page.evaluate((i) => ({ outputs: RED.nodes.node(i).outputs, tick: RED.nodes.node(i).tickOutput }), id), { outputs: 2, tick: true });
    await page.waitForFunction((i) => document.querySelectorAll(`[id="${i}"] .red-ui-flow-port-output`).length === 2, id, { timeout: 5000 });
    await ui.editNode(page, id);
    assert.equal(await page.evaluate(() => $('#node-input-tickOutput').prop('checked')), true, 'the option is shown as saved');
    await setBox('tickOutput', false);
    await setBox('commitOnSequenceEnd', true);
    await ui.confirmNodeDialog(page);
    assert.deepEqual(await page.evaluate((i) => ({ outputs: RED.nodes.node(i).outputs, c: RED.nodes.node(i).commitOnSequenceEnd }), id), { outputs: 1, c: true });
    await page.waitForFunction((i) => document.querySelectorAll(`[id="${i}"] .red-ui-flow-port-output`).length === 1, id, { timeout: 5000 });
  });

  it('gpss-close and oss-export: the sequence options are saved', async () => {
    const close = await ui.dropNode(page, 'gpss-close', 300, 220);
    await ui.editNode(page, close);
    await setBox('waitForSequence', true);
    await page.evaluate(() => $('#node-input-sequenceTimeout').val('5'));
    await ui.confirmNodeDialog(page);
    assert.deepEqual(await page.evaluate((i) => ({ w: RED.nodes.node(i).waitForSequence, t: String(RED.nodes.node(i).sequenceTimeout) }), close), { w: true, t: '5' });
    const exp = await ui.dropNode(page, 'oss-export', 300, 320);
    await ui.editNode(page, exp);
    await page.evaluate(() => $('#node-input-source').val('messages').trigger('change'));
    await setBox('rollOnSequenceEnd', true);
    await ui.confirmNodeDialog(page);
    assert.equal(await page.evaluate((i) => RED.nodes.node(i).rollOnSequenceEnd, exp), true);
    assert.deepEqual(session.browser.pageErrors, [], 'no JavaScript errors in the editor');
  });
});
