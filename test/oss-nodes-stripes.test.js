'use strict';
// oss-export's object count on Greenplum (DESIGN §6): in client mode the node asks the database
// for its primary segment count (primarySegmentCount) and exports one stripe per segment, so the
// number of objects is a multiple of it; on PostgreSQL it keeps one stream of objects.
// - the decision (exportStripePlan) as a pure unit;
// - the node in a real Node-RED runtime, real PostgreSQL, the OSS emulator: plain PostgreSQL
//   gives one stream; then the database is given a Greenplum-style catalog table
//   pg_catalog.gp_segment_configuration listing 3 primary segments (what primarySegmentCount
//   reads on Greenplum) and the same export writes a multiple of 3 objects, which import back
//   to the same rows.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode, outcome, TAB } = require('./support/oss-nodes');
const { exportStripePlan, MAX_STRIPES } = require('../dist/oss');
const { primarySegmentCount } = require('../dist/oss/detect');

const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((n) => require(`../dist/nodes/${n}.js`));

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['stripes-bucket'] });
const helper = useHelper();

// ~4.4 MB of CSV: several 1 MB objects per stream.
const N = 40000;

async function sql(text, params) {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

let srcReady = null;
function ensureSrc() {
  srcReady =
    srcReady ||
    sql(`CREATE TABLE src (id int8 PRIMARY KEY, t text);
         INSERT INTO src SELECT g, 'row ' || g || ' ' || repeat('x', 100) FROM generate_series(1, ${N}) g`);
  return srcReady;
}

async function exportFlow(prefix) {
  await ensureSrc();
  const flow = [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    dbDef(pg),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', database: 'db1', source: 'table', table: 'public.src', prefix, mode: 'auto', format: 'csv', compression: 1, objectSizeMB: 1, partSizeMB: 1, parallelParts: 2, wires: [['out1']] }),
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'dst', prefix, mode: 'auto', format: 'csv', parallel: 2, wires: [['out2'], []] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'out2', type: 'helper' }),
    flowNode({ id: 'caught1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['caught1']] }),
  ];
  await helper.load(NODES, flow, credentials(oss, pg));
}

async function run(nodeId, okId) {
  const o = outcome(helper.getNode(okId), helper.getNode('caught1'), 120000);
  helper.getNode(nodeId).receive({ payload: 'go' });
  const r = await o;
  assert.ok(r.ok, r.error && r.error.error && r.error.error.message);
  return r.ok.payload;
}

/** The <seq> of each object name `<prefix>src_<ts>_<seq>.csv.gz`, sorted. */
function seqs(objects) {
  return objects.map((o) => Number(/_(\d{5})\.csv\.gz$/.exec(o.key)[1])).sort((a, b) => a - b);
}

test('exportStripePlan: one stripe per primary segment; parts in flight shared out; PostgreSQL unchanged', () => {
  assert.deepEqual(exportStripePlan(1, 4), { stripes: 1, parallelParts: 4 }, 'PostgreSQL: one stream, the dialog’s parts');
  assert.deepEqual(exportStripePlan(4, 4), { stripes: 4, parallelParts: 1 });
  assert.deepEqual(exportStripePlan(16, 4), { stripes: 16, parallelParts: 1 });
  assert.deepEqual(exportStripePlan(2, 8), { stripes: 2, parallelParts: 4 });
  assert.deepEqual(exportStripePlan(3, 8), { stripes: 3, parallelParts: 2 });
  // Nonsense or out-of-range counts never break the export: one stream.
  for (const bad of [0, -2, 2.5, NaN, MAX_STRIPES + 1]) assert.deepEqual(exportStripePlan(bad, 4), { stripes: 1, parallelParts: 4 }, `segments ${bad}`);
  assert.deepEqual(exportStripePlan(MAX_STRIPES, 4), { stripes: MAX_STRIPES, parallelParts: 1 });
  assert.equal(exportStripePlan(4, 0).parallelParts, 1, 'at least one part in flight');
});

test('oss-export on PostgreSQL (no segments): one stream of objects, numbered 0, 1, 2, …', async () => {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    assert.equal(await primarySegmentCount(c), 1);
  } finally {
    await c.end();
  }
  await exportFlow('pg/');
  const st = await run('exp1', 'out1');
  assert.equal(st.rows, N);
  assert.ok(st.objects.length >= 3, `rolled over at 1 MB: ${st.objects.length} objects`);
  assert.deepEqual(seqs(st.objects), st.objects.map((_, i) => i), 'consecutive sequence numbers');
  // One stream: every object but the last is full (at least 1 MiB of CSV before it rolls over).
  // Its CSV size is counted from its rows: the table is read in id order, and a row's line
  // length grows with its id (a rows threshold such as 9,000 failed for a full object of 8,997
  // rows of 117 bytes when a chunk boundary fell just past the 1 MiB mark).
  const seqOf = (o) => Number(/_(\d{5})\.csv\.gz$/.exec(o.key)[1]);
  const inOrder = [...st.objects].sort((a, b) => seqOf(a) - seqOf(b));
  const lineBytes = (id) => Buffer.byteLength(`${id},row ${id} ${'x'.repeat(100)}\n`);
  let id = 0;
  for (const [i, o] of inOrder.entries()) {
    let bytes = 0;
    for (let k = 0; k < o.rows; k++) bytes += lineBytes(++id);
    if (i < inOrder.length - 1) assert.ok(bytes >= 1024 * 1024, `${o.key}: ${o.rows} rows, ${bytes} bytes of CSV`);
  }
  assert.equal(id, N, 'rows of all objects');
});

