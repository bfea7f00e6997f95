'use strict';
// The same dialog selects the same objects in client and external mode, from one listing of
// the OSS emulator (real ali-oss); gzip sniffing of every object before an external import;
// the exported gzip objects of the node's table path (gzip pool, stripes) are single
// members; and the node-level wiring of "folder only", "fill missing fields" and the
// external-mode refusals, in a real Node-RED runtime with a real PostgreSQL.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode, outcome, TAB } = require('./support/oss-nodes');
const { listObjects, sniffGzip, exportQueryToOss, GzipPool } = require('../dist/oss');
const { objectSelection, externalImportPlan, externalImportObstacle } = require('../dist/oss');

const accountNode = require('../dist/nodes/oss-account.js');
const dbNode = require('../dist/nodes/greenplum-db.js');
const exportNode = require('../dist/nodes/oss-export.js');
const importNode = require('../dist/nodes/oss-import.js');
const NODES = [accountNode, dbNode, exportNode, importNode];

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['sel-bucket'] });
const helper = useHelper();
const LOC = { endpoint: 'oss-cn-hangzhou-internal.aliyuncs.com', bucket: 'sel-bucket', accessKeyId: 'AKID', accessKeySecret: 'SECRET' };

const KEYS = [
  'sel/a.csv', 'sel/b.csv', 'sel/day1/', 'sel/day1/c.csv', 'sel/day1/deep/d.csv', 'sel/day10/e.csv', 'sel/daylog.csv', 'self.csv', 'other/x.csv',
];

async function putAll(client, keys, body = (k) => Buffer.from(`${k},1\n`)) {
  for (const k of keys) await client.put(k, k.endsWith('/') ? Buffer.alloc(0) : body(k));
}

/** oss_ext's reading of a LOCATION over a raw listing (ossapi.c list_ossfiles_ondir). */
function ossExtSelect(rawKeys, mode, path) {
  return rawKeys
    .filter((k) => k.startsWith(path) && !k.endsWith('/'))
    .filter((k) => mode === 'prefix' || !k.slice(path.length).includes('/'))
    .sort();
}

test('from one listing, the external plan and the client plan select the same objects for every dialog setting', async () => {
  const client = oss.client();
  await putAll(client, KEYS);
  const raw = (await client.listV2({ prefix: '', 'max-keys': 1000 })).objects.map((o) => o.name);
  assert.deepEqual([...raw].sort(), [...KEYS].sort(), 'the listing holds every key, folder marker included');
  const seen = new Map();
  for (const [prefix, folderOnly] of [['sel/', false], ['sel/', true], ['sel/day1', false], ['sel/day1/', true], ['sel/day1/', false], ['sel', false], ['other/', true]]) {
    const plan = externalImportPlan({ target: { schema: 'public', table: 't' }, prefix, folderOnly, format: { format: 'csv' }, gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: LOC, name: 't_000001' });
    const m = / (prefix|dir)=(\S+) id=/.exec(plan.create.sql);
    assert.ok(m, plan.create.redacted);
    const external = ossExtSelect(raw, m[1], m[2]);
    const sel = objectSelection(prefix, folderOnly);
    const clientKeys = (await listObjects(client, sel.list.prefix, { directOnly: sel.list.directOnly })).map((o) => o.key);
    assert.deepEqual(clientKeys, external, `${prefix} folderOnly=${folderOnly}: ${m[1]}=${m[2]}`);
    seen.set(`${prefix}|${folderOnly}`, clientKeys);
  }
  // Not vacuous: the prefix is recursive, "folder only" is not, and a bare prefix matches names.
  assert.deepEqual(seen.get('sel/|false'), ['sel/a.csv', 'sel/b.csv', 'sel/day1/c.csv', 'sel/day1/deep/d.csv', 'sel/day10/e.csv', 'sel/daylog.csv']);
  assert.deepEqual(seen.get('sel/|true'), ['sel/a.csv', 'sel/b.csv', 'sel/daylog.csv']);
  assert.deepEqual(seen.get('sel/day1|false'), ['sel/day1/c.csv', 'sel/day1/deep/d.csv', 'sel/day10/e.csv']);
  assert.deepEqual(seen.get('sel/day1/|true'), ['sel/day1/c.csv']);
  assert.deepEqual(seen.get('sel|false'), [...seen.get('sel/|false'), 'self.csv']);
});

