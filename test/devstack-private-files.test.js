'use strict';
// File modes of the local stack: private folders and files, loose modes from older versions
// tightened (executables stay executable for their owner), and the initdb password file in a
// fresh private folder that is gone afterwards.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensurePrivateDir, writePrivateFile, tightenTree, withPrivateTempFile } = require('../dist/devstack/private-files');

const mode = (p) => (fs.lstatSync(p).mode & 0o777).toString(8);

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-modes-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('ensurePrivateDir and writePrivateFile also fix what already existed with loose modes', (t) => {
  const dir = tmp(t);
  const sub = path.join(dir, 'a', 'b');
  fs.mkdirSync(sub, { recursive: true, mode: 0o755 });
  fs.chmodSync(sub, 0o755);
  ensurePrivateDir(sub);
  assert.equal(mode(sub), '700');
  const file = path.join(sub, 'settings.js');
  fs.writeFileSync(file, 'old', { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  writePrivateFile(file, 'new');
  assert.equal(mode(file), '600');
  assert.equal(fs.readFileSync(file, 'utf8'), 'new');
});

test('tightenTree takes group/other bits off every file and folder below, keeps owner bits, skips symlinks and skipped names', (t) => {
  const dir = tmp(t);
  fs.mkdirSync(path.join(dir, 'node-red', 'lib'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'pg'));
  const files = { 'node-red/flows_cred.json': 0o644, 'node-red/lib/tool.sh': 0o755, 'oss.log': 0o666, 'pg/keep': 0o644, 'already': 0o600 };
  for (const [rel, m] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, rel), 'x');
    fs.chmodSync(path.join(dir, rel), m);
  }
  fs.chmodSync(path.join(dir, 'node-red'), 0o755);
  fs.chmodSync(path.join(dir, 'node-red', 'lib'), 0o775);
  const outside = path.join(dir, 'pg', 'keep');
  fs.symlinkSync(outside, path.join(dir, 'node-red', 'link'));
  tightenTree(dir, new Set(['pg']));
  assert.deepEqual(
    ['node-red', 'node-red/lib', 'node-red/flows_cred.json', 'node-red/lib/tool.sh', 'oss.log', 'already', 'pg/keep'].map((r) => [r, mode(path.join(dir, r))]),
    [['node-red', '700'], ['node-red/lib', '700'], ['node-red/flows_cred.json', '600'], ['node-red/lib/tool.sh', '700'], ['oss.log', '600'], ['already', '600'], ['pg/keep', '644']],
  );
  tightenTree(path.join(dir, 'missing')); // a folder that is not there: nothing to do
});

test('withPrivateTempFile: a 0600 file in a fresh 0700 folder with an unpredictable name, removed afterwards even on failure', () => {
  const seen = [];
  const read = withPrivateTempFile('gpflow-test-', 'pw\n', (file) => {
    seen.push(file);
    assert.equal(mode(file), '600');
    assert.equal(mode(path.dirname(file)), '700');
    assert.equal(path.dirname(path.dirname(file)), os.tmpdir());
    return fs.readFileSync(file, 'utf8');
  });
  assert.equal(read, 'pw\n');
  assert.throws(() => withPrivateTempFile('gpflow-test-', 'pw\n', (file) => {
    seen.push(file);
    throw new Error('initdb failed');
  }), /initdb failed/);
  assert.notEqual(path.dirname(seen[0]), path.dirname(seen[1]), 'a new folder name each time');
  for (const f of seen) assert.ok(!fs.existsSync(path.dirname(f)), `${path.dirname(f)} removed`);
  // The owner change hook sees the folder (startPostgres hands it to the postgres user).
  let chowned = '';
  withPrivateTempFile('gpflow-test-', 'x', () => undefined, (target) => (chowned = target));
  assert.match(path.basename(chowned), /^gpflow-test-/);
});
