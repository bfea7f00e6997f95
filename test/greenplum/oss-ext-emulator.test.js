'use strict';
// The real oss_ext (in a real Greenplum) against our OSS emulator: every segment writes its
// rows with AppendObject (Transfer-Encoding: chunked + Content-Length) and reads them back
// after a ListObjects. With a bare-IP endpoint oss_ext addresses the bucket path-style on port
// 80 and signs the listing over "/bucket"; the emulator listens on a random 127.x.y.z:80 so
// parallel runs do not collide (binding port 80 needs root, as the harness is).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Client } = require('pg');
const { greenplumFromEnv, createGreenplumDatabase, startOssEmulatorForOssExt } = require('../support/greenplum');
const { buildCreateExternalTable, buildDropExternalTable, buildExternalExportSql, buildExternalImportSql } = require('../../dist/oss/external-table');

const ROWS = 1000;
let gp;
let client;
let oss;
let ip;

before(async () => {
  gp = greenplumFromEnv();
  const url = await createGreenplumDatabase(gp.url, 'ossext_' + crypto.randomBytes(4).toString('hex'));
  client = new Client({ connectionString: url });
  await client.connect();
  oss = await startOssEmulatorForOssExt({ buckets: ['gp-bucket'] });
  ip = oss.ip;
  await client.query('CREATE TABLE src (id int, name text, amount numeric(12,2), note text) DISTRIBUTED BY (id)');
  await client.query(`INSERT INTO src SELECT i, 'name ' || i, i * 1.25, CASE WHEN i % 7 = 0 THEN NULL WHEN i % 5 = 0 THEN 'comma, "quote"' ELSE 'n' || (i % 13) END
    FROM generate_series(1, ${ROWS}) AS i`);
  await client.query('CREATE TABLE dst (LIKE src) DISTRIBUTED BY (id)');
});

after(async () => {
  if (client) await client.end();
  if (oss) await oss.stop();
});

const location = (over) => ({ endpoint: ip, bucket: 'gp-bucket', accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret, ...over });
const checksum = async (table) => (await client.query(`SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY id)) AS sum FROM ${table} t`)).rows[0];

async function listUnder(prefix) {
  const c = oss.client({ bucket: 'gp-bucket' });
  const out = [];
  let marker;
  for (let page = 0; page < 100; page++) {
    const r = await c.list({ prefix, marker, 'max-keys': 1000 });
    out.push(...(r.objects || []));
    if (!r.isTruncated) break;
    marker = r.nextMarker;
  }
  return out;
}

for (const { format, compression } of [{ format: 'csv', compression: 'none' }, { format: 'text', compression: 'gzip' }]) {
  test(`oss_ext writes ${format}/${compression} through AppendObject and reads it back through a path-style listing`, async () => {
    const dir = `exp/${format}-${compression}/`;
    const w = `ext_w_${format}_${compression}`;
    const r = `ext_r_${format}_${compression}`;
    oss.emu.clearRequests();
    await client.query(buildCreateExternalTable({ direction: 'writable', name: w, like: { schema: 'public', table: 'src' }, format, distributedBy: 'RANDOMLY' },
      location({ mode: 'dir', path: dir, compression })).sql);
    try {
      const ins = await client.query(buildExternalExportSql(w, { schema: 'public', table: 'src' }));
      assert.equal(ins.rowCount, ROWS);
    } finally {
      await client.query(buildDropExternalTable(w));
    }
    const appends = oss.emu.requests().filter((q) => q.operation === 'AppendObject');
    assert.ok(appends.length >= 2, `one append or more per segment, got ${appends.length}`);
    assert.deepEqual([...new Set(appends.map((q) => q.status))], [200], 'every append accepted');
    const objects = await listUnder(dir);
    assert.ok(objects.length >= 2, `objects under ${dir}: ${objects.map((o) => o.name).join(', ')}`);
    assert.ok(objects.reduce((s, o) => s + o.size, 0) > ROWS * 5, 'the objects hold the rows');

    oss.emu.clearRequests();
    await client.query('TRUNCATE dst');
    await client.query(buildCreateExternalTable({ direction: 'readable', name: r, like: { schema: 'public', table: 'dst' }, format },
      location({ mode: 'dir', path: dir, compression })).sql);
    try {
      const imp = await client.query(buildExternalImportSql({ schema: 'public', table: 'dst' }, r));
      assert.equal(imp.rowCount, ROWS);
    } finally {
      await client.query(buildDropExternalTable(r));
    }
    const lists = oss.emu.requests().filter((q) => q.operation === 'ListObjects');
    assert.ok(lists.length >= 1 && lists.every((q) => q.status === 200), `listings: ${JSON.stringify(lists.map((q) => q.status))}`);
    assert.deepEqual(await checksum('dst'), await checksum('src'));
  });
}
