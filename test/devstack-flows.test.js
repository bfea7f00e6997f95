'use strict';
// Unit tests of the pure parts of `npm start`: env configuration and the composition of the
// example flows pointed at the local stack.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { configFromEnv, redactUrl, DEFAULT_PORTS } = require('../dist/devstack/config');
const { composeDevstackFlows, repointDevstackConfig, DEVSTACK_CONFIG_IDS } = require('../dist/devstack/flows');
const { readExamples, assertPortFree, loadSecrets } = require('../dist/devstack/stack');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '..');
const STACK = {
  pg: { host: '127.0.0.1', port: 55432, database: 'gpflow_demo', user: 'gpflow', password: 'pg-s3cret' },
  gpss: { host: '127.0.0.1', port: 5000 },
  oss: { endpoint: 'http://127.0.0.1:9000', bucket: 'gpflow-demo', accessKeyId: 'LTAIabc', accessKeySecret: 'oss-s3cret' },
};

test('config: defaults are the documented loopback ports and .devstack/ in the package', () => {
  const c = configFromEnv({}, '/pkg');
  assert.equal(c.dir, path.join('/pkg', '.devstack'));
  assert.equal(c.nodeRedPort, 1880);
  assert.equal(c.gpssPort, 5000);
  assert.equal(c.ossPort, 9000);
  assert.equal(c.pgPort, DEFAULT_PORTS.PG_PORT);
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.resetFlows, false);
});

test('config: every port and the data dir change by environment variable', () => {
  const c = configFromEnv(
    { NODE_RED_PORT: '18800', GPSS_PORT: '15000', OSS_PORT: '19000', PG_PORT: '0', GPFLOW_DEVSTACK_DIR: '/tmp/x', GPFLOW_DEVSTACK_RESET_FLOWS: '1' },
    '/pkg',
  );
  assert.deepEqual(
    [c.nodeRedPort, c.gpssPort, c.ossPort, c.pgPort, c.dir, c.resetFlows],
    [18800, 15000, 19000, 0, '/tmp/x', true],
  );
});

test('config: bad values name the variable; clashing ports are refused; DATABASE_URL must be postgres://', () => {
  assert.throws(() => configFromEnv({ GPSS_PORT: 'abc' }, '/pkg'), /GPSS_PORT="abc" is not a TCP port/);
  assert.throws(() => configFromEnv({ OSS_PORT: '70000' }, '/pkg'), /OSS_PORT/);
  assert.throws(() => configFromEnv({ OSS_PORT: '1880' }, '/pkg'), /OSS_PORT and NODE_RED_PORT are both 1880/);
  assert.throws(() => configFromEnv({ DATABASE_URL: 'mysql://x' }, '/pkg'), /DATABASE_URL/);
  const c = configFromEnv({ DATABASE_URL: 'postgres://u:p@db:5432/x', PG_PORT: '1880' }, '/pkg');
  assert.equal(c.databaseUrl, 'postgres://u:p@db:5432/x', 'PG_PORT is unused with DATABASE_URL, no clash');
});

test('redactUrl hides the password', () => {
  assert.equal(redactUrl('postgres://gpflow:topsecret@127.0.0.1:5432/db'), 'postgres://gpflow:***@127.0.0.1:5432/db');
  assert.doesNotMatch(redactUrl('postgres://a:b@h/d'), /:b@/);
});

const EXAMPLE_A = [
  { id: 'c1', type: 'comment', z: 'ftab', name: 'Stream', info: 'explains', x: 100, y: 40, wires: [] },
  { id: 'i1', type: 'inject', z: 'ftab', x: 100, y: 100, wires: [['w1']] },
  { id: 'w1', type: 'gpss-write', z: 'ftab', server: 'srv', table: 'sensor_readings', x: 300, y: 100, wires: [['d1']] },
  { id: 'd1', type: 'debug', z: 'ftab', x: 500, y: 100, wires: [] },
  { id: 'k1', type: 'catch', z: 'ftab', scope: ['w1'], x: 100, y: 200, wires: [['d1']] },
  { id: 'srv', type: 'gpss-server', mode: 'embedded', host: 'gpss.example', port: '5000', db: 'db1', rpcTimeout: '33' },
  { id: 'db1', type: 'greenplum-db', host: 'warehouse.example', port: '5432', database: 'prod', user: 'etl', poolSize: '7' },
];
const EXAMPLE_B = [
  { id: 'tabB', type: 'tab', label: 'Export' },
  { id: 'i1', type: 'inject', z: 'tabB', x: 100, y: 100, wires: [['e1']] },
  { id: 'e1', type: 'oss-export', z: 'tabB', account: 'acct', database: 'db9', x: 300, y: 100, wires: [[]] },
  { id: 'acct', type: 'oss-account', endpoint: 'oss-cn-hangzhou.aliyuncs.com', bucket: 'prod-bucket', secure: true, timeout: 60000 },
  { id: 'db9', type: 'greenplum-db', host: 'other.example', port: 5432, database: 'x', user: 'y' },
];

