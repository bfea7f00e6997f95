'use strict';
// Status texts live in the locale files: every key the nodes translate exists in en-US, the
// probe texts exist for every node that uses a config node, and the runtime fallback (no
// message catalog loaded) reads the same file and fills __values__ as i18next does.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { catalogText, translator } = require('../dist/nodes/kit');

const SRC = path.join(__dirname, '..', 'src', 'nodes');

test('every translated key of every node exists in its en-US locale file', () => {
  let checked = 0;
  for (const f of fs.readdirSync(SRC).filter((n) => n.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(SRC, f), 'utf8');
    const m = /translator\(RED, '([\w-]+)'\)/.exec(text);
    if (!m) continue;
    const type = m[1];
    for (const [, key] of text.matchAll(/\bt\('([\w.]+)'/g)) {
      assert.notEqual(catalogText(type, `${type}.${key}`), null, `${f}: ${type}.${key} missing in nodes/locales/en-US/${type}.json`);
      checked++;
    }
  }
  assert.ok(checked >= 15, `only ${checked} keys found`);
});

test('the probe and server texts exist for every node using a config node', () => {
  for (const type of ['gpss-connect', 'gpss-write', 'gpss-close', 'oss-export', 'oss-import', 'greenplum-query']) {
    assert.equal(catalogText(type, `${type}.status.ready`), 'ready', type);
    assert.equal(catalogText(type, `${type}.status.unreachable`, { reason: 'ECONNREFUSED' }), 'unreachable: ECONNREFUSED', type);
  }
  for (const type of ['gpss-connect', 'gpss-write', 'gpss-close']) assert.equal(catalogText(type, `${type}.status.noServer`), 'no gpss-server');
});

test('translator: Node-RED translation first, the locale file when the runtime has no catalog', () => {
  const bare = translator({ _: (k) => k }, 'gpss-write');
  assert.equal(bare('status.committed', { count: '1.2k' }), 'committed 1.2k');
  assert.equal(bare('status.no-such-key'), 'gpss-write.status.no-such-key');
  const translated = translator({ _: (k, v) => `[${k}:${v && v.count}]` }, 'gpss-write');
  assert.equal(translated('status.committed', { count: 3 }), '[gpss-write.status.committed:3]');
});
