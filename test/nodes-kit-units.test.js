'use strict';
// Unit tests of the node kit (src/nodes/kit) and the one redaction (src/shared/redact.ts):
// the settings policy, the override rule, error shaping, the throttled status, config users.
const test = require('node:test');
const assert = require('node:assert/strict');
const kit = require('../dist/nodes/kit');
const { redactSecrets } = require('../dist/shared/redact');
const oss = require('../dist/oss');

const { sleep, until } = require('./support/wait');

test('settings: empty takes the default, anything invalid throws naming the option (no clamping)', () => {
  assert.equal(kit.intSetting(undefined, 5, 1, 9, 'n'), 5);
  assert.equal(kit.intSetting('', 5, 1, 9, 'n'), 5);
  assert.equal(kit.intSetting(' 7 ', 5, 1, 9, 'n'), 7);
  assert.equal(kit.intSetting(9, 5, 1, 9, 'n'), 9);
  assert.throws(() => kit.intSetting('10', 5, 1, 9, 'gzip level'), (e) => e instanceof kit.SettingError && e.option === 'gzip level' && /gzip level must be from 1 to 9, got 10/.test(e.message));
  assert.throws(() => kit.intSetting('0', 5, 1, 9, 'n'), /from 1 to 9/);
  assert.throws(() => kit.intSetting('1.5', 5, 1, 9, 'retries'), /retries must be a whole number, got "1.5"/);
  assert.throws(() => kit.intSetting('soon', 5, 1, 9, 'n'), /whole number/);
  assert.equal(kit.boolSetting('', true), true);
  assert.equal(kit.boolSetting('false', true), false);
  assert.equal(kit.boolSetting(true, false), true);
  assert.throws(() => kit.boolSetting('yes', false, 'TLS'), /TLS must be true or false/);
  assert.equal(kit.choiceSetting('', ['a', 'b'], 'a', 'mode'), 'a');
  assert.equal(kit.choiceSetting(' b ', ['a', 'b'], 'a', 'mode'), 'b');
  assert.throws(() => kit.choiceSetting('c', ['a', 'b', 'x'], 'a', 'mode'), /mode must be a, b or x, got "c"/);
  assert.equal(kit.textSetting('  x '), 'x');
  assert.equal(kit.textSetting(null), '');
});

test('db settings follow the same policy: a bad port is an error naming it', () => {
  assert.equal(kit.readDbSettings({ port: '' }).port, 5432);
  assert.throws(() => kit.readDbSettings({ port: '99999' }), /port must be from 1 to 65535/);
});

test('override rule: TypedInput first, then the documented msg property, then the dialog', () => {
  const RED = { util: { evaluateNodeProperty: (v, type, node, msg) => (type === 'msg' ? msg[v] : `${type}:${v}`) } };
  const msg = { t: 'from-typed', table: 'from-msg' };
  assert.equal(kit.resolveField(RED, {}, msg, { value: 't', type: 'msg' }), 'from-typed');
  assert.equal(kit.resolveField(RED, {}, msg, { value: 'dialog', type: 'str' }), 'dialog', 'a plain str field ignores msg unless the node documents a property');
  assert.equal(kit.resolveField(RED, {}, msg, { value: 'dialog', msgProperty: 'table' }), 'from-msg');
  assert.equal(kit.resolveField(RED, {}, { table: null }, { value: 'dialog', msgProperty: 'table' }), 'dialog');
  assert.equal(kit.resolveField(RED, {}, { prefix: '' }, { value: 'p/', msgProperty: 'prefix' }), '', "'' is a value (the bucket root), not an absence");
  assert.equal(kit.resolveText(RED, {}, { t: 5 }, { value: 't', type: 'msg' }), '');
  assert.equal(kit.isFixed({ value: 'x' }), true);
  assert.equal(kit.isFixed({ value: 'x', type: 'env' }), false);
  assert.equal(kit.isFixed({ value: 'x', msgProperty: 'table' }), false);
});

test('one redaction: secrets (and URL-encoded forms), key= and the id= before it, URL passwords → XXX', () => {
  assert.equal(redactSecrets('auth failed for p@ss/w0rd', ['p@ss/w0rd']), 'auth failed for XXX');
  assert.equal(redactSecrets('url postgres://u:p%40ss%2Fw0rd@h/db', ['p@ss/w0rd']), 'url postgres://u:XXX@h/db');
  assert.equal(redactSecrets('postgres://bob:other@host:5432/x', []), 'postgres://bob:XXX@host:5432/x');
  assert.equal(redactSecrets("LOCATION ('oss://h prefix=a/ id=LTAIabc key=s3cr3t bucket=b')"), "LOCATION ('oss://h prefix=a/ id=XXX key=XXX bucket=b')");
  assert.equal(redactSecrets('short pw: ab', ['ab']), 'short pw: XXX', 'a short secret is removed too');
  assert.equal(redactSecrets('session id=42 ok', []), 'session id=42 ok', 'an id= not before key= is not a secret');
  assert.equal(redactSecrets('nothing', [undefined, '']), 'nothing');
  // src/oss uses the same function.
  assert.equal(oss.redactSecrets, redactSecrets);
  assert.equal(kit.redactSecrets, redactSecrets);
});

