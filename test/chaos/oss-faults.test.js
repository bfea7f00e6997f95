'use strict';
// Chaos: OSS emulator faults (500, 503, connection reset, slow, truncated bodies) injected at 5%
// and 20% of requests during oss-export and oss-import (real ali-oss, real PostgreSQL): the
// imported table equals the source (row count and checksum). At 100%: both fail cleanly to
// Catch, no object is visible under the target prefix, and nothing is imported.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const helper = require('node-red-node-test-helper');
const C = require('./support');
const { startTestOssEmulator } = require('../support/oss');
const { accountDef, dbDef, flowNode, TAB } = require('../support/oss-nodes');

helper.init(require.resolve('node-red'));
const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((t) => require(`../../dist/nodes/${t}.js`));
const ROWS = 200000;
const BUCKET = 'chaos-bucket';
let pg = null;
let oss = null;
const emulatorLog = [];

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, `CREATE TABLE src AS SELECT g AS id, CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) || E'\\t,"\\n' END AS t FROM generate_series(1, ${ROWS}) g`);
  oss = await startTestOssEmulator({ buckets: [BUCKET], accessKeySecret: C.secrets().ossAccessKeySecret, log: (l) => emulatorLog.push(l) });
  await new Promise((r) => helper.startServer(r));
});
after(async () => {
  await helper.unload();
  await new Promise((r) => helper.stopServer(r));
  C.saveText('oss-faults', 'emulator.log', emulatorLog.join('\n'));
  C.saveText('oss-faults', 'emulator-requests.json', C.safeJson(oss ? oss.emu.requests() : []));
  if (oss) await oss.stop();
  if (pg) pg.stop();
});

const checksum = async (table) =>
  (await C.query(pg.url, `SELECT count(*)::int AS n, md5(coalesce(string_agg(id || ':' || coalesce(t, '<null>'), '|' ORDER BY id), '')) AS sum FROM ${table}`)).rows[0];

const seen = { catch: [], out: [], status: [] };

async function loadFlow(prefix, table) {
  await helper.unload();
  await C.query(pg.url, `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int, t text)`);
  await helper.load(
    NODES,
    [
      { id: TAB, type: 'tab' },
      accountDef(oss, { bucket: BUCKET, timeout: 10000 }),
      dbDef(pg),
      flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', database: 'db1', source: 'table', table: 'src', prefix, format: 'csv', compression: 0, objectSizeMB: 1, partSizeMB: 1, parallelParts: 2, wires: [['out1']] }),
      flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table, prefix, format: 'csv', parallel: 2, wires: [['out2'], []] }),
      flowNode({ id: 'out1', type: 'helper' }),
      flowNode({ id: 'out2', type: 'helper' }),
      flowNode({ id: 'catch1', type: 'catch', scope: null, wires: [['caught1']] }),
      flowNode({ id: 'caught1', type: 'helper' }),
    ],
    { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret }, db1: { password: pg.password } },
  );
  listen();
}

// One persistent listener per node, set when the flow is loaded: `once` on a Node-RED node's
// 'input' is unreliable when several are registered (Node-RED iterates its callbacks while they
// remove themselves).
let settle = null;
let expectOk = null;
function listen() {
  for (const okId of ['out1', 'out2']) helper.getNode(okId).on('input', (m) => (seen.out.push(m), okId === expectOk && settle && settle({ ok: m })));
  helper.getNode('caught1').on('input', (m) => (seen.catch.push(m), settle && settle({ error: m })));
}

function run(nodeId, okId, msg) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ timeout: true }), 120000);
    settle = (r) => {
      settle = null;
      clearTimeout(timer);
      resolve(r);
    };
    expectOk = okId;
    helper.getNode(nodeId).receive(msg);
  });
}

function harvest() {
  const spy = helper._NodePrototype && helper._NodePrototype.status;
  if (spy && spy.getCalls) for (const c of spy.getCalls()) seen.status.push(c.args[0]);
}

