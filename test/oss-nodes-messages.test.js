'use strict';
// Messages modes of the OSS nodes in a real Node-RED runtime, with the real ali-oss against
// the OSS emulator:
//  - oss-export: 100,000 rows arriving in 100 messages roll into several gzip objects by
//    size; each message completes only after its object is uploaded; a flush message
//    uploads the rest; every row is in exactly one object, in order.
//  - oss-import: the objects come back as batches of N rows, every row exactly once, with
//    msg.parts; the stats message follows.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, credentials, flowNode, collect, TAB } = require('./support/oss-nodes');

const accountNode = require('../dist/nodes/oss-account.js');
const exportNode = require('../dist/nodes/oss-export.js');
const importNode = require('../dist/nodes/oss-import.js');

const oss = useOssEmulator({ buckets: ['msg-bucket'] });
const helper = useHelper();

const ROWS = 100000;
const PER_MSG = 1000;
const PAD = 'x'.repeat(30);

function rowsOf(m) {
  const out = [];
  for (let i = m * PER_MSG; i < (m + 1) * PER_MSG; i++) out.push({ id: i, name: `row ${i} "q", ${PAD}`, note: i % 7 === 0 ? null : `n\t${i}` });
  return out;
}

test('export: 100,000 rows in messages roll into objects by size; done only after upload; flush uploads the rest', async () => {
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({
      id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'id, name, note', prefix: 'msgs/', objectName: 'rows',
      format: 'csv', compression: 1, objectSizeMB: 1, partSizeMB: 1, parallelParts: 2, rollSeconds: 0, maxBufferMB: 64,
      wires: [['out1']],
    }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'done1', type: 'complete', scope: ['exp1'], wires: [['completed1']] }),
    flowNode({ id: 'completed1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: ['exp1'], wires: [['caught1']] }),
    flowNode({ id: 'caught1', type: 'helper' }),
  ];
  await helper.load([accountNode, exportNode], flow, credentials(oss));
  const exp = helper.getNode('exp1');
  const caught = [];
  helper.getNode('caught1').on('input', (m) => caught.push(m.error.message));
  const objectMsgs = [];
  let flushMsg = null;
  const flushed = new Promise((resolve) => {
    helper.getNode('out1').on('input', (m) => {
      if (m.topic === 'object') {
        objectMsgs.push(m.payload);
      } else {
        flushMsg = m;
        resolve();
      }
    });
  });
  // Objects that exist in the emulator right now (a completed multipart upload or a put).
  const storedKeys = () =>
    new Set(oss.emu.requests().filter((r) => r.status === 200 && (r.operation === 'CompleteMultipartUpload' || r.operation === 'PutObject') && r.key.startsWith('msgs/')).map((r) => r.key));
  const completions = [];
  const allDone = collect(helper.getNode('completed1'), ROWS / PER_MSG + 1);
  helper.getNode('completed1').on('input', (m) => completions.push({ m: m.m, stored: storedKeys() }));

  for (let m = 0; m < ROWS / PER_MSG; m++) exp.receive({ payload: rowsOf(m), m });
  // Before the flush, some objects are already uploaded by size and their messages completed.
  for (let t0 = Date.now(); objectMsgs.length < 2 && Date.now() - t0 < 30000; ) await new Promise((r) => setTimeout(r, 50));
  assert.ok(objectMsgs.length >= 2, `objects rolled by size before the flush: ${objectMsgs.length}`);
  assert.ok(completions.length < ROWS / PER_MSG, 'the messages of the open object are not complete yet');
  exp.receive({ topic: 'flush', m: 'flush' });
  await flushed;
  await allDone;
  assert.deepEqual(caught, []);

  // Every object ≤ 1 MiB of CSV plus at most one message; together they hold every row once, in order.
  // Uploads run concurrently, so object messages come in completion order; keys sort in write order.
  const all = [...objectMsgs].sort((a, b) => (a.objects[0].key < b.objects[0].key ? -1 : 1));
  assert.ok(all.length >= 4, `expected several objects, got ${all.length}`);
  const keys = all.map((p) => p.objects[0].key);
  // The first flush reports every object finished since the node started.
  assert.deepEqual(flushMsg.payload.objects.map((o) => o.key).sort(), keys);
  assert.equal(flushMsg.payload.rows, ROWS);
  for (const k of keys) assert.match(k, /^msgs\/rows_\d{8}T\d{6}_\d{5}\.csv\.gz$/);
  const client = oss.client({ bucket: 'msg-bucket' });
  let next = 0;
  const objectOfMessage = new Map();
  for (const p of all) {
    const o = p.objects[0];
    const got = await client.get(o.key);
    const body = got.content;
    assert.equal(body.length, o.bytes, `${o.key}: stored size`);
    assert.deepEqual([...body.subarray(0, 3)], [0x1f, 0x8b, 0x08], 'gzip magic');
    const text = zlib.gunzipSync(body).toString('utf8');
    assert.equal(body.readUInt32LE(body.length - 4), Buffer.byteLength(text) % 2 ** 32, 'one member: trailer ISIZE covers the whole object');
    assert.equal(p.bytesIn, Buffer.byteLength(text));
    assert.ok(p.bytesIn <= 1048576 + 100000, `${o.key} is ${p.bytesIn} bytes`);
    const lines = text.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, o.rows);
    for (const line of lines) {
      const id = Number(line.slice(0, line.indexOf(',')));
      assert.equal(id, next, `row ${next} in ${o.key}`);
      const mi = Math.floor(id / PER_MSG);
      assert.ok([undefined, o.key].includes(objectOfMessage.get(mi)), `message ${mi} spans two objects`);
      objectOfMessage.set(mi, o.key);
      next++;
    }
  }
  assert.equal(next, ROWS);
  // A message never spans two objects, and completed only once its object was stored.
  const completed = completions.filter((c) => typeof c.m === 'number');
  assert.equal(completed.length, ROWS / PER_MSG);
  for (const c of completed) {
    assert.ok(c.stored.has(objectOfMessage.get(c.m)), `message ${c.m} completed before ${objectOfMessage.get(c.m)} was stored`);
  }
  // CSV quoting and NULL: check one row of each kind.
  const first = zlib.gunzipSync((await client.get(keys[0])).content).toString().split('\n');
  assert.equal(first[0], `0,"row 0 ""q"", ${PAD}",`);
  assert.equal(first[1], `1,"row 1 ""q"", ${PAD}",n\t1`);
  const uploads = await oss.emu.listMultipartUploads('msg-bucket');
  assert.deepEqual(uploads, [], 'no dangling multipart uploads');
  exportedKeys = keys;
});

