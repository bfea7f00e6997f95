'use strict';
// oss-export and oss-import in a real Node-RED runtime with a real PostgreSQL (usePostgres),
// the real ali-oss and the OSS emulator: table → OSS → table round trips (CSV gzip, TEXT
// plain), per-message overrides, auto mode picking the client path on PostgreSQL, import
// as message batches (every row exactly once), and errors reaching Catch without secrets.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode, collect, outcome, TAB } = require('./support/oss-nodes');

const accountNode = require('../dist/nodes/oss-account.js');
const dbNode = require('../dist/nodes/greenplum-db.js');
const exportNode = require('../dist/nodes/oss-export.js');
const importNode = require('../dist/nodes/oss-import.js');
const NODES = [accountNode, dbNode, exportNode, importNode];

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['rt-bucket'] });
const helper = useHelper();

const N = 20000;

async function sql(text, params) {
  if (!pg.url) throw new Error('database not ready');
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

const COLUMNS = `id int8 PRIMARY KEY, t text, b bytea, n numeric(30,10), ts timestamp, tz timestamptz, f float8, ok boolean, j jsonb`;

// Created on first use: root-level before hooks may run before usePostgres has its database.
let srcReady = null;
function ensureSrc() {
  if (!srcReady) srcReady = createSrc();
  return srcReady;
}
async function createSrc() {
  await sql(`CREATE TABLE src (${COLUMNS})`);
  // Hostile values: NULL vs empty string, quotes, delimiters, newlines, tabs, backslashes,
  // unicode, bytea, numeric precision, timestamps.
  await sql(`INSERT INTO src SELECT g,
      CASE g % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a,b;"c"' WHEN 3 THEN E'line1\\nline2\\r\\n' WHEN 4 THEN E'tab\\there' WHEN 5 THEN E'back\\\\slash \\\\N' WHEN 6 THEN 'ünïcødé ✓ 漢字' WHEN 7 THEN '\\.' ELSE 'plain ' || g END,
      CASE WHEN g % 5 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
      (g::numeric * 1234567.0123456789) / 7,
      timestamp '2024-02-29 12:34:56.789012' + g * interval '1 second',
      timestamptz '2024-06-01 00:00:00+00' + g * interval '1 minute',
      CASE WHEN g % 11 = 0 THEN 'NaN'::float8 ELSE g / 3.0 END,
      CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END,
      CASE WHEN g % 4 = 0 THEN NULL ELSE jsonb_build_object('k', g, 's', E'q"\\\\') END
    FROM generate_series(1, ${N}) g`);
}

async function assertSameRows(a, b) {
  const diff = await sql(`SELECT (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b}) x) AS ab,
                                 (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a}) y) AS ba,
                                 (SELECT count(*) FROM ${b}) AS nb`);
  assert.deepEqual(diff.rows[0], { ab: '0', ba: '0', nb: String(N) }, `${a} vs ${b}`);
}

async function flowWith(nodes, { account = {}, creds } = {}) {
  await ensureSrc();
  return {
    flow: [{ id: TAB, type: 'tab' }, accountDef(oss, account), dbDef(pg), ...nodes],
    creds: creds || credentials(oss, pg),
  };
}

function exportDef(extra) {
  return flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', database: 'db1', source: 'table', table: 'public.src', prefix: 'rt/', mode: 'auto', format: 'csv', compression: 1, objectSizeMB: 1, partSizeMB: 1, parallelParts: 2, wires: [['out1']], ...extra });
}

function importDef(extra) {
  return flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'dst', prefix: 'rt/', mode: 'auto', format: 'csv', parallel: 2, wires: [['out2'], ['rows2']], ...extra });
}

const sinks = () => ['out1', 'out2', 'rows2', 'caught1'].map((id) => flowNode({ id, type: 'helper' }));
const catcher = () => flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['caught1']] });

/** Texts of every status a node has shown (node-red-node-test-helper spies on status). */
function statusTexts(id) {
  const node = helper.getNode(id);
  return node.status.getCalls().filter((c) => c.thisValue === node).map((c) => String((c.args[0] && c.args[0].text) || ''));
}