test('error shaping: context, code and HTTP status, brief, details in cause, no secret', () => {
  const SECRET = 'SeCrEtKeY123';
  const err = Object.assign(new Error(`denied (${SECRET})`), { code: 'AccessDenied', status: 403, requestId: 'R1' });
  const e = kit.toNodeError(err, 'oss-export of t', [SECRET]);
  assert.equal(e.message, 'oss-export of t: denied (XXX) (AccessDenied, HTTP 403)');
  assert.equal(e.code, 'AccessDenied');
  assert.equal(e.brief, 'AccessDenied (403)');
  assert.equal(e.cause.requestId, 'R1');
  assert.equal(kit.toNodeError('plain', 'ctx', [], 'X_CODE').code, 'X_CODE');
  assert.equal(kit.asError('text').message, 'text');
  assert.equal(kit.oneLine('Error:   a\n  b  '), 'a b');
  assert.equal(kit.oneLine('x'.repeat(50), 40).length, 40);
  assert.deepEqual(kit.errorStatus(new Error('boom')), { fill: 'red', shape: 'ring', text: 'boom' });
});

test('failedSetup: red status, one log line, every message fails with the error', () => {
  const calls = [];
  let input = null;
  const node = { status: (s) => calls.push(['status', s]), error: (t) => calls.push(['error', t]), on: (ev, h) => (input = h) };
  kit.failedSetup(node, new kit.SettingError('retries', 'retries must be from 0 to 100, got 500'));
  assert.deepEqual(calls.map((c) => c[0]), ['status', 'error']);
  assert.equal(calls[0][1].fill, 'red');
  let failed = null;
  input({}, () => undefined, (err) => (failed = err));
  assert.match(failed.message, /retries must be from 0 to 100/);
});

test('ThrottledStatus: at most once per interval, ends on the latest state; setNow at once', async () => {
  const seen = [];
  const s = new kit.ThrottledStatus({ status: (x) => seen.push(x.text) }, 1000);
  for (let i = 0; i < 50; i++) s.set({ text: 'n' + i });
  assert.deepEqual(seen, ['n0']);
  await until(() => seen.length === 2);
  await sleep(50);
  assert.deepEqual(seen, ['n0', 'n49'], 'one trailing update with the latest state, nothing else');
  s.set({ text: 'pending' });
  s.setNow({ text: 'final' });
  await sleep(1100);
  assert.deepEqual(seen, ['n0', 'n49', 'final'], 'setNow shows at once and replaces the pending update');
  s.dispose();
  // A function target and an injected clock.
  let now = 0;
  const out = [];
  const f = new kit.ThrottledStatus((x) => out.push(x.text), 1000, () => now);
  f.set({ text: 'a' });
  now = 500;
  f.set({ text: 'a' });
  assert.deepEqual(out, ['a'], 'a repeat is dropped');
  f.dispose();
});

test('ConfigUsers: whenEmpty waits for the last user, or times out', async () => {
  const u = new kit.ConfigUsers();
  const a = { id: 'a' };
  const b = { id: 'b' };
  u.add(a);
  u.add(b);
  assert.deepEqual(Object.keys(u.users).sort(), ['a', 'b']);
  const p = u.whenEmpty(1000);
  u.remove(a);
  setTimeout(() => u.remove(b), 20);
  assert.equal(await p, true);
  u.add(a);
  assert.equal(await u.whenEmpty(20), false);
});

test('hostUsers + closeAfterUsers: the config node shuts down only after its users deregistered', async () => {
  const handlers = {};
  const node = { type: 'cfg', warn: (t) => warnings.push(t), on: (ev, h) => (handlers[ev] = h) };
  const warnings = [];
  const users = kit.hostUsers(node);
  const log = [];
  kit.closeAfterUsers(node, users, { timeoutMs: 2000, shutdown: () => log.push('shutdown') });
  const user = { id: 'u1' };
  node.register(user);
  assert.deepEqual(Object.keys(node.users), ['u1']);
  let closed = false;
  handlers.close(false, () => (closed = true));
  await sleep(30);
  assert.deepEqual(log, [], 'waits for the user');
  await node.deregister(user);
  await until(() => closed);
  assert.deepEqual(log, ['shutdown']);
  assert.deepEqual(warnings, []);
});

test('useConfigNodes: registers, shows probes until the first own status, release deregisters', async () => {
  const statuses = [];
  const node = { id: 'n1', type: 't', status: (s) => statuses.push(s) };
  const cfgNode = { on() {} };
  const users = kit.hostUsers(cfgNode);
  cfgNode.probe = new kit.ConfigProbe();
  const texts = { connecting: 'connecting', ready: 'ready', unreachable: (r) => `unreachable: ${r}` };
  const use = kit.useConfigNodes(node, [cfgNode, null], texts);
  assert.equal(users.count, 1);
  assert.equal(statuses.at(-1).text, 'connecting');
  await cfgNode.probe.run(async () => undefined, 1000);
  await until(() => statuses.at(-1).text === 'ready');
  use.status.set({ text: 'own' });
  await until(() => statuses.at(-1).text === 'own');
  await cfgNode.probe.run(async () => { throw new Error('down'); }, 1000);
  await sleep(600);
  assert.equal(statuses.at(-1).text, 'own', 'the probe no longer shows once the node has a status of its own');
  await use.release();
  assert.equal(users.count, 0);
  cfgNode.probe.close();
});