let exportedKeys = [];

test('import: the 100,000 exported rows come back as batches of 1,000, every row exactly once, in order', async () => {
  assert.ok(exportedKeys.length >= 4, 'needs the export test');
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', target: 'messages', prefix: 'msgs/', format: 'csv', batchSize: 1000, rowShape: 'object', columns: 'id,name,note', parallel: 2, wires: [['stats1'], ['rows1']] }),
    flowNode({ id: 'stats1', type: 'helper' }),
    flowNode({ id: 'rows1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: ['imp1'], wires: [['caught1']] }),
    flowNode({ id: 'caught1', type: 'helper' }),
  ];
  await helper.load([accountNode, importNode], flow, credentials(oss));
  const caught = [];
  helper.getNode('caught1').on('input', (m) => caught.push(m.error.message));
  let next = 0;
  let batches = 0;
  let lastParts = null;
  let heapPeak = 0;
  helper.getNode('rows1').on('input', (m) => {
    assert.equal(m.parts.index, batches);
    batches++;
    lastParts = m.parts;
    for (const row of m.payload) {
      assert.equal(row.id, String(next), 'rows in order, none twice, none missing');
      next++;
    }
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  });
  const stats = collect(helper.getNode('stats1'), 1, 120000);
  helper.getNode('imp1').receive({ payload: 'go' });
  const [s] = await stats;
  assert.deepEqual(caught, []);
  assert.equal(next, ROWS);
  assert.equal(batches, ROWS / 1000);
  assert.equal(lastParts.count, batches);
  assert.equal(s.payload.rows, ROWS);
  assert.deepEqual(s.payload.objects.map((o) => o.key), exportedKeys);
  assert.equal(s.payload.objects.reduce((a, o) => a + o.rows, 0), ROWS);
  // The first rows keep NULL vs text and the CSV quoting.
  assert.ok(heapPeak < 1024 * 1048576, `heap stayed bounded: ${Math.round(heapPeak / 1048576)} MB`);
});

test('export: closing the flow uploads the rows it holds and completes their messages', async () => {
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'a,b', prefix: 'onclose/', compression: 1, objectSizeMB: 64, rollSeconds: 3600, wires: [['out1']] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'done1', type: 'complete', scope: ['exp1'], wires: [['completed1']] }),
    flowNode({ id: 'completed1', type: 'helper' }),
  ];
  await helper.load([accountNode, exportNode], flow, credentials(oss));
  let completed = 0;
  helper.getNode('completed1').on('input', () => completed++);
  for (let i = 0; i < 10; i++) helper.getNode('exp1').receive({ payload: [[i, `v${i}`]] });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(completed, 0, 'nothing is complete while the object is open');
  const listedBefore = await oss.client({ bucket: 'msg-bucket' }).listV2({ prefix: 'onclose/' });
  assert.deepEqual(listedBefore.objects || [], []);
  await helper.unload();
  const listed = await oss.client({ bucket: 'msg-bucket' }).listV2({ prefix: 'onclose/' });
  assert.equal((listed.objects || []).length, 1, 'the open object was uploaded on close');
  const body = zlib.gunzipSync((await oss.client({ bucket: 'msg-bucket' }).get(listed.objects[0].name)).content).toString();
  assert.equal(body, Array.from({ length: 10 }, (_, i) => `${i},v${i}\n`).join(''));
  assert.deepEqual(await oss.emu.listMultipartUploads('msg-bucket'), []);
});

