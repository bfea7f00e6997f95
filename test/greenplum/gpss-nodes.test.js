'use strict';
// The gpss nodes in a real Node-RED runtime with gpss-pg pointed at the Greenplum
// coordinator: an explicit gpss-connect → gpss-write (job) → gpss-close job into a table
// distributed by a key, and gpss-write in stream mode (merge on the distribution key) into a
// randomly distributed table, with Complete only after the rows are committed; a job merge
// writes each key once per job.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { useGreenplumDatabase } = require('../support/greenplum');
const { Client } = require('pg');
const S = require('../support/gpss-nodes');

const pg = useGreenplumDatabase('gpssnodes');
let server;

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE etl (id int4, name text, v float8, ts timestamp) DISTRIBUTED BY (id)');
  await S.query(pg.url, 'CREATE TABLE stream (id int4 NOT NULL, name text, v float8) DISTRIBUTED RANDOMLY');
  await S.query(pg.url, 'CREATE TABLE keyed (id int4 NOT NULL, name text, v float8) DISTRIBUTED BY (id)');
  server = await S.startServer(pg);
});
after(async () => {
  if (server) await server.stop();
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

const rows = (n, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, name: `r${from + i}`, v: (from + i) / 2, ts: new Date(Date.UTC(2024, 0, 1, 0, 0, (from + i) % 60)) }));