test('sniffGzip reads two bytes of every object; a mixed set is refused naming a key of each', async () => {
  const client = oss.client();
  await client.put('mix/1.csv', zlib.gzipSync('a,1\n'));
  await client.put('mix/2.csv', Buffer.from('b,2\n'));
  await client.put('mix/3.csv', Buffer.alloc(0));
  await client.put('mix/4.bin', Buffer.from([0x1f]));
  await client.put('gz/1', zlib.gzipSync('a,1\n'));
  await client.put('gz/2', zlib.gzipSync('b,2\n'));
  const before = oss.emu.requests().length;
  const mixed = await sniffGzip(client, await listObjects(client, 'mix/'), { parallel: 2 });
  assert.deepEqual(mixed.map((o) => [o.key, o.gzip]), [['mix/1.csv', true], ['mix/2.csv', false], ['mix/3.csv', false], ['mix/4.bin', false]]);
  const gets = oss.emu.requests().slice(before).filter((r) => r.operation === 'GetObject');
  assert.equal(gets.length, 3, 'one ranged GET per non-empty object');
  assert.ok(gets.every((r) => r.bytes <= 2), `at most 2 bytes each: ${gets.map((r) => r.bytes)}`);
  const why = externalImportObstacle({ objects: mixed, segments: 4, header: false });
  assert.match(why, /"mix\/1\.csv" is gzip, "mix\/2\.csv" is not/);
  const gz = await sniffGzip(client, await listObjects(client, 'gz/'));
  assert.ok(gz.every((o) => o.gzip));
  assert.equal(externalImportObstacle({ objects: gz, segments: 4, header: false }), null);
});

/** Number of gzip members in `buf` (RFC 1952), walking header, deflate data and trailer. */
function gzipMembers(buf) {
  let pos = 0;
  let n = 0;
  while (pos < buf.length) {
    assert.deepEqual([buf[pos], buf[pos + 1], buf[pos + 2]], [0x1f, 0x8b, 0x08], `member ${n} header at ${pos}`);
    const flags = buf[pos + 3];
    let p = pos + 10;
    if (flags & 4) p += 2 + buf.readUInt16LE(p); // FEXTRA
    if (flags & 8) p = buf.indexOf(0, p) + 1; // FNAME
    if (flags & 16) p = buf.indexOf(0, p) + 1; // FCOMMENT
    if (flags & 2) p += 2; // FHCRC
    const { engine } = zlib.inflateRawSync(buf.subarray(p), { info: true });
    pos = p + engine.bytesWritten + 8;
    n++;
  }
  assert.equal(pos, buf.length, 'nothing after the last member');
  return n;
}

test('gzipMembers counts concatenated members (the check below can fail)', () => {
  assert.equal(gzipMembers(zlib.gzipSync('x'.repeat(1000))), 1);
  assert.equal(gzipMembers(Buffer.concat([zlib.gzipSync('a\n'), zlib.gzipSync('b\n'), zlib.gzipSync('c\n')])), 3);
});

test('every gzip object the export writes (gzip pool and stripes, as oss-export uses) is a single gzip member', async () => {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  const pool = new GzipPool({ size: 2 });
  try {
    await c.query(`CREATE TABLE gz_src AS SELECT g AS id, md5(g::text) || repeat('x', g % 50) AS t FROM generate_series(1, 40000) g`);
    const ex = await exportQueryToOss({
      pgClient: c, table: 'gz_src', format: { format: 'csv' }, gzipLevel: 1, prefix: 'members/', name: 'gz', oss: oss.client(),
      rolloverBytes: 256 * 1024, upload: { partSize: 100 * 1024, parallel: 2 }, stripes: 2, gzipPool: pool,
    });
    assert.ok(ex.objects.length >= 4, `${ex.objects.length} objects`);
    let rows = 0;
    for (const o of ex.objects) {
      const body = (await oss.client().get(o.key)).content;
      assert.equal(gzipMembers(body), 1, o.key);
      rows += zlib.gunzipSync(body).toString().split('\n').length - 1;
    }
    assert.equal(rows, 40000);
  } finally {
    await pool.close();
    await c.end();
  }
});