test('compose: each example on its own tab, unique ids, wires and scopes remapped', () => {
  const flows = composeDevstackFlows(
    [
      { name: 'gpss/stream', nodes: EXAMPLE_A },
      { name: 'oss/export', nodes: EXAMPLE_B },
    ],
    STACK,
  );
  const ids = flows.map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique (both examples have an i1)');
  const tabs = flows.filter((n) => n.type === 'tab');
  assert.deepEqual(tabs.map((t) => t.label), ['gpss/stream', 'Export']);
  const byId = new Map(flows.map((n) => [n.id, n]));
  for (const n of flows.filter((x) => typeof x.x === 'number')) {
    assert.ok(tabs.some((t) => t.id === n.z), `${n.type} is on a tab of ours`);
    for (const port of n.wires || []) for (const target of port) assert.ok(byId.has(target), `dangling wire ${n.type} → ${target}`);
  }
  const write = flows.find((n) => n.type === 'gpss-write');
  const inject = flows.find((n) => n.type === 'inject' && n.z === write.z);
  assert.deepEqual(inject.wires, [[write.id]]);
  const katch = flows.find((n) => n.type === 'catch');
  assert.deepEqual(katch.scope, [write.id], 'catch scope follows the renamed node');
  assert.equal(write.table, 'sensor_readings', 'other properties kept');
});

test('compose: one shared config node per type, pointed at the stack, secrets only as credentials', () => {
  const flows = composeDevstackFlows(
    [
      { name: 'a', nodes: EXAMPLE_A },
      { name: 'b', nodes: EXAMPLE_B },
    ],
    STACK,
  );
  const configs = flows.filter((n) => ['greenplum-db', 'gpss-server', 'oss-account'].includes(n.type));
  assert.deepEqual(configs.map((n) => n.id).sort(), Object.values(DEVSTACK_CONFIG_IDS).sort());
  for (const n of configs) assert.ok(!('z' in n) && !('x' in n), `${n.type} is a global config node`);
  const db = configs.find((n) => n.type === 'greenplum-db');
  assert.deepEqual([db.host, db.port, db.database, db.user, db.poolSize], ['127.0.0.1', '55432', 'gpflow_demo', 'gpflow', '7']);
  assert.deepEqual(db.credentials, { password: 'pg-s3cret' });
  const srv = configs.find((n) => n.type === 'gpss-server');
  assert.deepEqual([srv.mode, srv.host, srv.port, srv.db, srv.rpcTimeout], ['remote', '127.0.0.1', '5000', db.id, '33']);
  const acct = configs.find((n) => n.type === 'oss-account');
  assert.deepEqual([acct.endpoint, acct.bucket, acct.secure], ['http://127.0.0.1:9000', 'gpflow-demo', false]);
  assert.deepEqual(acct.credentials, { accessKeyId: 'LTAIabc', accessKeySecret: 'oss-s3cret' });
  // References from flow nodes go to the shared nodes.
  const write = flows.find((n) => n.type === 'gpss-write');
  const exp = flows.find((n) => n.type === 'oss-export');
  assert.equal(write.server, DEVSTACK_CONFIG_IDS['gpss-server']);
  assert.equal(exp.account, DEVSTACK_CONFIG_IDS['oss-account']);
  assert.equal(exp.database, DEVSTACK_CONFIG_IDS['greenplum-db']);
  // Secrets appear nowhere but in the credentials of the three config nodes.
  const withoutCreds = JSON.stringify(flows.map(({ credentials, ...rest }) => rest));
  assert.doesNotMatch(withoutCreds, /s3cret/);
  assert.doesNotMatch(withoutCreds, /warehouse\.example|prod-bucket|aliyuncs/);
});

test('compose: with no examples, the three config nodes are still there for the user', () => {
  const flows = composeDevstackFlows([], STACK);
  assert.deepEqual(flows.map((n) => n.type).sort(), ['gpss-server', 'greenplum-db', 'oss-account']);
});

test('repoint: a second start on other ports updates only our config nodes; unchanged → null', () => {
  const flows = composeDevstackFlows([{ name: 'a', nodes: EXAMPLE_A }], STACK).map(({ credentials, ...n }) => n);
  assert.equal(repointDevstackConfig(flows, STACK), null);
  const moved = { ...STACK, gpss: { host: '127.0.0.1', port: 15000 } };
  const out = repointDevstackConfig(flows, moved);
  assert.ok(out);
  assert.equal(out.find((n) => n.type === 'gpss-server').port, '15000');
  const userNodes = flows.filter((n) => !String(n.id).startsWith('devstack-'));
  for (const n of userNodes) assert.deepEqual(out.find((m) => m.id === n.id), n, 'user nodes untouched');
});

test('readExamples: the repository examples are JSON arrays and compose into a valid flow', () => {
  const examples = readExamples(ROOT);
  assert.ok(examples.length >= 1, 'no examples in examples/');
  const flows = composeDevstackFlows(examples, STACK);
  const ids = new Set(flows.map((n) => n.id));
  assert.equal(ids.size, flows.length);
  for (const n of flows) for (const port of n.wires || []) for (const t of port) assert.ok(ids.has(t), `dangling wire to ${t}`);
});

test('a port already in use is refused with the variable to change; port 0 always passes', async () => {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address();
    await assert.rejects(assertPortFree(port, 'GPSS_PORT'), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*set GPSS_PORT`));
    await assertPortFree(0, 'OSS_PORT');
  } finally {
    server.close();
  }
});

test('secrets are generated once (0600) and reused by the next start', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-secrets-'));
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-secrets-'));
  try {
    const a = loadSecrets(dir);
    for (const v of Object.values(a)) assert.ok(typeof v === 'string' && v.length >= 16, 'long random values');
    assert.equal(fs.statSync(path.join(dir, 'secrets.json')).mode & 0o777, 0o600);
    assert.deepEqual(loadSecrets(dir), a);
    assert.notDeepEqual(loadSecrets(other), a, 'each stack has its own secrets');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(other, { recursive: true, force: true });
  }
});