test('ETL job on Greenplum: connect → 5 writes of 2,000 rows → close commits all of them, spread over both segments', async () => {
  const flow = [
    ...S.configNodes(pg, { gpssPort: server.port }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'etl', tableType: 'str', mode: 'insert', wires: [['out1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['out2']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', maxErrorRows: 10, wires: [['out3']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'out2', type: 'helper' }),
    S.flowNode({ id: 'out3', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, flow, S.credentials(pg.password));
  const out1 = S.collect(S.helper.getNode('out1'));
  const out2 = S.collect(S.helper.getNode('out2'));
  const out3 = S.collect(S.helper.getNode('out3'));
  const errs = S.collect(S.helper.getNode('err1'));
  const opened = await S.roundTrip(S.helper.getNode('c1'), { payload: 'start' }, out1);
  assert.equal(opened.gpss.table, 'public.etl');
  assert.deepEqual(opened.gpss.columns, ['id', 'name', 'v', 'ts']);
  for (let b = 0; b < 5; b++) S.helper.getNode('w1').receive({ gpss: opened.gpss, payload: rows(2000, b * 2000) });
  await out2.wait(5, 60000);
  assert.equal(errs.msgs.length, 0, JSON.stringify(errs.msgs.map((m) => m.error)));
  assert.equal(await S.count(pg.url, 'etl'), 0, 'nothing visible before the close');
  const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out3, 60000);
  assert.deepEqual(closed.payload, { successCount: 10000, errorCount: 0, errorRows: [] });
  const r = await S.query(pg.url, 'SELECT count(*)::int AS n, count(DISTINCT gp_segment_id)::int AS segs, sum(v) AS s FROM etl');
  assert.deepEqual(r.rows[0], { n: 10000, segs: 2, s: (9999 * 10000) / 4 });
  assert.equal((await S.query(pg.url, 'SELECT name FROM etl WHERE id = 4321')).rows[0].name, 'r4321');
});

function streamFlow(table, w = {}) {
  return [
    ...S.configNodes(pg, { gpssPort: server.port }),
    S.flowNode({
      id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table, tableType: 'str', mode: 'insert',
      commitRows: 50, commitInterval: 60000, bufferRows: 10000, bufferMb: 16, maxRetries: 2, retryDelay: 50, ...w, wires: [['out1']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'done1', type: 'complete', scope: ['w1'], uncaught: false, wires: [['doneOut']] }),
    S.flowNode({ id: 'doneOut', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

test('stream mode on Greenplum (randomly distributed): Complete fires per message only after its row is committed', async (t) => {
  await S.helper.load(S.NODES, streamFlow('stream'), S.credentials(pg.password));
  // One connection: its queries queue in Complete order (a connection per check would exceed
  // the coordinator's max_connections); a row seen committed stays visible.
  const checker = new Client({ connectionString: pg.url });
  await checker.connect();
  t.after(() => checker.end());
  const checks = [];
  S.helper.getNode('doneOut').on('input', (msg) => {
    checks.push(checker.query('SELECT count(*)::int AS n FROM stream WHERE id = $1', [msg.payload.id]).then((r) => r.rows[0].n));
  });
  const done = S.collect(S.helper.getNode('doneOut'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  for (let i = 0; i < 200; i++) w1.receive({ payload: { id: i, name: 'n' + i, v: i } });
  await done.wait(200, 60000);
  assert.equal(errs.msgs.length, 0, JSON.stringify(errs.msgs.map((m) => m.error)));
  assert.deepEqual(await Promise.all(checks), new Array(200).fill(1), 'a Complete fired before its row was committed');
  assert.equal(await S.count(pg.url, 'stream'), 200);
});

test('stream mode merge on the distribution key: re-sent rows update instead of duplicating', async () => {
  await S.helper.load(S.NODES, streamFlow('keyed', { mode: 'merge', matchColumns: 'id', updateColumns: 'name,v', commitRows: 25 }), S.credentials(pg.password));
  const done = S.collect(S.helper.getNode('doneOut'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  for (let i = 0; i < 50; i++) w1.receive({ payload: { id: i, name: 'first', v: i } });
  await done.wait(50, 60000);
  for (let i = 0; i < 50; i++) w1.receive({ payload: { id: i, name: 'again', v: i * 10 } });
  await done.wait(100, 60000);
  assert.equal(errs.msgs.length, 0, JSON.stringify(errs.msgs.map((m) => m.error)));
  const r = await S.query(pg.url, `SELECT count(*)::int AS n, count(*) FILTER (WHERE name = 'again')::int AS again, sum(v) AS s FROM keyed`);
  assert.deepEqual(r.rows[0], { n: 50, again: 50, s: 12250 });
});

test('job merge on the distribution key: a key once per job (collapsed within a message, a later message repeating one to Catch whole)', async () => {
  await S.query(pg.url, 'TRUNCATE keyed');
  await S.query(pg.url, "INSERT INTO keyed SELECT i, 'old', 0 FROM generate_series(0, 49) i");
  const flow = [
    ...S.configNodes(pg, { gpssPort: server.port }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'keyed', mode: 'merge', matchColumns: 'id', updateColumns: 'name,v', wires: [['out1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['out2']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', wires: [['out3']] }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    ...['out1', 'out2', 'out3', 'err1'].map((id) => S.flowNode({ id, type: 'helper' })),
  ];
  await S.helper.load(S.NODES, flow, S.credentials(pg.password));
  const out = Object.fromEntries(['out1', 'out2', 'out3', 'err1'].map((id) => [id, S.collect(S.helper.getNode(id))]));
  const opened = await S.roundTrip(S.helper.getNode('c1'), {}, out.out1);
  const w1 = S.helper.getNode('w1');
  const batch = (from, to, name) => Array.from({ length: to - from }, (_, k) => ({ id: from + k, name, v: from + k }));
  // Message 1: ids 0–99, then 0–9 again (the later rows win); message 2 repeats id 5; message 3 is new.
  w1.receive({ topic: 'm1', gpss: opened.gpss, payload: [...batch(0, 100, 'first'), ...batch(0, 10, 'second')] });
  w1.receive({ topic: 'm2', gpss: opened.gpss, payload: [...batch(100, 150, 'm2'), { id: 5, name: 'm2', v: -1 }] });
  w1.receive({ topic: 'm3', gpss: opened.gpss, payload: batch(150, 200, 'm3') });
  await out.out2.wait(2, 60000);
  await out.err1.wait(1, 60000);
  assert.deepEqual(out.out2.msgs.map((m) => m.topic), ['m1', 'm3']);
  assert.equal(out.err1.msgs[0].topic, 'm2');
  assert.match(out.err1.msgs[0].error.message, /key \(id\)=\(5\) was already written in this job/);
  const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out.out3, 60000);
  assert.equal(closed.payload.errorCount, 0);
  const r = await S.query(
    pg.url,
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE name = 'second')::int AS second, count(*) FILTER (WHERE name = 'm2')::int AS m2,
            count(*) FILTER (WHERE name = 'm3')::int AS m3, count(DISTINCT gp_segment_id)::int AS segs FROM keyed`,
  );
  assert.deepEqual(r.rows[0], { n: 150, second: 10, m2: 0, m3: 50, segs: 2 });
});
