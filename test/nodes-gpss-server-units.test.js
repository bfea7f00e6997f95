'use strict';
// Unit tests of what the gpss-server config node's wiring uses from the node kit, without
// Node-RED: its settings (the same policy as every node: empty → default, invalid → named) and
// the one log line per change of connection state.
const test = require('node:test');
const assert = require('node:assert/strict');
const kit = require('../dist/nodes/kit');

test('readGpssServerSettings: embedded by default, with the documented defaults', () => {
  assert.deepEqual(kit.readGpssServerSettings({}, {}), { remote: null, embeddedPort: 0, rpcTimeoutMs: 60000, sessionTimeoutSec: 300, closeTimeoutMs: 12000 });
  const s = kit.readGpssServerSettings({ mode: 'embedded', host: 'ignored', port: 'not read', embeddedPort: '6000', rpcTimeout: '5', sessionTimeout: '0', closeTimeout: '3' }, {});
  assert.deepEqual(s, { remote: null, embeddedPort: 6000, rpcTimeoutMs: 5000, sessionTimeoutSec: 0, closeTimeoutMs: 3000 });
});

test('remoteEndpoint: host (127.0.0.1 when empty), port 5000 by default, TLS from the credentials', () => {
  assert.deepEqual(kit.remoteEndpoint({ mode: 'remote', host: ' ', port: '' }, {}), { host: '127.0.0.1', port: 5000 });
  assert.equal(kit.remoteEndpoint({ mode: 'embedded', port: 'bad' }, {}), null, 'embedded: the remote fields are not read');
  const tls = kit.remoteEndpoint({ mode: 'remote', host: 'gpss.local', port: 5443, tls: 'true' }, { tlsCa: 'CA', tlsCert: 'C', tlsKey: 'K' });
  assert.deepEqual([tls.host, tls.port, String(tls.tls.ca), String(tls.tls.cert), String(tls.tls.key)], ['gpss.local', 5443, 'CA', 'C', 'K']);
  assert.equal(kit.remoteEndpoint({ mode: 'remote', tls: 'false' }, { tlsCa: 'CA' }).tls, undefined);
  assert.throws(() => kit.remoteEndpoint({ mode: 'remote', port: '70000' }, {}), (e) => e instanceof kit.SettingError && e.option === 'port');
  assert.throws(() => kit.remoteEndpoint({ mode: 'remote', tls: 'yes' }, {}), /TLS must be true or false/);
  assert.throws(() => kit.remoteEndpoint({ mode: 'remote', tls: true }, { tlsCert: 'C' }), /client certificate and client key go together/);
  assert.throws(() => kit.readGpssServerSettings({ closeTimeout: '15' }, {}), (e) => e instanceof kit.SettingError && e.option === 'close timeout (s)');
});

test('stateChangeLog: one line per change of state, errors as warnings, connecting not logged', () => {
  const lines = [];
  let where = 'embedded gpss-pg';
  const log = kit.stateChangeLog({ warn: (t) => lines.push(`warn ${t}`), log: (t) => lines.push(`log ${t}`) }, () => where);
  log('connecting');
  log('error', 'UNAVAILABLE: refused');
  log('error', 'UNAVAILABLE: refused again');
  where = '127.0.0.1:5000';
  log('connected');
  log('connected');
  log('error');
  assert.deepEqual(lines, ['warn GPSS embedded gpss-pg: UNAVAILABLE: refused', 'log GPSS 127.0.0.1:5000: connected', 'warn GPSS 127.0.0.1:5000: error']);
});
