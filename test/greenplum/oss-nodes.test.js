'use strict';
// oss-export and oss-import on the real cluster, in a real Node-RED runtime, against the OSS
// emulator: external mode (the segments' oss_ext writes and reads the objects) and auto mode
// (which picks external where oss_ext is installed) give back identical rows; an export whose
// appends the server refused fails loudly instead of reporting oss_ext's count; client mode
// exports one stripe per real primary segment.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { useGreenplumDatabase, startOssEmulatorForOssExt } = require('../support/greenplum');
const { useHelper, accountDef, dbDef, credentials, flowNode, outcome, TAB } = require('../support/oss-nodes');

const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((n) => require(`../../dist/nodes/${n}.js`));
const BUCKET = 'gp-nodes';
const N = 20000;

const pg = useGreenplumDatabase('nodes');
const helper = useHelper();
let oss;

async function sql(text, params) {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

before(async () => {
  oss = await startOssEmulatorForOssExt({ buckets: [BUCKET] });
  // Wait for useGreenplumDatabase's hook (root-level before hooks do not wait for each other).
  for (let i = 0; !pg.url; i++) {
    if (i > 1200) throw new Error('no Greenplum database within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await sql(`CREATE TABLE src (id int8, t text, amount numeric(12,2), at timestamptz) DISTRIBUTED BY (id);
    INSERT INTO src SELECT g, CASE WHEN g % 11 = 0 THEN NULL WHEN g % 7 = 0 THEN 'comma, "quote"' ELSE 'row ' || g || ' ' || repeat('x', 60) END,
      g * 0.5, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, ${N}) g;
    CREATE TABLE dst (LIKE src) DISTRIBUTED RANDOMLY`);
});

after(async () => {
  if (oss) await oss.stop();
});

async function loadFlow(exportOpts, importOpts) {
  const flow = [
    { id: TAB, type: 'tab' },
    // Port 80 of a bare IP: oss_ext addresses the bucket path-style there; ali-oss uses the same endpoint.
    accountDef({ ...oss, endpoint: `http://${oss.ip}` }, { bucket: BUCKET }),
    dbDef(pg),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', database: 'db1', source: 'table', table: 'public.src', format: 'csv', compression: 0, objectSizeMB: 1, partSizeMB: 1, parallelParts: 2, wires: [['out1']], ...exportOpts }),
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'dst', format: 'csv', parallel: 2, wires: [['out2'], []], ...importOpts }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'out2', type: 'helper' }),
    flowNode({ id: 'caught1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['caught1']] }),
  ];
  await helper.load(NODES, flow, credentials(oss, pg));
}

async function run(nodeId, okId, msg = {}) {
  const o = outcome(helper.getNode(okId), helper.getNode('caught1'), 180000);
  helper.getNode(nodeId).receive({ payload: 'go', ...msg });
  return o;
}

async function okRun(nodeId, okId, msg) {
  const r = await run(nodeId, okId, msg);
  assert.ok(r.ok, r.error && r.error.error && r.error.error.message);
  return r.ok.payload;
}

async function sameRows() {
  const { rows } = await sql(`SELECT (SELECT count(*) FROM (SELECT * FROM src EXCEPT ALL SELECT * FROM dst) a)::int AS missing,
                                     (SELECT count(*) FROM (SELECT * FROM dst EXCEPT ALL SELECT * FROM src) b)::int AS extra,
                                     (SELECT count(*) FROM dst)::int AS n`);
  assert.deepEqual(rows[0], { missing: 0, extra: 0, n: N });
}

const CASES = [
  { mode: 'external', format: 'csv', compression: 0, where: 'dir', label: 'external csv plain dir=' },
  { mode: 'external', format: 'text', compression: 1, where: 'prefix', label: 'external text gzip prefix=' },
  { mode: 'auto', format: 'csv', compression: 6, where: 'dir', label: 'auto (→ external) csv gzip dir=' },
  { mode: 'auto', format: 'text', compression: 0, where: 'prefix', label: 'auto (→ external) text plain prefix=' },
];

for (const c of CASES) {
  test(`oss-export → oss-import, ${c.label}: identical rows`, async () => {
    const prefix = c.where === 'dir' ? `ext/${c.format}-${c.compression}/` : `ext/${c.format}-${c.compression}-`;
    await sql('TRUNCATE dst');
    await loadFlow({ mode: c.mode, format: c.format, compression: c.compression, prefix }, { mode: c.mode, format: c.format, prefix, truncate: true, folderOnly: c.where === 'dir' });
    oss.emu.clearRequests();
    const ex = await okRun('exp1', 'out1');
    assert.equal(ex.rows, N);
    assert.ok(ex.objects.length >= 2, `the segments wrote their own objects: ${ex.objects.map((o) => o.key).join(', ')}`);
    assert.ok(ex.objects.every((o) => o.key.startsWith(prefix)), 'under the prefix');
    const ops = new Set(oss.emu.requests().map((r) => r.operation));
    assert.ok(ops.has('AppendObject'), `oss_ext wrote with AppendObject (external mode), saw ${[...ops].join(', ')}`);
    const im = await okRun('imp1', 'out2');
    assert.equal(im.rows, N);
    await sameRows();
  });
}

test('an external export whose appends the OSS server refused fails with the reason, not with oss_ext\'s row count', async () => {
  await loadFlow({ mode: 'external', prefix: 'refused/' }, {});
  oss.emu.setFaults({ rate: 1, kinds: ['500'], match: (r) => r.operation === 'AppendObject' });
  try {
    const r = await run('exp1', 'out1');
    assert.ok(r.error, `the export must fail, got ${JSON.stringify(r.ok && r.ok.payload)}`);
    assert.match(r.error.error.message, /oss_ext reported 20000 row\(s\) exported but no object exists under refused\/src_[0-9a-f]{6}\*: its uploads failed/);
    assert.ok(oss.emu.requests().some((q) => q.operation === 'AppendObject' && q.status === 500), 'oss_ext did try to append');
  } finally {
    oss.emu.setFaults({ rate: 0 });
  }
});

test('external import with a reject limit: the skipped rows are reported from gp_read_error_log, with line, reason and data', async () => {
  await sql('CREATE TABLE IF NOT EXISTS rej_dst (id int, t text) DISTRIBUTED BY (id)');
  await sql('TRUNCATE rej_dst');
  const client = oss.client({ bucket: BUCKET, endpoint: `http://${oss.ip}` });
  const lines = (from, n, bad) => Array.from({ length: n }, (_, i) => (bad.includes(i) ? `x${from + i},bad row ${from + i}` : `${from + i},row ${from + i}`)).join('\n') + '\n';
  await client.put('rej/a.csv', Buffer.from(lines(0, 100, [5, 50])));
  await client.put('rej/b.csv', Buffer.from(lines(1000, 100, [99])));
  await loadFlow({}, { mode: 'external', prefix: 'rej/', rejectLimit: 10, rejectUnit: 'ROWS' });
  const st = await okRun('imp1', 'out2', { table: 'rej_dst' });
  assert.equal(st.rows, 197);
  assert.equal((await sql('SELECT count(*)::int AS n FROM rej_dst')).rows[0].n, 197);
  assert.equal(st.rejected.count, 3);
  const got = st.rejected.rows.map((r) => ({ line: r.line, data: r.data })).sort((a, b) => a.line - b.line);
  assert.deepEqual(got, [{ line: 6, data: 'x5,bad row 5' }, { line: 51, data: 'x50,bad row 50' }, { line: 100, data: 'x1099,bad row 1099' }]);
  for (const r of st.rejected.rows) assert.match(r.error, /invalid input syntax for (type )?integer/);
  const text = JSON.stringify(st);
  assert.ok(!text.includes(oss.accessKeySecret) && !text.includes(oss.accessKeyId), 'no credentials in the stats');
});

test('header lines, at most one object per segment: external export refuses, client export + external import (HEADER) give identical rows', async () => {
  await sql('TRUNCATE dst');
  // 8 MB objects: the client export writes one object per stripe, i.e. one per primary segment (2).
  await loadFlow({ mode: 'external', header: true, prefix: 'hdr/', objectSizeMB: 8 }, { mode: 'external', header: true, prefix: 'hdr/', truncate: true });
  const e1 = await run('exp1', 'out1');
  assert.ok(e1.error, 'external export with header lines must fail');
  assert.match(e1.error.error.message, /external mode cannot export with these settings: header is not supported by oss_ext writable tables/);

  await helper.unload();
  await loadFlow({ mode: 'auto', header: true, prefix: 'hdr/', objectSizeMB: 8 }, { mode: 'external', header: true, prefix: 'hdr/', truncate: true });
  oss.emu.clearRequests();
  const ex = await okRun('exp1', 'out1');
  assert.equal(ex.rows, N);
  assert.ok(!oss.emu.requests().some((r) => r.operation === 'AppendObject'), 'auto exported in client mode, not through oss_ext');
  assert.equal(ex.objects.length, 2, `one object per segment: ${ex.objects.map((o) => o.key).join(', ')}`);
  const c = oss.client({ bucket: BUCKET, endpoint: `http://${oss.ip}` });
  for (const o of ex.objects) assert.match((await c.get(o.key)).content.toString('latin1', 0, 40), /^id,t,amount,at\n/, `${o.key} starts with the header line`);
  // Every header line skipped by Greenplum itself: one object per segment stream.
  const im = await okRun('imp1', 'out2');
  assert.equal(im.rows, N);
  await sameRows();
});

test('header lines with more objects than segments: external import refuses naming the reason, auto imports in client mode, identical rows', async () => {
  const c = oss.client({ bucket: BUCKET, endpoint: `http://${oss.ip}` });
  const listed = (await c.list({ prefix: 'hdr/', 'max-keys': 100 })).objects;
  assert.equal(listed.length, 2);
  for (const [i, o] of listed.entries()) await c.put(`hdr3/part-${i}.csv`, (await c.get(o.name)).content);
  // A third object holding only its header line: one segment reads two objects as one stream,
  // so Greenplum would take this header line as a row.
  await c.put('hdr3/part-2.csv', Buffer.from('id,t,amount,at\n'));
  await sql('TRUNCATE dst');
  await loadFlow({}, { mode: 'external', header: true, prefix: 'hdr3/', truncate: true });
  const e2 = await run('imp1', 'out2');
  assert.ok(e2.error, 'external import of 3 objects with header lines on 2 segments must fail');
  assert.match(e2.error.error.message, /external mode cannot import these objects: header is set and there are 3 objects for 2 segment\(s\)/);
  assert.equal((await sql('SELECT count(*)::int AS n FROM dst')).rows[0].n, 0, 'nothing loaded');

  await helper.unload();
  await loadFlow({}, { mode: 'auto', header: true, prefix: 'hdr3/', truncate: true });
  const im = await okRun('imp1', 'out2');
  assert.equal(im.rows, N);
  await sameRows();
});

test('client mode on the real cluster: one stripe per primary segment (2), objects import back whole', async () => {
  await sql('TRUNCATE dst');
  await loadFlow({ mode: 'client', prefix: 'client/', compression: 1 }, { mode: 'client', prefix: 'client/', truncate: true });
  const ex = await okRun('exp1', 'out1');
  assert.equal(ex.rows, N);
  assert.equal(ex.objects.length % 2, 0, `${ex.objects.length} objects, a multiple of the 2 primary segments`);
  assert.ok(ex.objects.every((o) => o.rows > 0), 'every stripe holds rows');
  assert.equal(ex.objects.reduce((a, o) => a + o.rows, 0), N);
  const im = await okRun('imp1', 'out2');
  assert.equal(im.rows, N);
  await sameRows();
});
