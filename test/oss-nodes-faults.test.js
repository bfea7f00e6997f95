'use strict';
// The OSS nodes under OSS faults (emulator fault injection, real ali-oss, real PostgreSQL):
// 5% faults of every kind → export and import still complete with identical contents;
// 100% faults → both fail to Catch with a clear message, no rows imported, no dangling
// multipart upload. Also: closing the flow during an import rolls it back.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode, outcome, TAB } = require('./support/oss-nodes');

const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((t) => require(`../dist/nodes/${t}.js`));

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['fault-bucket'] });
const helper = useHelper();

async function sql(text) {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

const N = 30000;
let ready = null;
function setup() {
  ready = ready || sql(`CREATE TABLE src AS SELECT g AS id, CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) || E'\\t,"' END AS t FROM generate_series(1, ${N}) g`);
  return ready;
}

async function load(prefix, table) {
  await setup();
  await sql(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int, t text)`);
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    dbDef(pg),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', database: 'db1', source: 'table', table: 'src', prefix, format: 'csv', compression: 0, objectSizeMB: 1, partSizeMB: 1, parallelParts: 2, wires: [['out1']] }),
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table, prefix, format: 'csv', parallel: 2, wires: [['out2'], []] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'out2', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: null, wires: [['caught1']] }),
    flowNode({ id: 'caught1', type: 'helper' }),
  ];
  await helper.load(NODES, flow, credentials(oss, pg));
}

function run(nodeId, okId, msg = { payload: 'go' }) {
  const o = outcome(helper.getNode(okId), helper.getNode('caught1'), 80000);
  helper.getNode(nodeId).receive(msg);
  return o;
}

async function noDanglingUploads() {
  let left = await oss.emu.listMultipartUploads('fault-bucket');
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await oss.emu.listMultipartUploads('fault-bucket');
  }
  assert.deepEqual(left, [], 'no dangling multipart upload');
}

test('5% faults of every kind: export and import complete with identical contents', async () => {
  await load('faulty/', 'dst');
  oss.emu.setFaults({ rate: 0.05, slowBytesPerSecond: 4 * 1048576, slowDelayMs: 200 });
  try {
    // A small export makes few requests: repeat it (new prefix) until faults were injected.
    oss.emu.clearRequests();
    let prefix = '';
    // ~3 requests a round at 5%: 100 rounds leave a chance of about 1e-7 that none was hit.
    for (let round = 0; round < 100; round++) {
      prefix = `faulty/r${round}/`;
      const ex = await run('exp1', 'out1', { payload: 'go', prefix });
      assert.ok(ex.ok, ex.error && ex.error.error.message);
      assert.equal(ex.ok.payload.rows, N);
      if (oss.emu.requests().some((r) => r.fault)) break;
    }
    const im = await run('imp1', 'out2', { payload: 'go', prefix });
    assert.ok(im.ok, im.error && im.error.error.message);
    assert.equal(im.ok.payload.rows, N);
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  const diff = await sql(`SELECT (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT * FROM dst) a)::int AS ab,
                                 (SELECT count(*) FROM (SELECT * FROM dst EXCEPT ALL SELECT * FROM src) b)::int AS ba`);
  assert.deepEqual(diff.rows[0], { ab: 0, ba: 0 });
  const injected = oss.emu.requests().filter((r) => r.fault).length;
  assert.ok(injected > 0, 'some faults were injected');
  await noDanglingUploads();
});

test('100% faults: export and import fail to Catch with a clear message; no rows, no dangling upload', async () => {
  await load('down/', 'dst2');
  // An object to import exists before the outage.
  await oss.client({ bucket: 'fault-bucket' }).put('down/a.csv', Buffer.from('1,a\n2,b\n'));
  oss.emu.setFaults({ rate: 1, kinds: ['500', '503', 'reset'] });
  try {
    const ex = await run('exp1', 'out1');
    assert.ok(ex.error, 'export must fail');
    assert.match(ex.error.error.message, /^(\w+: )?oss-export of "src" to oss:\/\/fault-bucket @ http:\/\/127\.0\.0\.1:\d+\/down\/ failed: /);
    assert.match(ex.error.error.message, /attempt|50[03]|InternalError|ServiceUnavailable|reset|socket hang up/i);
    const im = await run('imp1', 'out2');
    assert.ok(im.error, 'import must fail');
    assert.match(im.error.error.message, /oss-import from .* into dst2 failed: /);
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  assert.equal((await sql('SELECT count(*)::int AS n FROM dst2')).rows[0].n, 0);
  await noDanglingUploads();
});

test('closing the flow during an import cancels it and rolls it back', async () => {
  await load('slowimp/', 'dst3');
  const ex = await run('exp1', 'out1');
  assert.ok(ex.ok, ex.error && ex.error.error.message);
  // Slow every object body down so the import is surely in progress when we close.
  oss.emu.setFaults({ rate: 1, kinds: ['slow'], slowBytesPerSecond: 64 * 1024, slowDelayMs: 50, match: (r) => r.operation === 'GetObject' });
  try {
    let finished = false;
    helper.getNode('out2').on('input', () => {
      finished = true;
    });
    helper.getNode('imp1').receive({ payload: 'go' });
    // Wait until the COPY FROM STDIN of the import is running in the database.
    const copying = () => sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'COPY%FROM STDIN%' AND state <> 'idle'`);
    const t0 = Date.now();
    while ((await copying()).rows[0].n === 0) {
      if (Date.now() - t0 > 20000) throw new Error('the import did not start within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(finished, false, 'the import is still running');
    const c0 = Date.now();
    await helper.unload();
    assert.ok(Date.now() - c0 < 15000, 'close finished within Node-RED close timeout');
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  assert.equal((await sql('SELECT count(*)::int AS n FROM dst3')).rows[0].n, 0, 'nothing committed');
  const active = await sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'COPY%' AND state <> 'idle'`);
  assert.equal(active.rows[0].n, 0, 'no COPY left running');
});

test('messages export with slow uploads: beyond "max buffer" messages fail fast with "buffer full", the rest are uploaded', async () => {
  await setup();
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', columns: 'id,t', prefix: 'bounded/', compression: 0, objectSizeMB: 64, partSizeMB: 1, parallelParts: 1, rollSeconds: 0, maxBufferMB: 2, wires: [['out1']] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'done1', type: 'complete', scope: ['exp1'], wires: [['completed1']] }),
    flowNode({ id: 'completed1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: ['exp1'], wires: [['caught1']] }),
    flowNode({ id: 'caught1', type: 'helper' }),
  ];
  await helper.load(NODES, flow, credentials(oss));
  const completed = [];
  const caught = [];
  helper.getNode('completed1').on('input', (m) => completed.push(m.n));
  helper.getNode('caught1').on('input', (m) => caught.push([m.n, m.error.message]));
  // Every upload request answers 1.5 s late: the node cannot drain as fast as rows arrive.
  oss.emu.setFaults({ rate: 1, kinds: ['slow'], slowDelayMs: 1500, match: (r) => r.operation === 'UploadPart' || r.operation === 'InitiateMultipartUpload' });
  try {
    const row = 'z'.repeat(1000);
    for (let n = 0; n < 12; n++) {
      // ~500 KB per message: 12 messages are 6 MB against a 2 MB buffer.
      helper.getNode('exp1').receive({ n, payload: Array.from({ length: 500 }, (_, i) => [n * 500 + i, row]) });
    }
    await waitUntil(() => caught.length > 0, 20000);
    oss.emu.setFaults({ rate: 0 });
    const flushed = collectOne(helper.getNode('out1'), (m) => m.topic !== 'object');
    helper.getNode('exp1').receive({ flush: true, n: 'flush' });
    const f = await flushed;
    await waitUntil(() => completed.length + caught.length >= 13, 30000);
    const full = caught.filter(([, msg]) => /buffer full/.test(msg)).map(([n]) => n);
    assert.ok(full.length > 0, 'some messages were refused');
    assert.deepEqual(caught.filter(([, msg]) => !/buffer full/.test(msg)), [], 'no other errors');
    const ok = completed.filter((n) => n !== 'flush').sort((a, b) => a - b);
    assert.deepEqual([...ok, ...full].sort((a, b) => a - b), [...Array(12).keys()], 'each message either completed or was refused');
    assert.equal(f.payload.rows, ok.length * 500, 'exactly the accepted messages were uploaded');
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  await noDanglingUploads();
});

async function waitUntil(fn, ms) {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function collectOne(node, pred) {
  return new Promise((resolve) => node.on('input', (m) => pred(m) && resolve(m)));
}
