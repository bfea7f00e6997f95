'use strict';
// gpss-write with large array payloads in the real Node-RED runtime against gpss-pg and
// PostgreSQL: a large payload is encoded in slices (that it yields is proven in
// nodes-gpss-slices.test.js) and messages keep their order behind it, in stream mode and in job
// mode; a bad row in a large payload fails that message only, naming the row.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');

const pg = usePostgres();
const BIG = 60000;

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE big_stream (id int4 NOT NULL, name text)');
  await S.query(pg.url, 'CREATE TABLE big_job (id int4 NOT NULL, name text)');
});
after(async () => {
  await S.query(pg.serverUrl, `DROP DATABASE IF EXISTS ${pg.database} WITH (FORCE)`).catch(() => {});
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

const rows = (n, from = 0) => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `r${from + i}` }));

test('stream mode: a 60,000-row payload (encoded in slices) is passed on before a message sent after it; a bad row fails its message only', async () => {
  await S.helper.load(
    S.NODES,
    [
      ...S.configNodes(pg),
      S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'big_stream', commitRows: 100000, commitInterval: 200, wires: [['out']] }),
      S.flowNode({ id: 'out', type: 'helper' }),
      S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err']] }),
      S.flowNode({ id: 'err', type: 'helper' }),
    ],
    S.credentials(pg.password),
  );
  const out = S.collect(S.helper.getNode('out'));
  const errs = S.collect(S.helper.getNode('err'));
  const w1 = S.helper.getNode('w1');
  // Describe the table first (the first message waits for it anyway).
  await S.roundTrip(w1, { topic: 'warm-up', payload: { id: -1, name: 'warm-up' } }, out, 30000);
  w1.receive({ topic: 'big', payload: rows(BIG) });
  w1.receive({ topic: 'bad', payload: [...rows(3000, BIG + 10), { id: 'x', name: 'bad' }] });
  w1.receive({ topic: 'small', payload: { id: BIG, name: 'small' } });
  await out.wait(3, 60000);
  assert.deepEqual(out.msgs.map((m) => m.topic), ['warm-up', 'big', 'small'], 'messages passed on out of order');
  const [e] = await errs.wait(1);
  assert.match(e.error.message, /row 3000/);
  assert.equal(e.topic, 'bad');
  assert.equal(await S.count(pg.url, 'big_stream'), BIG + 2);
});

test('job mode: a 60,000-row payload and the small messages after it are written in order, then committed', async () => {
  await S.helper.load(
    S.NODES,
    [
      ...S.configNodes(pg),
      S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'big_job', tableType: 'str', mode: 'insert', wires: [['cout']] }),
      S.flowNode({ id: 'cout', type: 'helper' }),
      S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['out']] }),
      S.flowNode({ id: 'out', type: 'helper' }),
      S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', wires: [['closed']] }),
      S.flowNode({ id: 'closed', type: 'helper' }),
      S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err']] }),
      S.flowNode({ id: 'err', type: 'helper' }),
    ],
    S.credentials(pg.password),
  );
  const cout = S.collect(S.helper.getNode('cout'));
  const out = S.collect(S.helper.getNode('out'));
  const closed = S.collect(S.helper.getNode('closed'));
  const errs = S.collect(S.helper.getNode('err'));
  const opened = await S.roundTrip(S.helper.getNode('c1'), { payload: 'start' }, cout, 30000);
  const w1 = S.helper.getNode('w1');
  w1.receive({ gpss: opened.gpss, topic: 'big', payload: rows(BIG) });
  w1.receive({ gpss: opened.gpss, topic: 'small1', payload: { id: BIG, name: 'small' } });
  w1.receive({ gpss: opened.gpss, topic: 'small2', payload: [[BIG + 1, 'small']] });
  await out.wait(3, 60000);
  assert.deepEqual(out.msgs.map((m) => m.topic), ['big', 'small1', 'small2'], 'writes passed on out of order');
  const done = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, closed, 60000);
  assert.equal(done.payload.successCount, BIG + 2);
  assert.equal(errs.msgs.length, 0, JSON.stringify(errs.msgs.map((m) => m.error)));
  assert.equal(await S.count(pg.url, 'big_job'), BIG + 2);
});