async function run(nodeId, msg, okId) {
  if (process.env.DBG) console.error('run', nodeId, JSON.stringify(msg));
  const o = outcome(helper.getNode(okId), helper.getNode('caught1'), 120000);
  helper.getNode(nodeId).receive(msg);
  return o;
}

for (const variant of [
  { name: 'CSV gzip, several objects', format: 'csv', compression: 1, prefix: 'rt/csv/', ext: /\.csv\.gz$/ },
  { name: 'TEXT plain', format: 'text', compression: 0, prefix: 'rt/text/', ext: /\.txt$/ },
]) {
  test(`round trip table → OSS → table: ${variant.name}; auto picks the client path on PostgreSQL`, async () => {
    await sql(`DROP TABLE IF EXISTS dst; CREATE TABLE dst (${COLUMNS})`);
    const { flow, creds } = await flowWith([
      exportDef({ format: variant.format, compression: variant.compression, prefix: variant.prefix }),
      importDef({ format: variant.format, prefix: variant.prefix }),
      ...sinks(),
      catcher(),
    ]);
    await helper.load(NODES, flow, creds);
    const ex = await run('exp1', { payload: 'go' }, 'out1');
    assert.ok(ex.ok, ex.error && ex.error.error.message);
    const st = ex.ok.payload;
    assert.equal(st.rows, N);
    // Client mode writes our names (oss_ext would name them <table>_<ts>[.n] without suffix).
    for (const o of st.objects) assert.match(o.key, new RegExp(`^${variant.prefix}src_\\d{8}T\\d{6}_\\d{5}`));
    for (const o of st.objects) assert.match(o.key, variant.ext);
    assert.equal(st.objects.reduce((a, o) => a + o.rows, 0), N);
    if (variant.compression) {
      assert.ok(st.objects.length >= 2, `rolled over at 1 MB: ${st.objects.length} objects`);
      assert.ok(st.bytesOut < st.bytesIn, 'gzip made it smaller');
    } else {
      assert.equal(st.bytesOut, st.bytesIn);
    }
    assert.ok(st.ms >= 0);
    const texts = statusTexts('exp1');
    assert.match(texts[texts.length - 1], new RegExp(`^${st.objects.length} obj 20.0k rows `), 'final status');
    const im = await run('imp1', { payload: 'go' }, 'out2');
    assert.ok(im.ok, im.error && im.error.error.message);
    assert.equal(im.ok.payload.rows, N);
    assert.deepEqual(im.ok.payload.objects.map((o) => o.key), st.objects.map((o) => o.key));
    await assertSameRows('src', 'dst');
    assert.deepEqual(await oss.emu.listMultipartUploads('rt-bucket'), []);
  });
}

test('per-message overrides: msg.query and msg.prefix on export, msg.keys and msg.table on import', async () => {
  await sql(`DROP TABLE IF EXISTS dst2; CREATE TABLE dst2 (id int8, t text)`);
  const { flow, creds } = await flowWith([exportDef({ table: 'nosuchtable', prefix: 'unused/' }), importDef({ table: 'nosuchtable', prefix: 'unused/' }), ...sinks(), catcher()]);
  await helper.load(NODES, flow, creds);
  const ex = await run('exp1', { query: 'SELECT id, t FROM src WHERE id <= 10 ORDER BY id', prefix: 'ovr/', objectName: 'first10' }, 'out1');
  assert.ok(ex.ok, ex.error && ex.error.error.message);
  assert.equal(ex.ok.payload.rows, 10);
  assert.equal(ex.ok.payload.objects.length, 1);
  assert.match(ex.ok.payload.objects[0].key, /^ovr\/first10_\d{8}T\d{6}_00000\.csv\.gz$/);
  const im = await run('imp1', { keys: [ex.ok.payload.objects[0].key], table: 'public.dst2' }, 'out2');
  assert.ok(im.ok, im.error && im.error.error.message);
  assert.equal(im.ok.payload.rows, 10);
  const got = await sql('SELECT id, t FROM dst2 ORDER BY id');
  const want = await sql('SELECT id, t FROM src WHERE id <= 10 ORDER BY id');
  assert.deepEqual(got.rows, want.rows);
});

