'use strict';
// The greenplum-db config node as other nodes consume it (the OSS nodes, gpss-server): login
// from credentials, the shared pool, and a close that waits for its users (Node-RED closes
// flow and config nodes concurrently).
const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');

const pg = usePostgres();
before(() => S.until(() => pg.url, 60000));
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

function dbFlow(extra = {}) {
  return [{ id: 'db1', type: 'greenplum-db', host: pg.host, port: pg.port, database: pg.database, user: pg.user, poolSize: 3, closeTimeout: 5, ...extra }];
}

test('greenplum-db: clientConfig carries the credential password, the shared pool works, the flow holds no password', async () => {
  await S.helper.load(S.NODES, dbFlow(), S.credentials(pg.password));
  const db = S.helper.getNode('db1');
  assert.equal(db.host, pg.host);
  assert.equal(db.port, pg.port);
  const cfg = db.clientConfig();
  assert.equal(cfg.password, pg.password);
  assert.equal(cfg.ssl, false);
  assert.equal(db.getPool(), db.getPool(), 'one shared pool');
  assert.equal(db.getPool().options.max, 3);
  const r = await db.getPool().query('SELECT current_database() AS d');
  assert.equal(r.rows[0].d, pg.database);
  const def = S.helper._redNodes.getFlows().flows.find((n) => n.id === 'db1');
  assert.equal(def.password, undefined, 'password as a flow property');
  assert.ok(!def.credentials || !def.credentials.password, 'password in the exported flow');
  assert.ok(!db.redact(`login ${pg.password} failed`).includes(pg.password));
});

test('greenplum-db: close waits for its users to deregister before ending the pool', async () => {
  await S.helper.load(S.NODES, dbFlow(), S.credentials(pg.password));
  const db = S.helper.getNode('db1');
  const user = { id: 'someUser' };
  db.register(user);
  const pool = db.getPool();
  let closed = false;
  const closing = S.helper.clearFlows().then(() => (closed = true));
  await S.sleep(300);
  assert.equal(closed, false, 'closed while a user was still registered');
  const r = await pool.query('SELECT 1 AS one'); // the user's final flush still works
  assert.equal(r.rows[0].one, 1);
  await db.deregister(user);
  await closing;
  assert.equal(closed, true);
  await assert.rejects(pool.query('SELECT 1'), /pool|end/i, 'the pool was ended after the last user left');
});

test('gpss-server: a flow node without a configured server reports it on input (Catch) instead of crashing', async () => {
  const flow = [
    { id: 'tab1', type: 'tab' },
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'missing', table: 't', wires: [[]] }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, flow);
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { a: 1 } });
  const [m] = await errs.wait(1);
  assert.match(m.error.message, /no gpss-server/);
  assert.deepEqual(m.payload, { a: 1 });
});

test('an invalid setting (kit policy): every message goes to Catch with the error naming it, nothing clamped', async () => {
  const flow = [
    { id: 'tab1', type: 'tab' },
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'missing', table: 't', maxRetries: '500', wires: [[]] }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, flow);
  const w1 = S.helper.getNode('w1');
  const errs = S.collect(S.helper.getNode('err1'));
  w1.receive({ payload: { a: 1 } });
  const [m] = await errs.wait(1);
  assert.match(m.error.message, /retries must be from 0 to 100, got 500/);
  assert.deepEqual(m.payload, { a: 1 });
});

test('greenplum-db with an invalid port: every use fails naming it (no clamping), the probe says why', async () => {
  await S.helper.load(S.NODES, dbFlow({ port: '70000' }), S.credentials(pg.password));
  const db = S.helper.getNode('db1');
  assert.throws(() => db.clientConfig(), /greenplum-db: port must be from 1 to 65535, got 70000/);
  await S.until(() => db.probe.result.state === 'unreachable');
  assert.match(db.probe.result.reason, /port must be from 1 to 65535/);
});