test('export: a row with an unknown column fails only that message, naming the column', async () => {
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'id,name', prefix: 'bad/', compression: 0, objectSizeMB: 1, rollSeconds: 0, wires: [['out1']] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: ['exp1'], wires: [['caught1']] }),
    flowNode({ id: 'caught1', type: 'helper' }),
  ];
  await helper.load([accountNode, exportNode], flow, credentials(oss));
  const caught = collect(helper.getNode('caught1'), 1);
  const out = collect(helper.getNode('out1'), 2);
  const exp = helper.getNode('exp1');
  exp.receive({ payload: [{ id: 1, name: 'a' }] });
  exp.receive({ payload: [{ id: 2, nmae: 'typo' }] });
  exp.receive({ payload: [[3, 'c']] });
  exp.receive({ flush: true });
  const [err] = await caught;
  assert.match(err.error.message, /"nmae", which is not one of the columns \(id, name\)/);
  const [objMsg, flushMsg] = await out;
  assert.equal(objMsg.topic, 'object');
  assert.equal(flushMsg.payload.rows, 2);
  const body = (await oss.client({ bucket: 'msg-bucket' }).get(flushMsg.payload.objects[0].key)).content.toString();
  assert.equal(body, '1,a\n3,c\n');
  assert.match(flushMsg.payload.objects[0].key, /\.csv$/);
});

