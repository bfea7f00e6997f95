'use strict';
// Connection checks of greenplum-db and gpss-server in the real Node-RED runtime: the deploy-time
// probe shown as status by every node using the config node before its first message (ready /
// unreachable with the reason, no password), a failed probe not stopping a later message from
// connecting, and the dialogs' Test connection endpoints with typed and stored ('__PWRD__')
// passwords.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');

const pg = usePostgres();
before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE probe_t (id int4, name text)');
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

const texts = (id) => S.statusCalls().filter((c) => c.id === id).map((c) => c.status && c.status.text).filter(Boolean);
const statuses = (id) => S.statusCalls().filter((c) => c.id === id).map((c) => c.status);

function writeFlow(cfg) {
  return [
    ...cfg,
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'probe_t', tableType: 'str', mode: 'insert', commitRows: 1, commitInterval: 200, wires: [['out1']] }),
    S.flowNode({ id: 'c1', type: 'gpss-close', server: 'gs1', wires: [[]] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

test('deploy-time probe: gpss nodes show ready (green dot) before any message, embedded server up and a session checked', async () => {
  await S.helper.load(S.NODES, writeFlow(S.configNodes(pg)), S.credentials(pg.password));
  await S.until(() => texts('w1').includes('gpss-write.status.ready'), 15000);
  await S.until(() => texts('c1').includes('gpss-close.status.ready'), 5000);
  const ready = statuses('w1').find((s) => s.text === 'gpss-write.status.ready');
  assert.deepEqual({ fill: ready.fill, shape: ready.shape }, { fill: 'green', shape: 'dot' });
  assert.equal(S.helper.getNode('gs1').probe.result.state, 'ready');
  assert.equal(S.helper.getNode('db1').probe.result.state, 'ready');
  assert.match(S.helper.getNode('gs1').address(), /^127\.0\.0\.1:\d+$/, 'the embedded server was started by the probe');
});

test('deploy-time probe: a wrong password shows unreachable with the reason (no password), and the first message still tries again', async () => {
  const wrong = 'wrong-pass-Zq81';
  await S.helper.load(S.NODES, writeFlow(S.configNodes(pg)), S.credentials(wrong));
  await S.until(() => texts('w1').some((t) => /^unreachable: /.test(t)), 15000);
  const bad = statuses('w1').find((s) => /^unreachable: /.test(s.text));
  assert.deepEqual({ fill: bad.fill, shape: bad.shape }, { fill: 'red', shape: 'ring' });
  assert.match(S.helper.getNode('gs1').probe.result.reason, /password|authentication/i);
  assert.match(S.helper.getNode('db1').probe.result.reason, /password|authentication/i);
  for (const id of ['w1', 'c1', 'gs1', 'db1']) {
    assert.ok(!JSON.stringify(statuses(id)).includes(wrong), `password in ${id}'s status`);
  }
  assert.ok(!JSON.stringify(S.helper.getNode('gs1').probe.result).includes(wrong));
  // The message is not refused because of the probe: it connects again (and fails again, to Catch).
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { id: 1, name: 'x' } });
  const [m] = await errs.wait(1, 20000);
  assert.match(m.error.message, /password|authentication/i);
});

test('deploy-time probe: remote server down at deploy shows unreachable; a message after it came up is written', async () => {
  const probeServer = await S.startServer(pg);
  const port = probeServer.port;
  await probeServer.stop();
  await S.query(pg.url, 'TRUNCATE probe_t');
  await S.helper.load(S.NODES, writeFlow(S.configNodes(pg, { gpssPort: port })), S.credentials(pg.password));
  await S.until(() => texts('w1').some((t) => /^unreachable: /.test(t)), 15000);
  assert.equal(S.helper.getNode('db1').probe.result.state, 'ready', 'the database itself is reachable');
  const server = await S.startServer(pg, port);
  try {
    const out = S.collect(S.helper.getNode('out1'));
    S.helper.getNode('w1').receive({ payload: { id: 7, name: 'after' } });
    await out.wait(1, 20000);
    assert.equal(await S.count(pg.url, 'probe_t'), 1);
    // The node's own status took over from the probe's.
    await S.sleep(600);
    assert.doesNotMatch(texts('w1').at(-1), /^unreachable/);
  } finally {
    await S.helper.unload();
    await server.stop();
  }
});

test('greenplum-db Test connection: typed password, stored password (__PWRD__), wrong password without echo', async () => {
  await S.helper.load(S.NODES, S.configNodes(pg), S.credentials(pg.password));
  const dialog = { id: 'db1', host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: false };
  const typed = await S.helper.request().post('/greenplum-db/test').send({ ...dialog, password: pg.password }).expect(200);
  assert.equal(typed.body.ok, true, JSON.stringify(typed.body));
  assert.match(typed.body.version, /PostgreSQL|Greenplum/);
  assert.equal(typed.body.target, `${pg.user}@${pg.host}:${pg.port}/${pg.database}`);
  assert.equal(typeof typed.body.ms, 'number');

  const stored = await S.helper.request().post('/greenplum-db/test').send({ ...dialog, password: '__PWRD__' }).expect(200);
  assert.equal(stored.body.ok, true, JSON.stringify(stored.body));

  const wrong = 'no-such-pass-77x';
  const bad = await S.helper.request().post('/greenplum-db/test').send({ ...dialog, password: wrong }).expect(200);
  assert.equal(bad.body.ok, false);
  assert.match(bad.body.error, /password|authentication/i);
  assert.equal(bad.body.code, '28P01', 'the SQLSTATE comes back');
  assert.ok(!JSON.stringify(bad.body).includes(wrong));

  // A new, never deployed node: nothing stored, so no password.
  const fresh = await S.helper.request().post('/greenplum-db/test').send({ ...dialog, id: 'new-node', password: '__PWRD__' }).expect(200);
  assert.equal(fresh.body.ok, false);
});

