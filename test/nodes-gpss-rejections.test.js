'use strict';
// The delivery guarantee for rows the server rejects under an error limit, and for upserts,
// in the real Node-RED runtime against real gpss-pg servers and PostgreSQL:
// - gpss-pg names rejected rows (ErrorRows "row N: reason"): the messages holding them go to
//   Catch with their rejected rows; the others are acknowledged;
// - gpss-pg --error-rows none (counts only, like a GPSS that does not fill ErrorRows): every
//   message of the commit goes on with msg.gpss.rejected, one warning per commit, the status;
// - job mode: gpss-close reports the counts and the parsed rows, warns and shows them;
// - Merge/Update: rows with the same key in one commit collapse to the last before writing;
//   in job mode (the job is the commit) a later message repeating a key goes to Catch whole.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');
const { startGpssServer } = require('../dist/gpss-server');

const pg = usePostgres();
let named; // gpss-pg naming rejected rows (the default)
let countsOnly; // gpss-pg --error-rows none
const serverLog = [];

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE readings (id int4 NOT NULL, day date, note text)');
  await S.query(pg.url, 'CREATE TABLE kv (k int4 PRIMARY KEY, val text)');
  const common = { listen: '127.0.0.1:0', databaseUrl: pg.url, allowHosts: [`${pg.host}:${pg.port}`] };
  named = await startGpssServer({ ...common, log: (l) => serverLog.push(l) });
  countsOnly = await startGpssServer({ ...common, errorRows: 'none' });
});
after(async () => {
  if (named) await named.stop();
  if (countsOnly) await countsOnly.stop();
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

function streamFlow(port, w = {}) {
  return [
    ...S.configNodes(pg, { gpssPort: port }),
    S.flowNode({
      id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'readings', mode: 'insert', errorLimitCount: 10,
      commitRows: 3, commitInterval: 60000, maxRetries: 0, ...w, wires: [['out1']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'done1', type: 'complete', scope: ['w1'], uncaught: false, wires: [['doneOut']] }),
    S.flowNode({ id: 'doneOut', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

const warnings = (id) =>
  S.helper
    .log()
    .args.map((a) => a[0])
    .filter((e) => e && e.level === S.helper.log().WARN && e.id === id)
    .map((e) => String(e.msg));
const statusTexts = (id) => S.statusCalls().filter((c) => c.id === id).map((c) => c.status && c.status.text).filter(Boolean);

test('stream, server names the rejected rows: their messages go to Catch with rows and reasons; the others are acknowledged', async () => {
  await S.query(pg.url, 'TRUNCATE readings');
  await S.helper.load(S.NODES, streamFlow(named.port), S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const doneOut = S.collect(S.helper.getNode('doneOut'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  // One commit of 3 rows: message a is fine, message b's second row has an impossible date.
  w1.receive({ topic: 'a', payload: { id: 1, day: '2024-01-31', note: 'good' } });
  w1.receive({ topic: 'b', payload: [{ id: 2, day: '2024-02-01' }, { id: 3, day: '2024-13-45', note: 'bad date' }] });
  const [e] = await errs.wait(1);
  await out.wait(1);
  await S.sleep(200); // nothing else may arrive
  assert.deepEqual(out.msgs.map((m) => m.topic), ['a'], 'only the message without rejected rows goes on');
  assert.equal(e.topic, 'b');
  assert.match(e.error.message, /1 row of this message rejected/);
  assert.match(e.error.message, /row 1: column "day": .*2024-13-45/);
  assert.deepEqual(e.payload[1], { id: 3, day: '2024-13-45', note: 'bad date' }, 'the message keeps its rows');
  assert.equal(e.gpss.rejectedRows.length, 1);
  assert.equal(e.gpss.rejectedRows[0].index, 1, "the row's index in msg.payload");
  assert.match(e.gpss.rejectedRows[0].reason, /^column "day": .*date/);
  assert.deepEqual(doneOut.msgs.map((m) => m.topic), ['a'], 'Complete fires for the acknowledged message only');
  const r = await S.query(pg.url, 'SELECT id FROM readings ORDER BY id');
  assert.deepEqual(r.rows.map((x) => x.id), [1, 2], 'the commit kept the good rows, including those of message b');
  await S.until(() => statusTexts('w1').some((t) => /committed 2, 1 rejected/.test(t)), 5000);
});

test('stream, server gives counts only: every message of the commit goes on with msg.gpss.rejected, one warning per commit, status', async () => {
  await S.query(pg.url, 'TRUNCATE readings');
  await S.helper.load(S.NODES, streamFlow(countsOnly.port, { commitRows: 2 }), S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  w1.receive({ topic: 'a', payload: { id: 1, day: '2024-01-31' } });
  w1.receive({ topic: 'b', payload: { id: 2, day: '2024-13-45' }, gpss: { mine: true } });
  await out.wait(2);
  assert.deepEqual(out.msgs.map((m) => [m.topic, m.gpss.rejected]), [['a', 1], ['b', 1]]);
  assert.equal(out.msgs[1].gpss.mine, true, 'msg.gpss keeps what it had');
  assert.equal(errs.msgs.length, 0);
  assert.equal(await S.count(pg.url, 'readings'), 1);
  // A second commit with two rejected rows: a second warning, the status counts 3 (and 1 row committed).
  w1.receive({ topic: 'c', payload: [{ id: 3, day: 'soon' }, { id: 4, day: 'never' }] });
  await out.wait(3);
  assert.equal(out.msgs[2].gpss.rejected, 2);
  const warned = warnings('w1');
  assert.equal(warned.length, 2, warned.join(' | '));
  assert.match(warned[0], /rejected 1 of 2 rows .*did not name the rejected rows.*msg\.gpss\.rejected = 1/);
  assert.match(warned[1], /rejected 2 of 2 rows/);
  await S.until(() => statusTexts('w1').some((t) => /committed 1, 3 rejected/.test(t)), 5000);
});

function jobFlow(port, maxErrorRows) {
  return [
    ...S.configNodes(pg, { gpssPort: port }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'readings', mode: 'insert', errorLimitCount: 10, wires: [['out1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['out2']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', maxErrorRows, wires: [['out3']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'out2', type: 'helper' }),
    S.flowNode({ id: 'out3', type: 'helper' }),
  ];
}

/** Loads a job flow (c1 → out1, w1 → out2, cl1 → out3, maybe err1) and opens the job. */
async function startJob(flow) {
  await S.helper.load(S.NODES, flow, S.credentials(pg.password));
  const out = Object.fromEntries(['out1', 'out2', 'out3', 'err1'].filter((id) => S.helper.getNode(id)).map((id) => [id, S.collect(S.helper.getNode(id))]));
  const opened = await S.roundTrip(S.helper.getNode('c1'), {}, out.out1);
  return { out, opened, w1: S.helper.getNode('w1') };
}

for (const [label, server, maxErrorRows] of [['names the rows', () => named, -1], ['counts only', () => countsOnly, -1], ['names the rows, max error rows 0', () => named, 0]]) {
  test(`job mode, server ${label}: gpss-close reports the counts and the parsed rows, warns and shows the rejected count`, async () => {
    await S.query(pg.url, 'TRUNCATE readings');
    const { out: { out2, out3 }, opened, w1 } = await startJob(jobFlow(server().port, maxErrorRows));
    w1.receive({ gpss: opened.gpss, payload: [{ id: 1, day: '2024-01-01' }, { id: 2, day: '2024-13-45' }] });
    w1.receive({ gpss: opened.gpss, payload: [{ id: 3, day: '2024-01-03' }] });
    w1.receive({ gpss: opened.gpss, payload: [{ id: 4, day: 'yesterday-ish' }] });
    await out2.wait(3);
    const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out3);
    assert.equal(closed.payload.successCount, 2);
    assert.equal(closed.payload.errorCount, 2);
    const listed = server() === named && maxErrorRows !== 0;
    if (listed) {
      // Positions in the job's load, 1-based, in the order the rows were written.
      assert.deepEqual(closed.payload.errorRows.map((e) => e.row), [2, 4]);
      assert.match(closed.payload.errorRows[0].reason, /^column "day": .*2024-13-45/);
      assert.match(closed.payload.errorRows[1].reason, /yesterday-ish/);
    } else {
      assert.deepEqual(closed.payload.errorRows, []);
    }
    assert.equal(await S.count(pg.url, 'readings'), 2);
    const warned = warnings('cl1');
    assert.equal(warned.length, 1, warned.join(' | '));
    assert.match(warned[0], /committed 2 rows; the server rejected 2/);
    if (listed) assert.match(warned[0], /row 2: column "day"/);
    else assert.match(warned[0], /2 not named/);
    if (maxErrorRows === 0) assert.match(warned[0], /max error rows/);
    await S.until(() => statusTexts('cl1').some((t) => /committed 2, 2 rejected/.test(t)), 5000);
  });
}

for (const mode of ['merge', 'update']) {
  test(`stream ${mode}: the same key twice in one commit → the last value in the table, written once; every message acknowledged`, async () => {
    await S.query(pg.url, 'TRUNCATE kv');
    await S.query(pg.url, "INSERT INTO kv VALUES (1, 'old'), (2, 'old')");
    await S.helper.load(
      S.NODES,
      [
        ...S.configNodes(pg, { gpssPort: named.port }),
        S.flowNode({
          id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'kv', mode, matchColumns: 'k', updateColumns: 'val',
          commitRows: 4, commitInterval: 60000, maxRetries: 0, wires: [['out1']],
        }),
        S.flowNode({ id: 'out1', type: 'helper' }),
      ],
      S.credentials(pg.password),
    );
    const out = S.collect(S.helper.getNode('out1'));
    const w1 = S.helper.getNode('w1');
    serverLog.length = 0;
    w1.receive({ topic: 'm1', payload: { k: 1, val: 'first' } });
    w1.receive({ topic: 'm2', payload: [{ k: 2, val: 'two' }, { k: '1', val: 'second' }] });
    w1.receive({ topic: 'm3', payload: { k: 1, val: 'last' } });
    await out.wait(3);
    assert.deepEqual(out.msgs.map((m) => m.topic), ['m1', 'm2', 'm3']);
    const r = await S.query(pg.url, 'SELECT k, val FROM kv ORDER BY k');
    assert.deepEqual(r.rows, [{ k: 1, val: 'last' }, { k: 2, val: 'two' }]);
    // The commit carried one row per key: the collapse happened before writing, on any server.
    const line = serverLog.find((l) => l.includes(`${mode} "public"."kv"`));
    assert.ok(line, serverLog.join('\n'));
    assert.match(line, / 2 received /);
  });
}

// Job mode: the job is the commit, and its rows are written as messages arrive. Rows of one
// message collapse by key; a message repeating a key an earlier message wrote goes to Catch
// whole (key-index.ts), so the server sees each key once per job, whatever server it is.
function keyedJobFlow(mode, c = {}) {
  return [
    ...S.configNodes(pg, { gpssPort: named.port }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'kv', mode, matchColumns: 'k', updateColumns: 'val', ...c, wires: [['out1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['out2']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', wires: [['out3']] }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    ...['out1', 'out2', 'out3', 'err1'].map((id) => S.flowNode({ id, type: 'helper' })),
  ];
}

async function openKeyedJob(mode, c) {
  await S.query(pg.url, 'TRUNCATE kv');
  await S.query(pg.url, "INSERT INTO kv VALUES (1, 'old'), (2, 'old'), (3, 'old')");
  return startJob(keyedJobFlow(mode, c));
}

for (const mode of ['merge', 'update']) {
  test(`job ${mode}: a key repeated in a later message sends that message to Catch whole; within a message the last row wins`, async () => {
    const { out, opened, w1 } = await openKeyedJob(mode);
    serverLog.length = 0;
    w1.receive({ topic: 'm1', gpss: opened.gpss, payload: { k: 1, val: 'first' } });
    w1.receive({ topic: 'm2', gpss: opened.gpss, payload: [{ k: 2, val: 'two' }, { k: '1', val: 'again' }] });
    w1.receive({ topic: 'm3', gpss: opened.gpss, payload: [{ k: 3, val: 'x' }, { k: 3, val: 'y' }] });
    w1.receive({ topic: 'm4', gpss: opened.gpss, payload: { k: 2, val: 'two-b' } });
    await out.out2.wait(3);
    await out.err1.wait(1);
    assert.deepEqual(out.out2.msgs.map((m) => m.topic), ['m1', 'm3', 'm4']);
    const caught = out.err1.msgs[0];
    assert.equal(caught.topic, 'm2');
    assert.match(caught.error.message, /key \(k\)=\(1\) was already written in this job; Merge\/Update in job mode updates a key once per job — commit in between .* or use stream mode/);
    const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out.out3);
    assert.equal(closed.payload.errorCount, 0);
    // m2 wrote nothing (k 2 is m4's), m3 wrote its last row, and the job wrote 3 rows for 3 keys.
    const r = await S.query(pg.url, 'SELECT k, val FROM kv ORDER BY k');
    assert.deepEqual(r.rows, [{ k: 1, val: 'first' }, { k: 2, val: 'two-b' }, { k: 3, val: 'y' }]);
    const line = serverLog.find((l) => l.includes(`${mode} "public"."kv"`));
    assert.ok(line, serverLog.join('\n'));
    assert.match(line, / 3 received /);
    assert.equal(out.err1.msgs.length, 1);
  });
}

test('job merge: past gpss-connect\'s key check limit the check stops with one warning and a status; later rows are written', async () => {
  const { out, opened, w1 } = await openKeyedJob('merge', { keyLimit: 1 });
  w1.receive({ topic: 'm1', gpss: opened.gpss, payload: { k: 1, val: 'first' } });
  w1.receive({ topic: 'm2', gpss: opened.gpss, payload: { k: 2, val: 'two' } });
  w1.receive({ topic: 'm3', gpss: opened.gpss, payload: { k: 1, val: 'last' } });
  w1.receive({ topic: 'm4', gpss: opened.gpss, payload: { k: 1, val: 'later' } });
  await out.out2.wait(4);
  assert.equal(out.err1.msgs.length, 0);
  const warned = warnings('c1');
  assert.equal(warned.length, 1, warned.join(' | '));
  assert.match(warned[0], /load job on public\.kv: the check for repeated Merge\/Update keys stopped at 1 keys/);
  await S.until(() => statusTexts('c1').some((t) => /key check stopped at 1 keys/.test(t)), 5000);
  await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out.out3);
  // Unchecked, the repeated key is up to the server: gpss-pg keeps the last row.
  const r = await S.query(pg.url, 'SELECT k, val FROM kv ORDER BY k');
  assert.deepEqual(r.rows, [{ k: 1, val: 'later' }, { k: 2, val: 'two' }, { k: 3, val: 'old' }]);
});

test('job insert: no key check; the same values in several messages are all written', async () => {
  await S.query(pg.url, 'TRUNCATE readings');
  const { out: { out2, out3 }, opened, w1 } = await startJob(jobFlow(named.port, -1));
  w1.receive({ gpss: opened.gpss, payload: [{ id: 1, note: 'a' }, { id: 1, note: 'a' }] });
  w1.receive({ gpss: opened.gpss, payload: { id: 1, note: 'a' } });
  await out2.wait(2);
  const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out3);
  assert.equal(closed.payload.successCount, 3);
  assert.equal(await S.count(pg.url, 'readings'), 3);
});