test('import as messages: batches of N rows, every row exactly once, parts, then the stats', async () => {
  const { flow, creds } = await flowWith([
    exportDef({ prefix: 'batches/', query: '', table: 'public.src' }),
    importDef({ target: 'messages', prefix: 'batches/', batchSize: 700, rowShape: 'object', table: 'public.src' }),
    ...sinks(),
    catcher(),
  ]);
  await helper.load(NODES, flow, creds);
  const ex = await run('exp1', { payload: 'go' }, 'out1');
  assert.ok(ex.ok, ex.error && ex.error.error.message);
  assert.ok(ex.ok.payload.objects.length >= 2);
  const batches = [];
  helper.getNode('rows2').on('input', (m) => batches.push(m));
  const im = await run('imp1', { payload: 'go', topic: 'reading' }, 'out2');
  assert.ok(im.ok, im.error && im.error.error.message);
  assert.equal(im.ok.payload.rows, N);
  assert.equal(batches.length, Math.ceil(N / 700));
  const ids = new Set();
  batches.forEach((b, i) => {
    assert.equal(b.parts.index, i);
    assert.equal(b.parts.id, batches[0].parts.id);
    assert.equal(b.topic, 'reading');
    assert.equal(b.payload.length, i < batches.length - 1 ? 700 : N - 700 * (batches.length - 1));
    for (const row of b.payload) {
      assert.ok(!ids.has(row.id), `row ${row.id} twice`);
      ids.add(row.id);
    }
  });
  assert.equal(batches[batches.length - 1].parts.count, batches.length);
  assert.equal(batches[0].parts.count, undefined);
  assert.equal(ids.size, N);
  // Values come back as text; NULL as null, '' as ''.
  const byId = new Map(batches.flatMap((b) => b.payload).map((r) => [r.id, r]));
  assert.equal(byId.get('9').t, null);
  assert.equal(byId.get('10').t, '');
  assert.equal(byId.get('12').t, 'line1\nline2\r\n');
  assert.equal(byId.get('15').t, 'ünïcødé ✓ 漢字');
  assert.deepEqual(Object.keys(byId.get('1')), ['id', 't', 'b', 'n', 'ts', 'tz', 'f', 'ok', 'j']);
});

