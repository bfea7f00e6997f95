'use strict';
// Page helpers for driving Node-RED's editor like a user: drag from the palette, wire ports
// with the mouse, double-click to edit, the Deploy button, the inject button, Import > Examples.
// Selectors follow Node-RED core's own editor tests (spec/node-red.md §6.3).

/** Opens the editor and waits until it is usable (workspace active, palette filled, loader gone). */
async function openEditor(page, url) {
  await page.goto(url);
  await page.waitForFunction(
    () =>
      window.RED &&
      RED.workspaces &&
      RED.workspaces.active() &&
      document.querySelector('.red-ui-palette-node[data-palette-type="inject"]') &&
      !Array.from(document.querySelectorAll('#red-ui-loading-progress')).some((e) => e.offsetParent !== null),
    null,
    { timeout: 60_000 },
  );
}

/** Palette entries of a category: [{ type, label }]. */
function paletteCategory(page, category) {
  return page.evaluate((cat) => {
    const container = document.getElementById(`red-ui-palette-container-${cat}`);
    if (!container) return null;
    return Array.from(container.querySelectorAll('.red-ui-palette-node')).map((e) => ({
      type: e.getAttribute('data-palette-type'),
      label: e.querySelector('.red-ui-palette-label') ? e.querySelector('.red-ui-palette-label').textContent.trim() : '',
    }));
  }, category);
}

/** Drags a palette node onto the workspace at (x, y) relative to the chart; returns the new node's id. */
async function dropNode(page, type, x, y) {
  const before = await page.evaluate(() => {
    const ids = [];
    RED.nodes.eachNode((n) => ids.push(n.id));
    return ids;
  });
  const src = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await src.scrollIntoViewIfNeeded();
  const sb = await src.boundingBox();
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  await page.mouse.move(sb.x + sb.width / 2, sb.y + sb.height / 2);
  await page.mouse.down();
  await page.mouse.move(sb.x + sb.width / 2 + 20, sb.y + sb.height / 2 + 5, { steps: 5 });
  await page.mouse.move(chart.x + x, chart.y + y, { steps: 20 });
  await page.mouse.up();
  const id = await page.evaluate((old) => {
    let found = null;
    RED.nodes.eachNode((n) => {
      if (!old.includes(n.id)) found = n.id;
    });
    return found;
  }, before);
  if (!id) throw new Error(`dropping ${type} onto the workspace added no node`);
  return id;
}

/** Drags a wire from a node's output port to another node's input port. */
async function wire(page, fromId, toId, port = 0) {
  const out = await page.locator(`[id="${fromId}"] .red-ui-flow-port-output .red-ui-flow-port`).nth(port).boundingBox();
  const inp = await page.locator(`[id="${toId}"] .red-ui-flow-port-input .red-ui-flow-port`).first().boundingBox();
  await page.mouse.move(out.x + out.width / 2, out.y + out.height / 2);
  await page.mouse.down();
  await page.mouse.move(inp.x + inp.width / 2, inp.y + inp.height / 2, { steps: 15 });
  await page.mouse.up();
  const linked = await page.evaluate(
    ([a, b]) => RED.nodes.filterLinks({ source: RED.nodes.node(a), target: RED.nodes.node(b) }).length,
    [fromId, toId],
  );
  if (!linked) throw new Error(`wiring ${fromId} → ${toId} made no link`);
}

/** Opens a node's edit dialog by double-clicking it; waits for the tray. */
async function editNode(page, id) {
  await page.locator(`[id="${id}"] .red-ui-flow-node`).first().dblclick();
  await page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
}

/** Clicks Done in the node dialog; waits for its tray to close. */
async function confirmNodeDialog(page) {
  const button = await page.locator('#node-dialog-ok').elementHandle();
  await button.click();
  await button.waitForElementState('hidden');
}

/** Clicks Add/Update in the (top-most) config dialog and waits for its tray to close. */
async function confirmConfigDialog(page) {
  // Nested dialogs reuse the button id, so follow this very element until it goes away.
  const button = await page.locator('#node-config-dialog-ok').elementHandle();
  await button.click();
  await button.waitForElementState('hidden');
}

