'use strict';
// resources/editor-common.js without a browser: the template parts it puts into the dialogs
// (pure string work), and that every text the expanded dialogs name exists in the node's
// en-US locale file. The script in the editor is driven in editor-resources.test.js and the
// e2e suites.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const editorCommon = require('../resources/editor-common.js');

const NODES = path.join(__dirname, '..', 'nodes');
const TYPES = Object.keys(require('../package.json')['node-red'].nodes);

function template(type) {
  const html = fs.readFileSync(path.join(NODES, `${type}.html`), 'utf8');
  return new RegExp(`data-template-name="${type}">([\\s\\S]*?)</script>`).exec(html)[1];
}

test('text without parts is left as it is', () => {
  const text = '<div class="form-row">\n  <input id="node-input-x">\n</div>';
  assert.equal(editorCommon.expandParts(text, 'gpss-write'), text);
});

test('each part comes out whole, in the namespace of the node that uses it, at the placeholder\'s line', () => {
  for (const name of editorCommon.partNames) {
    const out = editorCommon.expandParts(`<p>a</p>\n  <div data-gpflow-part="${name}" data-buffer-rows="123" data-config="account"></div>\n<p>b</p>`, 'my-node');
    assert.match(out, /^<p>a<\/p>\n  <div class="form-row/, name);
    assert.match(out, /<\/div>\n<p>b<\/p>$/, name);
    assert.ok(!/\$\{|undefined|data-gpflow-part/.test(out), `${name}: ${out}`);
    const namespaces = [...out.matchAll(/data-i18n="(?:\[\w+\])?([\w-]+)\./g)].map((m) => m[1]);
    assert.ok(namespaces.length > 0 && namespaces.every((n) => n === 'my-node'), `${name}: ${namespaces}`);
  }
  assert.match(editorCommon.expandParts('<div data-gpflow-part="gpss-buffer" data-buffer-rows="123"></div>', 't'), /id="node-input-bufferRows" placeholder="123"/);
  assert.match(editorCommon.expandParts('<div data-gpflow-part="copy-format"></div>', 't'), /placeholder=", or \\t"/);
  const configs = editorCommon.expandParts('<div data-gpflow-part="config-nodes" data-config="account database" data-database-class="t-db"></div>', 't');
  assert.match(configs, /<div class="form-row">\n    <label for="node-input-account"><i class="fa fa-cloud"><\/i>[^]*<div class="form-row t-db">\n    <label for="node-input-database"><i class="fa fa-database">/);
  assert.match(editorCommon.expandParts('<div data-gpflow-part="transfer-mode" data-row-class="t-table"></div>', 't'), /^  <div class="form-row t-table">\n    <label for="node-input-mode">/);
});

test('an unknown part is an error naming it and the dialog', () => {
  assert.throws(() => editorCommon.expandParts('<div data-gpflow-part="no-such"></div>', 'gpss-write'), /no template part "no-such" \(in gpss-write\)/);
});

test('every text an expanded dialog names exists in its en-US locale file', () => {
  let checked = 0;
  for (const type of TYPES) {
    const catalog = JSON.parse(fs.readFileSync(path.join(NODES, 'locales', 'en-US', `${type}.json`), 'utf8'));
    const tpl = editorCommon.expandParts(template(type), type);
    for (const [, key] of tpl.matchAll(/data-i18n="(?:\[\w+\])?([^"]+)"/g)) {
      if (key.includes(':')) continue; // another catalog (node-red:common…)
      const value = key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), catalog);
      assert.equal(typeof value, 'string', `${type}: ${key} missing in nodes/locales/en-US/${type}.json`);
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} texts`);
});

test('the dialogs use every part, and no dialog keeps its own copy of the shared helpers', () => {
  const used = new Set();
  for (const type of TYPES) {
    const html = fs.readFileSync(path.join(NODES, `${type}.html`), 'utf8');
    for (const [, name] of html.matchAll(/data-gpflow-part="([\w-]+)"/g)) used.add(name);
    assert.doesNotMatch(html, /RED\.editor\.createEditor|RED\.tabs\.create|RED\.validators\.number|\$\.getJSON\('gpflow\//, `${type} sets up by itself what the shared script does`);
  }
  assert.deepEqual([...used].sort(), [...editorCommon.partNames].sort());
});
