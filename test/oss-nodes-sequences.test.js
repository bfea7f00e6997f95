'use strict';
// oss-import's messages target as a Node-RED sequence, in the real runtime with the real ali-oss
// against the OSS emulator, and with gpss-pg on PostgreSQL downstream:
//  - every batch is a shallow copy of the request (its properties survive), with msg.parts nested
//    over the request's own parts, parts.count and msg.complete on the last batch only;
//  - a failure in the middle of the stream goes to Catch and no batch claims to be the last;
//  - gpss-connect → oss-import → gpss-write (job, commit at the end of the sequence);
//  - gpss-write's tick output paces oss-import ("wait for msg.tick") through a buffer smaller
//    than two batches: every row loaded, no "buffer full".
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { useOssEmulator } = require('./support/oss');
const { usePostgres } = require('./support/pg');
const { accountDef } = require('./support/oss-nodes');
const S = require('./support/gpss-nodes');

const importNode = require('../dist/nodes/oss-import.js');
const accountNode = require('../dist/nodes/oss-account.js');

const oss = useOssEmulator({ buckets: ['seq-bucket'] });
const pg = usePostgres();
let server;

const exportNodeModule = require('../dist/nodes/oss-export.js');
const NODES = [...S.NODES, accountNode, importNode, exportNodeModule];
const csv = (from, n) => Array.from({ length: n }, (_, i) => `${from + i},r${from + i}\n`).join('');

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE imported (id int4, name text)');
  server = await S.startServer(pg);
  const client = oss.client({ bucket: 'seq-bucket' });
  // 2,500 rows in three objects (seq/), and one object of 1,500 rows (one/).
  await client.put('seq/a.csv', Buffer.from(csv(0, 1000)));
  await client.put('seq/b.csv', Buffer.from(csv(1000, 1000)));
  await client.put('seq/c.csv', Buffer.from(csv(2000, 500)));
  await client.put('one/a.csv', Buffer.from(csv(0, 1500)));
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

const creds = () => ({ acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret }, db1: { password: pg.password } });

function importFlow(imp, rest = []) {
  return [
    ...S.configNodes(pg, { gpssPort: server.port }),
    { ...accountDef(oss), bucket: 'seq-bucket' },
    S.flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', target: 'messages', format: 'csv', rowShape: 'object', columns: 'id,name', ...imp }),
    S.flowNode({ id: 'stats1', type: 'helper' }),
    S.flowNode({ id: 'rows1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
    ...rest,
  ];
}

test('oss-import batches are a sequence: request properties survive, parts nest over the incoming parts, count and complete on the last', async () => {
  await S.helper.load(NODES, importFlow({ prefix: 'seq/', batchSize: 1000, wires: [['stats1'], ['rows1']] }), creds());
  const rows = S.collect(S.helper.getNode('rows1'));
  const stats = S.collect(S.helper.getNode('stats1'));
  const outer = { id: 'outer-seq', index: 2, count: 5, type: 'array', len: 1 };
  S.helper.getNode('imp1').receive({ payload: 'go', corr: 'c-42', gpss: { job: 'job-x' }, parts: outer, complete: true });
  await stats.wait(1, 30000);
  const got = rows.msgs;
  assert.equal(got.length, 3);
  assert.equal(new Set(got.map((m) => m.parts.id)).size, 1, 'one sequence id');
  assert.notEqual(got[0].parts.id, outer.id);
  got.forEach((m, i) => {
    assert.equal(m.corr, 'c-42');
    assert.deepEqual(m.gpss, { job: 'job-x' });
    assert.equal(m.parts.index, i);
    assert.deepEqual(m.parts.parts, outer, 'the request\'s parts are kept under parts.parts');
    const last = i === got.length - 1;
    assert.equal(m.parts.count, last ? 3 : undefined);
    assert.equal(m.complete, last ? true : undefined);
  });
  assert.deepEqual(got[2].payload[0], { id: '2000', name: 'r2000' });
  assert.equal(got.reduce((n, m) => n + m.payload.length, 0), 2500);
});

test('oss-import: a failure in the middle of the stream goes to Catch and no batch claims to be the last', async () => {
  await S.helper.load(NODES, importFlow({ batchSize: 500, parallel: 1, wires: [['stats1'], ['rows1']] }), creds());
  const rows = S.collect(S.helper.getNode('rows1'));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('imp1').receive({ keys: ['one/a.csv', 'one/missing.csv'], corr: 'k' });
  const [e] = await errs.wait(1, 30000);
  assert.match(e.error.message, /missing\.csv|NoSuchKey|not exist/i);
  await S.sleep(200);
  assert.ok(rows.msgs.length >= 1, 'batches of the first object were sent before the failure');
  for (const m of rows.msgs) {
    assert.equal(m.parts.count, undefined, 'no batch carries parts.count');
    assert.equal(m.complete, undefined, 'no batch is marked complete');
  }
});

test('gpss-connect → oss-import → gpss-write (job, commit at the end of the sequence): the last batch commits the job', async () => {
  await S.query(pg.url, 'TRUNCATE imported');
  const flow = importFlow({ prefix: 'seq/', batchSize: 700, wires: [['stats1'], ['w1']] }, [
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'imported', tableType: 'str', mode: 'insert', wires: [['imp1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', commitOnSequenceEnd: true, wires: [['out2']] }),
    S.flowNode({ id: 'out2', type: 'helper' }),
  ]);
  await S.helper.load(NODES, flow, creds());
  const out2 = S.collect(S.helper.getNode('out2'));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('c1').receive({ payload: 'go' });
  await out2.wait(4, 30000);
  assert.deepEqual(errs.msgs.map((m) => m.error.message), []);
  const closed = out2.msgs.filter((m) => m.gpss.closed);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].parts.count, 4);
  assert.deepEqual(closed[0].gpss.closed, { successCount: 2500, errorCount: 0, errorRows: [] });
  assert.equal(await S.count(pg.url, 'imported'), 2500);
});