test('gpss-server Test connection: embedded and remote, unsaved greenplum-db values, stored password', async () => {
  await S.helper.load(S.NODES, S.configNodes(pg), S.credentials(pg.password));
  const dbConfig = { host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: false, password: '__PWRD__' };
  const emb = await S.helper.request().post('/gpss-server/test').send({ id: 'gs1', mode: 'embedded', db: 'db1', dbConfig }).expect(200);
  assert.equal(emb.body.ok, true, JSON.stringify(emb.body));
  assert.ok(emb.body.schemas.includes('public'), JSON.stringify(emb.body));

  const server = await S.startServer(pg);
  try {
    const remote = await S.helper.request().post('/gpss-server/test').send({ id: 'gs1', mode: 'remote', host: '127.0.0.1', port: server.port, db: 'db1', dbConfig }).expect(200);
    assert.equal(remote.body.ok, true, JSON.stringify(remote.body));
    assert.match(remote.body.target, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
    const wrong = 'bad-pw-for-gpss-9';
    const bad = await S.helper.request().post('/gpss-server/test').send({ id: 'gs1', mode: 'remote', host: '127.0.0.1', port: server.port, db: 'db1', dbConfig: { ...dbConfig, password: wrong } }).expect(200);
    assert.equal(bad.body.ok, false);
    assert.ok(!JSON.stringify(bad.body).includes(wrong));
  } finally {
    await server.stop();
  }
  const noDb = await S.helper.request().post('/gpss-server/test').send({ mode: 'embedded' }).expect(200);
  assert.equal(noDb.body.ok, false);
  assert.match(noDb.body.error, /select a greenplum-db/);
});

test('${ENV_VAR} settings: Node-RED substitutes them at deploy, the probe uses the resolved port', async () => {
  process.env.GPF_TEST_PG_PORT = String(pg.port);
  process.env.GPF_TEST_POOL = '3';
  try {
    const flow = S.configNodes(pg).map((n) => (n.id === 'db1' ? { ...n, port: '${GPF_TEST_PG_PORT}', poolSize: '${GPF_TEST_POOL}' } : n));
    await S.helper.load(S.NODES, flow, S.credentials(pg.password));
    const db = S.helper.getNode('db1');
    assert.equal(db.port, pg.port);
    assert.equal(db.poolSize, 3);
    await S.until(() => db.probe.result.state !== 'probing', 15000);
    assert.equal(db.probe.result.state, 'ready', JSON.stringify(db.probe.result));
  } finally {
    delete process.env.GPF_TEST_PG_PORT;
    delete process.env.GPF_TEST_POOL;
  }
});

test('table picker of the OSS dialogs: GET /gpflow/db/:id/tables lists the deployed database\'s tables, 404 before deploy', async () => {
  await S.helper.load(S.NODES, S.configNodes(pg), S.credentials(pg.password));
  const res = await S.helper.request().get('/gpflow/db/db1/tables').expect(200);
  assert.ok(res.body.some((t) => t.schema === 'public' && t.name === 'probe_t' && t.type === 'table'), JSON.stringify(res.body));
  assert.ok(!res.body.some((t) => t.schema === 'pg_catalog' || t.schema === 'information_schema'), 'system schemas left out');
  const missing = await S.helper.request().get('/gpflow/db/not-deployed/tables').expect(404);
  assert.match(missing.body.error, /deploy it first/);
});

test('a server that accepts connections and never answers: the deploy is not held up, the probe ends unreachable within its bound', async () => {
  const net = require('node:net');
  const sockets = new Set();
  const silent = net.createServer((s) => sockets.add(s)); // accepts, never speaks
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  const port = silent.address().port;
  try {
    const t0 = Date.now();
    await S.helper.load(S.NODES, writeFlow(S.configNodes(pg, { gpssPort: port, rpcTimeout: 60 })), S.credentials(pg.password));
    assert.ok(Date.now() - t0 < 5000, `deploy took ${Date.now() - t0} ms`);
    assert.equal(S.helper.getNode('gs1').probe.result.state, 'probing');
    await S.until(() => S.helper.getNode('gs1').probe.result.state !== 'probing', 20000);
    const r = S.helper.getNode('gs1').probe.result;
    assert.equal(r.state, 'unreachable');
    assert.match(r.reason, /no answer within 10000 ms/);
    assert.ok(r.ms < 15000, `probe took ${r.ms} ms`);
    await S.until(() => texts('w1').some((t) => /^unreachable: /.test(t)), 5000);
  } finally {
    await S.helper.unload();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
