'use strict';
// The Node-RED runner used by `npm start` and the e2e tests: its settings, the package link,
// and what a failing start reports.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { nodeRedSettingsSource, linkPackage, startNodeRed } = require('../dist/devstack/node-red');
const { freePort } = require('../dist/devstack/postgres');

function tmp(t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('settings: loopback only, the given port and secret, telemetry and tours off; exits when orphaned', () => {
  const source = nodeRedSettingsSource({ credentialSecret: 's3cr"et', port: 18801 });
  // Evaluated with a stand-in `process`, so the orphan guard is observable and not armed here.
  const listeners = {};
  const fakeProcess = { pid: 4242, send() {}, on: (ev, fn) => (listeners[ev] = fn), kill: (pid, sig) => (listeners.killed = [pid, sig]), umask: (m) => (listeners.umask = m) };
  const sandbox = { module: { exports: {} }, process: fakeProcess };
  vm.runInNewContext(source, sandbox);
  const settings = JSON.parse(JSON.stringify(sandbox.module.exports)); // plain objects of this realm
  assert.equal(listeners.umask, 0o077, 'Node-RED writes flows_cred.json and the rest with no group/other access');
  listeners.disconnect();
  assert.deepEqual(listeners.killed, [4242, 'SIGINT'], 'losing the parent makes the runtime stop itself');
  assert.equal(settings.uiHost, '127.0.0.1');
  assert.equal(settings.uiPort, 18801);
  assert.equal(settings.credentialSecret, 's3cr"et', 'the secret survives quoting');
  assert.equal(settings.flowFile, 'flows.json');
  assert.deepEqual(settings.telemetry, { enabled: false, updateNotification: false });
  assert.equal(settings.editorTheme.tours, false);
});

test('linkPackage links a package under its scoped name and replaces an older link', (t) => {
  const dir = tmp(t, 'gpflow-link-');
  const pkgA = path.join(dir, 'a');
  const pkgB = path.join(dir, 'b');
  for (const p of [pkgA, pkgB]) {
    fs.mkdirSync(p);
    fs.writeFileSync(path.join(p, 'package.json'), JSON.stringify({ name: '@scope/thing', version: '1.0.0' }));
  }
  const userDir = path.join(dir, 'user');
  const first = linkPackage(userDir, pkgA);
  assert.equal(first, path.join(userDir, 'node_modules', '@scope', 'thing'));
  assert.equal(fs.realpathSync(first), fs.realpathSync(pkgA));
  linkPackage(userDir, pkgB);
  assert.equal(fs.realpathSync(first), fs.realpathSync(pkgB));
  assert.ok(fs.existsSync(path.join(pkgA, 'package.json')), 'replacing the link left the old target alone');
});

test('a runtime that dies while starting is reported with its exit code and log', async (t) => {
  const dir = tmp(t, 'gpflow-nrfail-');
  const fake = path.join(dir, 'red.js');
  fs.writeFileSync(fake, "console.error('fake runtime: cannot start'); process.exit(3);\n");
  await assert.rejects(
    startNodeRed({ userDir: path.join(dir, 'user'), port: await freePort(), credentialSecret: 'x', redJs: fake }),
    (err) => /exited during start \(code 3/.test(err.message) && /fake runtime: cannot start/.test(err.message),
  );
});

test('a runtime that never answers is stopped after the start timeout, with its log', async (t) => {
  const dir = tmp(t, 'gpflow-nrhang-');
  const fake = path.join(dir, 'red.js');
  const pidFile = path.join(dir, 'pid');
  fs.writeFileSync(fake, `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); console.log('fake runtime: hanging'); setInterval(() => {}, 1000);\n`);
  await assert.rejects(
    startNodeRed({ userDir: path.join(dir, 'user'), port: await freePort(), credentialSecret: 'x', redJs: fake, startTimeoutMs: 1500 }),
    (err) => /did not answer/.test(err.message) && /fake runtime: hanging/.test(err.message),
  );
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  assert.throws(() => process.kill(pid, 0), 'the hanging runtime was killed');
});