// ---- node wiring -------------------------------------------------------------------------

async function sql(text) {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

function flow(nodes) {
  return [
    { id: TAB, type: 'tab' }, accountDef(oss), dbDef(pg), ...nodes,
    flowNode({ id: 'out1', type: 'helper' }), flowNode({ id: 'rows1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: null, wires: [['caught1']] }), flowNode({ id: 'caught1', type: 'helper' }),
  ];
}

async function run(nodeId, msg) {
  const o = outcome(helper.getNode('out1'), helper.getNode('caught1'), 60000);
  helper.getNode(nodeId).receive(msg);
  return o;
}

test('oss-import "folder only" loads the direct children only, into a table and as messages; without it, everything under the prefix', async () => {
  const client = oss.client();
  await putAll(client, ['fo/a.csv', 'fo/b.csv', 'fo/sub/c.csv', 'fo/sub/deep/d.csv'], (k) => Buffer.from(`${k},${k.length}\n`));
  await sql('CREATE TABLE fo_dst (k text, n int)');
  const imp = (id, extra) => flowNode({ id, type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'fo_dst', prefix: 'fo/', mode: 'auto', format: 'csv', wires: [['out1'], ['rows1']], ...extra });
  await helper.load(NODES, flow([imp('imp1', { folderOnly: true }), imp('imp2', {}), imp('imp3', { target: 'messages', folderOnly: true })]), credentials(oss, pg));
  const one = await run('imp1', {});
  assert.ok(one.ok, one.error && one.error.error.message);
  assert.deepEqual(one.ok.payload.objects.map((o) => o.key), ['fo/a.csv', 'fo/b.csv']);
  assert.deepEqual((await sql('SELECT k FROM fo_dst ORDER BY k')).rows.map((r) => r.k), ['fo/a.csv', 'fo/b.csv']);
  const all = await run('imp2', {});
  assert.ok(all.ok, all.error && all.error.error.message);
  assert.equal(all.ok.payload.rows, 4);
  const rows = [];
  helper.getNode('rows1').on('input', (m) => rows.push(...m.payload));
  const msgs = await run('imp3', {});
  assert.ok(msgs.ok, msgs.error && msgs.error.error.message);
  assert.deepEqual(rows.map((r) => r[0]), ['fo/a.csv', 'fo/b.csv']);
  // msg.prefix that is not a folder, with "folder only": a clear error.
  const bad = await run('imp1', { prefix: 'fo/a' });
  assert.match(bad.error.error.message, /"folder only" needs a prefix that names a folder, ending in "\/"/);
});

test('oss-import "fill missing fields" in client mode fails clearly; oss-export with a header in mode external is refused before any DDL', async () => {
  await oss.client().put('fm/a.csv', Buffer.from('x\n'));
  await sql('CREATE TABLE fm_dst (k text, n int)');
  await helper.load(NODES, flow([
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'fm_dst', prefix: 'fm/', mode: 'client', format: 'csv', fillMissing: true, wires: [['out1'], ['rows1']] }),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', database: 'db1', source: 'table', table: 'fm_dst', prefix: 'fmx/', mode: 'external', format: 'csv', header: true, compression: 0, wires: [['out1']] }),
  ]), credentials(oss, pg));
  const imp = await run('imp1', {});
  assert.match(imp.error.error.message, /"fill missing fields" needs external mode/);
  assert.equal((await sql('SELECT count(*)::int AS n FROM fm_dst')).rows[0].n, 0);
  const exp = await run('exp1', {});
  assert.match(exp.error.error.message, /external mode cannot export with these settings: header is not supported by oss_ext writable tables/);
  // auto on PostgreSQL uses client mode, which writes the header.
  const auto = await run('exp1', { mode: 'auto' });
  assert.ok(auto.ok, auto.error && auto.error.error.message);
  const key = auto.ok.payload.objects[0].key;
  assert.equal((await oss.client().get(key)).content.toString(), 'k,n\n');
});