test('oss-export on a database listing 3 primary segments writes a multiple of 3 objects that import back whole', async () => {
  await ensureSrc();
  // The Greenplum catalog table primarySegmentCount reads: 3 primaries, their mirrors, the master.
  await sql(`SET allow_system_table_mods = on;
             CREATE TABLE pg_catalog.gp_segment_configuration (dbid int2, content int2, role "char", preferred_role "char");
             INSERT INTO pg_catalog.gp_segment_configuration VALUES
               (1, -1, 'p', 'p'), (2, 0, 'p', 'p'), (3, 1, 'p', 'p'), (4, 2, 'p', 'p'),
               (5, 0, 'm', 'm'), (6, 1, 'm', 'm'), (7, 2, 'm', 'm')`);
  try {
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      assert.equal(await primarySegmentCount(c), 3);
    } finally {
      await c.end();
    }
    await sql('CREATE TABLE dst (id int8 PRIMARY KEY, t text)');
    await exportFlow('gp3/');
    const st = await run('exp1', 'out1');
    assert.equal(st.rows, N);
    assert.equal(st.objects.length % 3, 0, `${st.objects.length} objects, a multiple of 3`);
    assert.ok(st.objects.length >= 6, `the stripes rolled over together at 1 MB: ${st.objects.length} objects`);
    assert.deepEqual(seqs(st.objects), st.objects.map((_, i) => i), 'the stripes interleave their sequence numbers');
    assert.equal(st.objects.reduce((a, o) => a + o.rows, 0), N);
    // Rows are dealt round-robin: every stripe's objects hold rows (none empty at this size).
    for (const o of st.objects) assert.ok(o.rows > 0, `${o.key} holds rows`);
    assert.deepEqual(await oss.emu.listMultipartUploads('stripes-bucket'), [], 'no dangling multipart upload');
    // oss_ext is not installed, so auto stayed in client mode; the objects import back whole.
    const im = await run('imp1', 'out2');
    assert.equal(im.rows, N);
    const diff = await sql(`SELECT (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT * FROM dst) a)::int AS missing,
                                   (SELECT count(*) FROM (SELECT * FROM dst EXCEPT ALL SELECT * FROM src) b)::int AS extra`);
    assert.deepEqual(diff.rows[0], { missing: 0, extra: 0 });
  } finally {
    await sql('SET allow_system_table_mods = on; DROP TABLE IF EXISTS pg_catalog.gp_segment_configuration');
  }
});
