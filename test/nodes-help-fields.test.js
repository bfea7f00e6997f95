'use strict';
// Every field of every dialog is described in the node's help: each label of the edit template
// (data-i18n="<type>.label.x", its en-US text) is named by a property entry of the help — a
// <dt> in an HTML help, a `: name (type) :` line in a markdown help.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { expandParts } = require('../resources/editor-common.js');

const NODES = path.join(__dirname, '..', 'nodes');
const TYPES = ['greenplum-db', 'gpss-server', 'oss-account', 'gpss-connect', 'gpss-write', 'gpss-close', 'oss-export', 'oss-import', 'greenplum-query'];
// Labels that are part of another field's row (units, hints), not fields of their own.
const NOT_FIELDS = { 'gpss-close': ['maxErrorRowsHint'], 'gpss-write': ['or', 'rows'], 'gpss-connect': ['or', 'rows', 'keys'] };

function entries(help, markdown) {
  const norm = (s) => s.replace(/<[^>]+>/g, ' ').replace(/[`*]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
  if (markdown) return help.split('\n').filter((l) => /^\s*:[^:]+\(/.test(l)).map((l) => norm(/^\s*:([^(]+)\(/.exec(l)[1]));
  return [...help.matchAll(/<dt[^>]*>([\s\S]*?)<\/dt>/g)].map((m) => norm(m[1].replace(/<span class="property-type">[\s\S]*?<\/span>/g, '')));
}

for (const type of TYPES) {
  test(`${type}: every dialog field is described in the help`, () => {
    const html = fs.readFileSync(path.join(NODES, `${type}.html`), 'utf8');
    // With the shared parts (resources/editor-common.js) in, as the editor shows the dialog.
    const tpl = expandParts(new RegExp(`data-template-name="${type}">([\\s\\S]*?)</script>`).exec(html)[1], type);
    const help = new RegExp(`<script type="text/(markdown|html)" data-help-name="${type}">([\\s\\S]*?)</script>`).exec(html);
    const labels = require(path.join(NODES, 'locales', 'en-US', `${type}.json`))[type].label;
    const keys = [...new Set([...tpl.matchAll(new RegExp(`data-i18n="${type}\\.label\\.(\\w+)"`, 'g'))].map((m) => m[1]))].filter((k) => !(NOT_FIELDS[type] || []).includes(k));
    const named = entries(help[2], help[1] === 'markdown');
    // A label's text up to a colon or parenthesis names the field ("Folder only: direct children …").
    const missing = keys.filter((k) => !named.some((n) => n.includes(labels[k].split(/[:(]/)[0].trim().toLowerCase())));
    assert.deepEqual(missing.map((k) => `${k} ("${labels[k]}")`), [], `${type}: fields without a help entry`);
  });
}
