'use strict';
// The layer rules of ARCHITECTURE.md, read from the sources' import lines: the nodes reach a
// library only through its index.ts, and the node kit only through its index.ts; gpss-pg shares only the wire code of src/gpss; src/shared
// (event-loop slices) sits below everything and imports nothing of ours; the OSS
// emulator and the devstack stand apart; no library imports the nodes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const SRC = path.join(__dirname, '..', 'src');

/** [file relative to src, imported path resolved relative to src] for every relative import. */
function importsUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\()\s*'(\.[^']*)'/g)) {
          out.push([path.relative(SRC, p), path.relative(SRC, path.resolve(path.dirname(p), m[1])).split(path.sep).join('/')]);
        }
      }
    }
  };
  walk(path.join(SRC, dir));
  return out;
}

const LIBRARIES = ['gpss', 'oss', 'gpss-server', 'query'];
const inside = (target, lib) => target === lib || target.startsWith(lib + '/');

test('the nodes import each library only through its index.ts', () => {
  const bad = importsUnder('nodes').filter(([, t]) => LIBRARIES.some((lib) => inside(t, lib) && t !== lib && t !== `${lib}/index`));
  assert.deepEqual(bad, []);
});

test('the node kit sits between the nodes and the libraries: node files import it through its index.ts, it imports no node', () => {
  const nodeFiles = importsUnder('nodes').filter(([f]) => /^nodes\/[^/]+\.ts$/.test(f));
  const intoKit = nodeFiles.filter(([, t]) => inside(t, 'nodes/kit') && t !== 'nodes/kit' && t !== 'nodes/kit/index');
  assert.deepEqual(intoKit, [], 'a node file reaches inside the kit');
  const up = importsUnder('nodes/kit').filter(([, t]) => inside(t, 'nodes') && !inside(t, 'nodes/kit'));
  assert.deepEqual(up, [], 'the kit imports a node (or a node-specific helper)');
});

test('gpss-pg shares only the wire code of src/gpss; the libraries never import nodes, devstack or the emulator', () => {
  const wire = new Set(['gpss/proto', 'gpss/wire-types', 'gpss/error-rows']);
  const bad = importsUnder('gpss-server').filter(([, t]) => (inside(t, 'gpss') && !wire.has(t)) || inside(t, 'oss') || inside(t, 'nodes'));
  assert.deepEqual(bad, []);
  for (const lib of ['gpss', 'oss', 'query']) {
    const up = importsUnder(lib).filter(([, t]) => !inside(t, lib) && !inside(t, 'shared'));
    assert.deepEqual(up, [], `${lib} reaches outside itself (and src/shared)`);
  }
});

test('src/shared (event-loop slices) is the bottom layer: it imports nothing else of the project', () => {
  assert.deepEqual(importsUnder('shared').filter(([, t]) => !inside(t, 'shared')), []);
});

test('the OSS emulator and the devstack stand apart: nothing published imports them, the emulator imports no client code', () => {
  const published = ['nodes', 'gpss', 'oss', 'gpss-server', 'query'].flatMap(importsUnder);
  assert.deepEqual(published.filter(([, t]) => inside(t, 'oss-emulator') || inside(t, 'devstack')), []);
  assert.deepEqual(importsUnder('oss-emulator').filter(([, t]) => LIBRARIES.some((lib) => inside(t, lib)) || inside(t, 'nodes')), []);
});