for (const pacing of ['tick', 'yield']) {
  test(`oss-import → gpss-write (stream, buffer of 1,500 rows) with pacing "${pacing}"${pacing === 'tick' ? ': the tick output paces the import, every row loaded' : ': without the loop the buffer overflows'}`, async () => {
    await S.query(pg.url, 'TRUNCATE imported');
    const flow = importFlow({ prefix: 'seq/', batchSize: 1000, pacing, inflight: 1, wires: [['stats1'], ['w1']] }, [
      S.flowNode({
        id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'imported', tableType: 'str', mode: 'insert',
        commitRows: 1000, commitInterval: 100, bufferRows: 1500, bufferMb: 16, tickOutput: true, outputs: 2, wires: [['out2'], pacing === 'tick' ? ['imp1'] : []],
      }),
      S.flowNode({ id: 'out2', type: 'helper' }),
    ]);
    await S.helper.load(NODES, flow, creds());
    const errs = S.collect(S.helper.getNode('err1'));
    const stats = S.collect(S.helper.getNode('stats1'));
    S.helper.getNode('imp1').receive({ payload: 'go' });
    if (pacing === 'tick') {
      await stats.wait(1, 30000);
      await S.until(async () => (await S.count(pg.url, 'imported')) === 2500, 20000);
      assert.deepEqual(errs.msgs.map((m) => m.error.message), []);
    } else {
      const [e] = await errs.wait(1, 30000);
      assert.match(e.error.message, /buffer full/);
    }
  });
}

test('oss-import waiting for msg.tick for more than a second says so in its status', async () => {
  await S.helper.load(NODES, importFlow({ prefix: 'seq/', batchSize: 500, pacing: 'tick', inflight: 1, wires: [['stats1'], ['rows1']] }), creds());
  const rows = S.collect(S.helper.getNode('rows1'));
  S.helper.getNode('imp1').receive({ payload: 'go' });
  await rows.wait(1, 30000);
  const texts = () => S.statusCalls().filter((c) => c.id === 'imp1').map((c) => c.status && c.status.text);
  await S.sleep(300);
  assert.ok(!texts().some((t) => /waiting/i.test(t)), 'not before a second');
  await S.until(() => texts().some((t) => /waiting for msg\.tick|waitingTick/.test(t)), 5000);
  assert.equal(rows.msgs.length, 1, 'still only one batch out');
});

// ---- oss-export (messages): names from a template, msg.prefix, object closed at the end of a sequence



async function listKeys(prefix) {
  const r = await oss.client({ bucket: 'seq-bucket' }).listV2({ prefix, 'max-keys': 1000 });
  return (r.objects || []).map((o) => o.name).sort();
}