for (const rate of [0.05, 0.2]) {
  test(`${rate * 100}% faults of every kind: export then import give identical data (count and checksum)`, async () => {
    const id = `oss-faults-${rate * 100}`;
    const t0 = Date.now();
    let ex;
    let im;
    let table;
    oss.emu.clearRequests();
    // A round makes ~60 requests; repeat (new prefix and table) until faults were injected.
    for (let round = 0; round < 10; round++) {
      table = `dst${rate * 100}_${round}`;
      await loadFlow(`r${rate * 100}/${round}/`, table);
      oss.emu.setFaults({ rate, slowBytesPerSecond: 8 * 1048576, slowDelayMs: 100 });
      try {
        ex = await run('exp1', 'out1', { payload: 'go' });
        im = await run('imp1', 'out2', { payload: 'go' });
      } finally {
        oss.emu.setFaults({ rate: 0 });
      }
      if (!ex.ok || !im.ok || oss.emu.requests().some((r) => r.fault)) break;
    }
    const injected = oss.emu.requests().filter((r) => r.fault).length;
    const requests = oss.emu.requests().length;
    const [a, b] = [await checksum('src'), await checksum(table)];
    harvest();
    const f = C.record({
      id,
      scenario: `OSS emulator faults at ${rate * 100}% of requests during export and import`,
      node: 'oss-export + oss-import',
      mode: 'table, csv gzip',
      faults: injected,
      requests,
      sent: ROWS,
      committed: b.n,
      toCatch: [ex, im].filter((r) => r.error).length,
      duplicates: Math.max(0, b.n - a.n),
      lost: ex.ok && im.ok ? Math.max(0, a.n - b.n) : 0,
      unaccounted: [ex, im].filter((r) => r.timeout).length,
      identical: a.sum === b.sum && a.n === b.n,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
    });
    process.stdout.write(`# ${JSON.stringify(f)}\n`);
    assert.ok(ex.ok, `export completed: ${ex.error && ex.error.error.message}`);
    assert.ok(im.ok, `import completed: ${im.error && im.error.error.message}`);
    assert.ok(injected > 0, 'faults were injected');
    assert.deepEqual(b, a, 'identical row count and checksum');
  });
}

test('100% faults: export and import fail to Catch; no object under the target prefix; nothing imported', async () => {
  await loadFlow('down/', 'dst100');
  // Something to import exists before the outage (so the import has objects to fail on).
  await oss.client({ bucket: BUCKET }).put('down-src/a.csv', Buffer.from('1,a\n2,b\n'));
  oss.emu.clearRequests();
  // Every request fails without effect. ('slow' is not a failure, and 'truncate' on a PUT is a
  // write that happened with its answer lost: see RELIABILITY.md for what that leaves.)
  oss.emu.setFaults({ rate: 1, kinds: ['500', '503', 'reset'] });
  let ex;
  let im;
  try {
    ex = await run('exp1', 'out1', { payload: 'go' });
    im = await run('imp1', 'out2', { payload: 'go', prefix: 'down-src/' });
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
  const listed = await oss.client({ bucket: BUCKET }).listV2({ prefix: 'down/', 'max-keys': 100 });
  const objects = (listed.objects || []).map((o) => o.name);
  const uploads = await oss.emu.listMultipartUploads(BUCKET);
  const n = (await checksum('dst100')).n;
  harvest();
  const f = C.record({
    id: 'oss-faults-100',
    scenario: 'OSS emulator faults at 100% of requests during export and import',
    node: 'oss-export + oss-import',
    mode: 'table, csv gzip',
    faults: oss.emu.requests().filter((r) => r.fault).length,
    requests: oss.emu.requests().length,
    sent: ROWS + 2,
    committed: n,
    toCatch: [ex, im].filter((r) => r.error).length,
    duplicates: 0,
    lost: 0,
    unaccounted: [ex, im].filter((r) => r.timeout).length + objects.length + n,
  });
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.ok(ex.error, 'export failed to Catch');
  assert.match(ex.error.error.message, /oss-export of "src" .* failed: /);
  assert.ok(im.error, 'import failed to Catch');
  assert.match(im.error.error.message, /oss-import from .* failed: /);
  assert.deepEqual(objects, [], 'no object visible under the target prefix');
  assert.equal(n, 0, 'nothing imported');
  // A multipart upload that never completed is not an object; aborting it is best effort while
  // every request fails, so only report it.
  if (uploads.length) process.stdout.write(`# note: ${uploads.length} multipart upload(s) left to abort\n`);
});

test('artifacts saved for the secrets scan', () => {
  C.saveMessages('oss-faults', 'catch.ndjson', seen.catch);
  C.saveMessages('oss-faults', 'out.ndjson', seen.out);
  C.saveText('oss-faults', 'status.json', C.safeJson(seen.status));
  C.saveText('oss-faults', 'node-red-log.json', C.safeJson(helper.log().args.map((a) => a[0])));
  assert.ok(seen.catch.length >= 2);
});