test('export: a failing upload (bad secret → 403) fails its messages at once, with no secret in the error', async () => {
  const wrong = 'wrong-secret-for-messages-77';
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'a', prefix: 'denied/', compression: 0, objectSizeMB: 64, rollSeconds: 3600, partSizeMB: 1, wires: [['out1']] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: ['exp1'], wires: [['caught1']] }),
    flowNode({ id: 'caught1', type: 'helper' }),
  ];
  await helper.load([accountNode, exportNode], flow, credentials(oss, null, { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: wrong } }));
  const caught = collect(helper.getNode('caught1'), 3, 30000);
  // More than one part's worth of rows, so the multipart upload starts (and fails) before any roll.
  const big = Array.from({ length: 30000 }, (_, i) => [`${i}-${'y'.repeat(40)}`]);
  for (let i = 0; i < 3; i++) helper.getNode('exp1').receive({ payload: big });
  const errs = await caught;
  for (const e of errs) {
    assert.match(e.error.message, /oss-export to oss:\/\/msg-bucket .* failed: .*(SignatureDoesNotMatch|403)/);
    assert.ok(!JSON.stringify(e).includes(wrong));
  }
  assert.deepEqual(await oss.emu.listMultipartUploads('msg-bucket'), []);
});

test('import with pacing "wait for msg.tick": at most 2 unacknowledged batches; stalls without ticks; close cancels', async () => {
  assert.ok(exportedKeys.length >= 2, 'needs the export test');
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', target: 'messages', prefix: 'msgs/', format: 'csv', batchSize: 1000, pacing: 'tick', inflight: 2, wires: [['stats1'], ['rows1']] }),
    flowNode({ id: 'stats1', type: 'helper' }),
    flowNode({ id: 'rows1', type: 'helper' }),
  ];
  await helper.load([accountNode, importNode], flow, credentials(oss));
  const imp = helper.getNode('imp1');
  let received = 0;
  let acked = 0;
  let maxOutstanding = 0;
  let ticking = false;
  const ids = [];
  helper.getNode('rows1').on('input', (m) => {
    received++;
    ids.push(m.payload[0][0]);
    maxOutstanding = Math.max(maxOutstanding, received - acked);
    if (ticking) {
      setTimeout(() => {
        acked++;
        imp.receive({ tick: true });
      }, 2);
    }
  });
  const stats = collect(helper.getNode('stats1'), 1, 120000);
  imp.receive({ payload: 'go', keys: exportedKeys.slice(0, 2) });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(received, 2, 'without ticks the import waits after 2 batches');
  ticking = true;
  for (let i = 0; i < 2; i++) {
    acked++;
    imp.receive({ tick: true });
  }
  const [st] = await stats;
  assert.ok(maxOutstanding <= 2, `outstanding batches: ${maxOutstanding}`);
  assert.equal(received, Math.ceil(st.payload.rows / 1000));
  assert.deepEqual(ids, ids.map((_, i) => String(i * 1000)), 'every batch once, in order');

  // A second import that waits for ticks is cancelled by close, promptly.
  ticking = false;
  received = 0;
  acked = 0;
  imp.receive({ payload: 'go', keys: exportedKeys.slice(0, 1) });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(received, 2);
  const t0 = Date.now();
  await helper.unload();
  assert.ok(Date.now() - t0 < 5000, 'close did not wait for ticks');
});

test('export: an object is rolled after "roll after" seconds without a flush', async () => {
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'a', prefix: 'timed/', compression: 1, objectSizeMB: 64, rollSeconds: 1, wires: [['out1']] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'done1', type: 'complete', scope: ['exp1'], wires: [['completed1']] }),
    flowNode({ id: 'completed1', type: 'helper' }),
  ];
  await helper.load([accountNode, exportNode], flow, credentials(oss));
  const objects = collect(helper.getNode('out1'), 1, 10000);
  const completed = collect(helper.getNode('completed1'), 2, 10000);
  const t0 = Date.now();
  helper.getNode('exp1').receive({ payload: [['one']] });
  helper.getNode('exp1').receive({ payload: [['two']] });
  const [o] = await objects;
  const waited = Date.now() - t0;
  assert.ok(waited >= 900, `rolled after ${waited} ms`);
  assert.equal(o.topic, 'object');
  assert.equal(o.payload.rows, 2);
  await completed;
  const body = zlib.gunzipSync((await oss.client({ bucket: 'msg-bucket' }).get(o.payload.objects[0].key)).content).toString();
  assert.equal(body, 'one\ntwo\n');
});