function exportFlow(exp) {
  return [
    ...S.configNodes(pg, { gpssPort: server.port }),
    { ...accountDef(oss), bucket: 'seq-bucket' },
    S.flowNode({
      id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'id,name', objectName: 'rows', format: 'csv',
      compression: 0, objectSizeMB: 64, rollSeconds: 3600, ...exp, wires: [['out1']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'done1', type: 'complete', scope: ['exp1'], uncaught: false, wires: [['completed1']] }),
    S.flowNode({ id: 'completed1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

const pad = (n) => String(n).padStart(2, '0');
const hourPrefix = (d) => `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`;

test('oss-export (messages): time parts in the prefix and name are filled in when each object opens; msg.prefix is honoured', async () => {
  await S.helper.load(NODES, exportFlow({ prefix: 'tpl/{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/', objectName: 'rows-{{mm}}' }), creds());
  const exp = S.helper.getNode('exp1');
  const completed = S.collect(S.helper.getNode('completed1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const before = new Date();
  exp.receive({ payload: [[1, 'a']] });
  exp.receive({ payload: [[2, 'b']] });
  // Another prefix closes the open object first; this one has time parts of its own.
  exp.receive({ payload: [[3, 'c']], prefix: 'other/{{yyyy}}/' });
  exp.receive({ topic: 'flush' });
  await completed.wait(4, 30000);
  const after = new Date();
  assert.deepEqual(errs.msgs.map((m) => m.error.message), []);
  const tpl = await listKeys('tpl/');
  assert.equal(tpl.length, 1, JSON.stringify(tpl));
  const okPrefix = [hourPrefix(before), hourPrefix(after)].map((p) => `tpl/${p}`);
  assert.ok(okPrefix.some((p) => tpl[0].startsWith(p)), `${tpl[0]} is under ${okPrefix[0]}`);
  assert.match(tpl[0], /\/rows-\d{2}_\d{8}T\d{6}_00000\.csv$/);
  const stamp = tpl[0].match(/_(\d{8}T\d{6})_/)[1];
  const compact = (d) => d.toISOString().replace(/[-:]/g, '').slice(0, 15);
  assert.ok(stamp >= compact(before) && stamp <= compact(after), 'the object is named with the time it opened, not the deploy time');
  const other = await listKeys('other/');
  assert.equal(other.length, 1);
  assert.ok(other[0].startsWith(`other/${after.getUTCFullYear()}/rows-`), other[0]);
  const body = (await oss.client({ bucket: 'seq-bucket' }).get(other[0])).content.toString();
  assert.equal(body, '3,c\n');
  assert.equal((await oss.client({ bucket: 'seq-bucket' }).get(tpl[0])).content.toString(), '1,a\n2,b\n');
});

test('oss-export (messages): an unknown time part is refused at deploy, naming it', async () => {
  await S.helper.load(NODES, exportFlow({ prefix: 'bad/{{YYYY}}/' }), creds());
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('exp1').receive({ payload: [[1, 'a']] });
  const [e] = await errs.wait(1, 10000);
  assert.match(e.error.message, /unknown time part \{\{YYYY\}\} in prefix/);
});

test('split → oss-export (close the object when a sequence ends): one object per sequence, its messages complete without a flush', async () => {
  const SPLIT = require('./support/node-red-runtime').coreNode('sequence/17-split.js');
  const flow = exportFlow({ prefix: 'seqend/', rollOnSequenceEnd: true, wires: [['out1']] });
  flow.push(S.flowNode({ id: 'sp1', type: 'split', splt: '\\n', spltType: 'str', arraySplt: 2, arraySpltType: 'len', stream: false, addname: '', wires: [['exp1']] }));
  await S.helper.load([...NODES, SPLIT], flow, creds());
  const completed = S.collect(S.helper.getNode('completed1'));
  S.helper.getNode('sp1').receive({ payload: [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd'], [5, 'e']] });
  await completed.wait(3, 30000);
  let keys = await listKeys('seqend/');
  assert.equal(keys.length, 1, 'the sequence\'s object was uploaded without a flush');
  assert.equal((await oss.client({ bucket: 'seq-bucket' }).get(keys[0])).content.toString(), '1,a\n2,b\n3,c\n4,d\n5,e\n');
  S.helper.getNode('sp1').receive({ payload: [[6, 'f'], [7, 'g']] });
  await completed.wait(4, 30000);
  keys = await listKeys('seqend/');
  assert.equal(keys.length, 2, 'a second sequence, a second object');
});
