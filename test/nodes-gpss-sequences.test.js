'use strict';
// Message sequences (msg.parts) through the gpss nodes, in the real Node-RED runtime with the
// core split node, against a real gpss-pg and PostgreSQL:
//  - gpss-connect → split → gpss-write (job, "commit at the end of the sequence"): the part that
//    completes the count commits the job; a failed part goes to Catch and does not hold it open;
//  - gpss-connect → split → gpss-write (job) → gpss-close ("wait for every part"): one close,
//    after every part; an unfinished sequence is aborted after the timeout, error to Catch;
//  - gpss-write's tick output: one { tick: true } per message, held back while the buffer is full.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { coreNode } = require('./support/node-red-runtime');
const S = require('./support/gpss-nodes');

const SPLIT = coreNode('sequence/17-split.js');
const pg = usePostgres();
let server;

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE seq (id int4, name text, v float8)');
  await S.query(pg.url, 'CREATE TABLE paced (id int4, name text)');
  server = await S.startServer(pg);
});
after(async () => {
  if (server) await server.stop();
  await S.query(pg.serverUrl, `DROP DATABASE IF EXISTS ${pg.database} WITH (FORCE)`).catch(() => {});
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

const rows = (n, from = 0) => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `r${from + i}`, v: (from + i) / 2 }));

/** inject → gpss-connect → split (100 rows per part) → gpss-write (job) [→ gpss-close]. */
function etlFlow(write = {}, close = null) {
  return [
    ...S.configNodes(pg, { gpssPort: server.port }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'seq', tableType: 'str', mode: 'insert', wires: [['sp1']] }),
    S.flowNode({ id: 'sp1', type: 'split', splt: '\\n', spltType: 'str', arraySplt: 100, arraySpltType: 'len', stream: false, addname: '', wires: [['w1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', ...write, wires: [close ? ['cl1', 'out2'] : ['out2']] }),
    S.flowNode({ id: 'out2', type: 'helper' }),
    ...(close ? [S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', ...close, wires: [['out3']] }), S.flowNode({ id: 'out3', type: 'helper' })] : []),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

test('split → gpss-write (job, commit at the end of the sequence): the last part commits; a failed part does not hold the job open', async () => {
  await S.query(pg.url, 'TRUNCATE seq');
  await S.helper.load([...S.NODES, SPLIT], etlFlow({ commitOnSequenceEnd: true }), S.credentials(pg.password));
  const out2 = S.collect(S.helper.getNode('out2'));
  const errs = S.collect(S.helper.getNode('err1'));
  const payload = rows(1000);
  payload[450] = { id: 450, v: 'not a number' }; // part 4 fails to Catch
  S.helper.getNode('c1').receive({ payload, corr: 'abc' });
  await out2.wait(9, 60000);
  const [e] = await errs.wait(1);
  assert.match(e.error.message, /\bv\b/);
  assert.equal(e.parts.index, 4);
  const last = out2.msgs.find((m) => m.gpss.closed);
  assert.ok(last, 'the part completing the sequence carries msg.gpss.closed');
  assert.equal(out2.msgs.filter((m) => m.gpss.closed).length, 1);
  assert.deepEqual(last.gpss.closed, { successCount: 900, errorCount: 0, errorRows: [] });
  assert.equal(last.corr, 'abc', 'message properties travel with the parts');
  assert.equal(await S.count(pg.url, 'seq'), 900);
});

test('split → gpss-write (job) → gpss-close (wait for every part): one close, after all parts were written', async () => {
  await S.query(pg.url, 'TRUNCATE seq');
  await S.helper.load([...S.NODES, SPLIT], etlFlow({}, { waitForSequence: true, sequenceTimeout: 30 }), S.credentials(pg.password));
  const out2 = S.collect(S.helper.getNode('out2'));
  const out3 = S.collect(S.helper.getNode('out3'));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('c1').receive({ payload: rows(2500) });
  const [closed] = await out3.wait(1, 60000);
  assert.equal(out2.msgs.length, 25, 'every part was written before the close');
  assert.deepEqual(closed.payload, { successCount: 2500, errorCount: 0, errorRows: [] });
  assert.equal(await S.count(pg.url, 'seq'), 2500);
  await S.sleep(300);
  assert.equal(out3.msgs.length, 1, 'exactly one close for the sequence');
  assert.deepEqual(errs.msgs, []);
});

test('gpss-close (wait for every part): a sequence that stops short is aborted after the timeout, error to Catch', async () => {
  await S.query(pg.url, 'TRUNCATE seq');
  await S.helper.load([...S.NODES, SPLIT], etlFlow({}, { waitForSequence: true, sequenceTimeout: 1 }), S.credentials(pg.password));
  const out2 = S.collect(S.helper.getNode('out2'));
  const out3 = S.collect(S.helper.getNode('out3'));
  const errs = S.collect(S.helper.getNode('err1'));
  const payload = rows(300);
  payload[150] = { id: 150, v: 'not a number' }; // part 1 fails in gpss-write and never reaches gpss-close
  S.helper.getNode('c1').receive({ payload });
  await out2.wait(2, 30000);
  const caught = await errs.wait(2, 10000);
  const timeout = caught.find((m) => /sequence .* stopped at 2 of 3 parts/.test(m.error.message));
  assert.ok(timeout, JSON.stringify(caught.map((m) => m.error.message)));
  assert.match(timeout.error.message, /aborted/);
  assert.equal(out3.msgs.length, 0, 'no close was reported');
  assert.equal(await S.count(pg.url, 'seq'), 0, 'nothing of the partial load is committed');
});

test('gpss-write tick output: one { tick: true } per message, held while the buffer has no room', async () => {
  await S.query(pg.url, 'TRUNCATE paced');
  const flow = [
    ...S.configNodes(pg, { gpssPort: server.port }),
    S.flowNode({
      id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'paced', tableType: 'str', mode: 'insert',
      commitRows: 100000, commitInterval: 1500, bufferRows: 250, bufferMb: 16, tickOutput: true, outputs: 2, wires: [['out1'], ['ticks']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'ticks', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, flow, S.credentials(pg.password));
  const out1 = S.collect(S.helper.getNode('out1'));
  const ticks = S.collect(S.helper.getNode('ticks'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  const batch = (b) => Array.from({ length: 100 }, (_, i) => ({ id: b * 100 + i, name: 'x' }));
  w1.receive({ payload: batch(0) });
  await ticks.wait(1, 20000);
  assert.deepEqual(ticks.msgs[0], { tick: true, _msgid: ticks.msgs[0]._msgid });
  w1.receive({ payload: batch(1) });
  // 200 rows held, limit 250: no room for another 100 until the interval commit.
  await S.sleep(400);
  assert.equal(ticks.msgs.length, 1, 'the second tick waits for room in the buffer');
  assert.equal(out1.msgs.length, 0);
  await ticks.wait(2, 20000);
  assert.ok(out1.msgs.length >= 1 || (await S.count(pg.url, 'paced')) === 200, 'the tick came after the commit freed the buffer');
  assert.equal(await S.count(pg.url, 'paced'), 200);
  assert.deepEqual(errs.msgs, []);
});