/** Deploys with the Deploy button; resolves with the POST /flows response status. */
async function deploy(page) {
  const response = page.waitForResponse((r) => r.url().endsWith('/flows') && r.request().method() === 'POST', { timeout: 30_000 });
  await page.locator('#red-ui-header-button-deploy').click();
  const res = await response;
  // After a successful deploy the editor marks the workspace clean and disables the button.
  if (res.status() === 200) {
    await page.waitForFunction(() => document.querySelector('#red-ui-header-button-deploy').classList.contains('disabled'));
  }
  return res.status();
}

/** Clicks the button of an inject node (a POST /inject/<id>); resolves with its status. */
async function clickInject(page, id) {
  const response = page.waitForResponse((r) => r.url().includes(`/inject/${id}`) && r.request().method() === 'POST');
  await page.locator(`[id="${id}"] .red-ui-flow-node-button`).click();
  return (await response).status();
}

/** Node ids on the active tab, by type. */
function nodesOfType(page, type) {
  return page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
}

/** Types into the visible input of a TypedInput whose (hidden) value element is `selector`. */
async function fillTypedInput(page, selector, value) {
  const input = page.locator(`.form-row:has(${selector}) .red-ui-typedInput-input-wrap input.red-ui-typedInput-input`).first();
  await input.fill(value);
  await input.press('Tab');
}

/**
 * Fills the empty required plain properties of the open node dialog (config-node selects are
 * not handled here) from `values` ({ prop: value }): a TypedInput field through its widget
 * (the original <input> is hidden behind it, so a plain fill cannot reach it; its current
 * type is kept), any other visible input by typing. Returns the props it set.
 */
async function fillRequiredFields(page, type, values) {
  const fields = await page.evaluate((t) => {
    const def = RED.nodes.getType(t);
    return Object.keys(def.defaults)
      .filter((k) => def.defaults[k].required && !def.defaults[k].type)
      .map((k) => {
        const el = $(`#node-input-${k}`);
        const typed = el.length > 0 && el.next('.red-ui-typedInput-container').length > 0;
        return { prop: k, typed, value: typed ? el.typedInput('value') : null };
      });
  }, type);
  const set = [];
  for (const { prop, typed, value } of fields) {
    if (!(prop in values)) continue;
    if (typed) {
      if (value !== '') continue;
      // Through the widget, then a change event, as typing and leaving the field would.
      const ok = await page.evaluate(
        ([k, v]) => {
          const el = $(`#node-input-${k}`);
          if (!el.next('.red-ui-typedInput-container').is(':visible')) return false;
          el.typedInput('value', v);
          el.trigger('change');
          return el.typedInput('value') === v;
        },
        [prop, values[prop]],
      );
      if (ok) set.push(prop);
      continue;
    }
    const input = page.locator(`#node-input-${prop}`);
    if (!(await input.count()) || !(await input.isVisible())) continue;
    if ((await input.inputValue()) === '') {
      await input.fill(values[prop]);
      set.push(prop);
    }
  }
  return set;
}

/** Validation state of a node in the editor (RED.nodes.node(id).valid). */
function isValid(page, id) {
  return page.evaluate((i) => RED.nodes.node(i).valid, id);
}

/**
 * For the tests of one describe(): a real Node-RED with this package (support/nodered.js) and
 * its editor open in Chromium, started in before() and closed in after(). Returns
 * { red, browser, page }, filled in once before() has run. options.finalScreenshot names a
 * screenshot taken before closing.
 */
function useEditorSession(options = {}) {
  const { before, after } = require('node:test');
  const { startTestNodeRed } = require('./nodered');
  const { launchBrowser } = require('./browser');
  const session = { red: null, browser: null, page: null };
  before(async () => {
    session.red = await startTestNodeRed();
    session.browser = await launchBrowser();
    session.page = session.browser.page;
    await openEditor(session.page, session.red.url);
  });
  after(async () => {
    if (session.browser && options.finalScreenshot) await session.browser.screenshot(options.finalScreenshot);
    if (session.browser) await session.browser.close();
    if (session.red) await session.red.cleanup();
  });
  return session;
}

module.exports = {
  useEditorSession,
  openEditor,
  paletteCategory,
  dropNode,
  wire,
  editNode,
  confirmNodeDialog,
  confirmConfigDialog,
  deploy,
  clickInject,
  nodesOfType,
  isValid,
  fillTypedInput,
  fillRequiredFields,
};