test('errors reach Catch with a clear message and no secret: missing table, bad credentials (403), external mode without oss_ext', async () => {
  const wrongSecret = 'definitely-wrong-secret-42';
  await sql(`DROP TABLE IF EXISTS dst3; CREATE TABLE dst3 (${COLUMNS})`);
  // Missing table.
  {
    const { flow, creds } = await flowWith([exportDef({ table: 'public.missing_table' }), importDef({ table: 'missing_too' }), ...sinks(), catcher()]);
    await helper.load(NODES, flow, creds);
    const ex = await run('exp1', { payload: 'go' }, 'out1');
    assert.ok(ex.error, 'export must fail');
    assert.match(ex.error.error.message, /oss-export of "public"\."missing_table" .* failed: .*"public"\."missing_table" does not exist/);
    assert.equal(ex.error.error.source.id, 'exp1');
    const im = await run('imp1', { payload: 'go' }, 'out2');
    assert.ok(im.error, 'import must fail');
    assert.match(im.error.error.message, /"missing_too" does not exist/);
    await helper.unload();
  }
  // Bad credentials: OSS answers 403 SignatureDoesNotMatch.
  {
    const { flow, creds } = await flowWith([exportDef({ prefix: 'denied/' }), importDef({ table: 'dst3', prefix: 'rt/csv/' }), ...sinks(), catcher()], {
      creds: credentials(oss, pg, { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: wrongSecret } }),
    });
    await helper.load(NODES, flow, creds);
    const ex = await run('exp1', { payload: 'go' }, 'out1');
    assert.ok(ex.error, 'export must fail');
    assert.match(ex.error.error.message, /SignatureDoesNotMatch|403/);
    assert.ok(!JSON.stringify(ex.error).includes(wrongSecret), 'no secret in the Catch message');
    assert.ok(!JSON.stringify(ex.error).includes(pg.password) || !pg.password, 'no database password');
    const im = await run('imp1', { payload: 'go' }, 'out2');
    assert.ok(im.error, 'import must fail');
    assert.match(im.error.error.message, /SignatureDoesNotMatch|403/);
    assert.ok(!JSON.stringify(im.error).includes(wrongSecret));
    // Status: the error is shown (short), the secret never.
    const texts = statusTexts('exp1');
    assert.ok(texts.some((t) => /SignatureDoesNotMatch|403/.test(t)), texts.join(' | '));
    assert.ok(!texts.join('\n').includes(wrongSecret));
    // Nor in anything logged.
    const logged = require('node:util').inspect(helper.log().args, { depth: 6 });
    assert.ok(!logged.includes(wrongSecret), 'no secret in the log');
    await helper.unload();
  }
  assert.equal((await sql('SELECT count(*)::int AS n FROM dst3')).rows[0].n, 0, 'failed import left no rows');
  // Explicit external mode on PostgreSQL: a clear explanation, not a syntax error.
  {
    const { flow, creds } = await flowWith([exportDef({ mode: 'external' }), importDef({ table: 'dst3', mode: 'external' }), ...sinks(), catcher()]);
    await helper.load(NODES, flow, creds);
    const ex = await run('exp1', { payload: 'go' }, 'out1');
    assert.ok(ex.error);
    assert.match(ex.error.error.message, /needs the oss_ext extension/);
    const im = await run('imp1', { payload: 'go' }, 'out2');
    assert.ok(im.error);
    assert.match(im.error.error.message, /needs the oss_ext extension/);
  }
  assert.deepEqual(await oss.emu.listMultipartUploads('rt-bucket'), []);
});

test('messages source with a table: column order from the table, header line in every object, then imported back', async () => {
  await sql(`DROP TABLE IF EXISTS msgtab; CREATE TABLE msgtab (id int, t text, n numeric); DROP TABLE IF EXISTS msgback; CREATE TABLE msgback (LIKE msgtab)`);
  const { flow, creds } = await flowWith([
    exportDef({ source: 'messages', table: 'msgtab', prefix: 'msgtab/', header: true, compression: 1, rollSeconds: 0, objectSizeMB: 1 }),
    importDef({ table: 'msgback', prefix: 'msgtab/', header: true }),
    ...sinks(),
    catcher(),
  ]);
  await helper.load(NODES, flow, creds);
  const exp = helper.getNode('exp1');
  exp.receive({ payload: [{ t: 'first', id: 1 }, { n: '1.50', id: 2 }] });
  exp.receive({ payload: { id: 3, t: 'x,"y"', n: 3 } });
  const flushed = await run('exp1', { flush: true }, 'out1');
  assert.ok(flushed.ok, flushed.error && flushed.error.error.message);
  const out = flushed.ok.payload;
  assert.equal(out.rows, 3);
  assert.equal(out.objects.length, 1);
  const body = require('node:zlib').gunzipSync((await oss.client({ bucket: 'rt-bucket' }).get(out.objects[0].key)).content).toString();
  assert.equal(body, 'id,t,n\n1,first,\n2,,1.50\n3,"x,""y""",3\n');
  const im = await run('imp1', { payload: 'go' }, 'out2');
  assert.ok(im.ok, im.error && im.error.error.message);
  assert.deepEqual((await sql('SELECT id, t, n::text FROM msgback ORDER BY id')).rows, [
    { id: 1, t: 'first', n: null },
    { id: 2, t: null, n: '1.50' },
    { id: 3, t: 'x,"y"', n: '3' },
  ]);
});

