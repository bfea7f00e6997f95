'use strict';
// greenplum-query in a real Node-RED runtime against the Greenplum coordinator (2 segments):
// DDL with a distribution clause, DML counts over both segments, named parameters, batches
// through a server-side cursor (DECLARE … CURSOR / FETCH on Greenplum) paced by msg.tick and
// closed after the last batch and on a redeploy, and a syntax error with its SQLSTATE at Catch.
const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { useGreenplumDatabase } = require('../support/greenplum');
const S = require('../support/gpss-nodes');
const { coreNode } = require('../support/node-red-runtime');

const NODES = ['greenplum-db', 'greenplum-query'].map((t) => require(`../../dist/nodes/${t}.js`));
const CATCH = coreNode('common/25-catch.js');
const pg = useGreenplumDatabase('query');

before(() => S.until(() => pg.url, 60000));
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

async function start(query) {
  const f = [
    { id: 'tab1', type: 'tab', label: 'query on Greenplum' },
    { id: 'db1', type: 'greenplum-db', host: pg.host, port: pg.port, database: pg.database, user: pg.user, poolSize: 2 },
    S.flowNode({ id: 'q1', type: 'greenplum-query', database: 'db1', output: 'all', query: 'SELECT 1', ...query, wires: [['out1']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['q1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load([...NODES, CATCH], f, { db1: { password: pg.password } });
  return { f, q: S.helper.getNode('q1'), out: S.collect(S.helper.getNode('out1')), errs: S.collect(S.helper.getNode('err1')) };
}

const openTransactions = async () =>
  (await S.query(pg.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).rows[0].n;

test('DDL with DISTRIBUTED BY, DML counts over both segments, named parameters, 42601 at Catch', async () => {
  const { q, out, errs } = await start({});
  q.receive({ query: 'CREATE TABLE qn (id int, device text, v float8) DISTRIBUTED BY (id); INSERT INTO qn SELECT g, $$d$$ || (g % 4), g FROM generate_series(1, 5000) g' });
  q.receive({ query: 'UPDATE qn SET v = v * 2 WHERE device = $device', params: { device: 'd1' } });
  q.receive({ query: 'SELECT count(DISTINCT gp_segment_id)::int AS segs, count(*)::int AS n FROM qn' });
  q.receive({ query: 'SELEC 1', topic: 'bad' });
  await out.wait(3, 30000);
  const [e] = await errs.wait(1, 30000);
  assert.deepEqual(out.msgs[0].statements.map((s) => [s.command, s.rowCount]), [['CREATE', null], ['INSERT', 5000]]);
  assert.deepEqual([out.msgs[1].command, out.msgs[1].rowCount], ['UPDATE', 1250]);
  assert.deepEqual(out.msgs[2].payload, [{ segs: 2, n: 5000 }]);
  assert.equal(e.error.cause.sqlState, '42601');
  assert.equal(e.topic, 'bad');
});

test('batches through a Greenplum cursor, paced by msg.tick; closed after the last batch and on a redeploy mid-sequence', async () => {
  await S.query(pg.url, 'CREATE TABLE qb (id int) DISTRIBUTED BY (id); INSERT INTO qb SELECT generate_series(1, 2500)');
  const { f, q, out, errs } = await start({ output: 'batch', batchSize: 1000, query: 'SELECT id FROM qb ORDER BY id' });
  q.receive({});
  await out.wait(1, 30000);
  await S.sleep(300);
  assert.equal(out.msgs.length, 1, 'no second batch without a tick');
  q.receive({ tick: true });
  await out.wait(2, 30000);
  q.receive({ tick: true });
  await out.wait(3, 30000);
  assert.deepEqual(errs.msgs.map((m) => m.error.message), []);
  assert.deepEqual(out.msgs.map((m) => [m.payload.length, m.payload[0].id, m.parts.index, m.parts.count, m.complete]), [
    [1000, 1, 0, undefined, undefined], [1000, 1001, 1, undefined, undefined], [500, 2001, 2, 3, true],
  ]);
  await S.until(async () => (await openTransactions()) === 0, 10000);
  // Mid-sequence redeploy of the query node alone: its cursor is closed, the pool stays.
  q.receive({});
  await out.wait(4, 30000);
  assert.equal(await openTransactions(), 1);
  await S.redeploy(f.map((n) => (n.id === 'q1' ? { ...n, name: 'renamed' } : n)), { db1: { password: pg.password } }, 'nodes');
  await S.until(async () => (await openTransactions()) === 0, 10000);
});