test('a failing object rolls the whole import back', async () => {
  await sql(`DROP TABLE IF EXISTS dst4; CREATE TABLE dst4 (id int8, t text)`);
  const c = oss.client({ bucket: 'rt-bucket' });
  await c.put('partial/a.csv', Buffer.from('1,one\n2,two\n'));
  await c.put('partial/b.csv', Buffer.from('3,three\nnot-a-number,four\n'));
  const { flow, creds } = await flowWith([importDef({ table: 'dst4', prefix: 'partial/' }), ...sinks(), catcher()]);
  await helper.load(NODES, flow, creds);
  const im = await run('imp1', { payload: 'go' }, 'out2');
  assert.ok(im.error, 'import must fail');
  assert.match(im.error.error.message, /invalid input syntax for type bigint/);
  assert.equal((await sql('SELECT count(*)::int AS n FROM dst4')).rows[0].n, 0);
});

test('truncate first: replaces the rows in one transaction, and keeps them when the import fails', async () => {
  await sql(`DROP TABLE IF EXISTS dst5; CREATE TABLE dst5 (id int8, t text); INSERT INTO dst5 VALUES (100, 'old')`);
  const c = oss.client({ bucket: 'rt-bucket' });
  await c.put('trunc-ok/a.csv', Buffer.from('1,one\n2,two\n'));
  await c.put('trunc-bad/a.csv', Buffer.from('3,three\nnot-a-number,four\n'));
  const { flow, creds } = await flowWith([importDef({ table: 'dst5', prefix: 'trunc-bad/', truncate: true }), ...sinks(), catcher()]);
  await helper.load(NODES, flow, creds);
  const bad = await run('imp1', { payload: 'go' }, 'out2');
  assert.ok(bad.error, 'import must fail');
  assert.deepEqual((await sql('SELECT id::int, t FROM dst5 ORDER BY id')).rows, [{ id: 100, t: 'old' }], 'TRUNCATE rolled back');
  const ok = await run('imp1', { payload: 'go', prefix: 'trunc-ok/' }, 'out2');
  assert.ok(ok.ok, ok.error && ok.error.error.message);
  assert.deepEqual((await sql('SELECT id::int, t FROM dst5 ORDER BY id')).rows, [{ id: 1, t: 'one' }, { id: 2, t: 'two' }]);
});

test('close during an export aborts it and leaves no dangling multipart upload', async () => {
  await sql(`DROP TABLE IF EXISTS big; CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g+1)::text) AS t FROM generate_series(1, 400000) g`);
  const { flow, creds } = await flowWith([exportDef({ table: 'big', prefix: 'cancel/', compression: 0, objectSizeMB: 512, partSizeMB: 1, parallelParts: 1 }), ...sinks(), catcher()]);
  await helper.load(NODES, flow, creds);
  oss.emu.clearRequests();
  helper.getNode('exp1').receive({ payload: 'go' });
  // A second export waits in the node's queue; close must not start it.
  helper.getNode('exp1').receive({ payload: 'go', prefix: 'cancel2/' });
  const t0 = Date.now();
  while (!oss.emu.requests().some((r) => r.operation === 'UploadPart' && r.key.startsWith('cancel/'))) {
    if (Date.now() - t0 > 30000) throw new Error('no part was uploaded within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await oss.emu.listMultipartUploads('rt-bucket')).length, 1, 'an upload is in progress');
  await helper.unload();
  // The abort may still be in flight on the emulator side for a moment.
  let left = await oss.emu.listMultipartUploads('rt-bucket');
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await oss.emu.listMultipartUploads('rt-bucket');
  }
  assert.deepEqual(left, []);
  const listed = await oss.client({ bucket: 'rt-bucket' }).listV2({ prefix: 'cancel/' });
  assert.deepEqual(listed.objects || [], [], 'no partial object was completed');
  assert.deepEqual(oss.emu.requests().filter((r) => r.key.startsWith('cancel2/')), [], 'the queued export never started');
});
