'use strict';
// What HEADER on a readable oss:// table does on the real cluster (2 primary segments): Greenplum
// skips the first line of each segment's data stream, and oss_ext hands a segment all the objects
// it reads as one stream. The import plan relies on this (externalImportObstacle): HEADER goes
// into the DDL only while no segment reads more than one object.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { Client } = require('pg');
const { greenplumFromEnv, createGreenplumDatabase, startOssEmulatorForOssExt } = require('../support/greenplum');
const { buildCreateExternalTable, buildDropExternalTable, buildExternalImportSql } = require('../../dist/oss/external-table');

const BUCKET = 'gp-header';
let client;
let oss;

before(async () => {
  const url = await createGreenplumDatabase(greenplumFromEnv().url, 'hdr_' + crypto.randomBytes(4).toString('hex'));
  client = new Client({ connectionString: url });
  await client.connect();
  oss = await startOssEmulatorForOssExt({ buckets: [BUCKET] });
  await client.query('CREATE TABLE t (id int, name text) DISTRIBUTED BY (id)');
  assert.equal((await client.query("SELECT count(*)::int AS n FROM gp_segment_configuration WHERE role = 'p' AND content >= 0")).rows[0].n, 2);
});

after(async () => {
  if (client) await client.end();
  if (oss) await oss.stop();
});

/** Puts `objects` objects, each a header line and 3 rows; reads them through HEADER; returns ids and rejected lines. */
async function readWithHeader(objects, gzip, mode) {
  const dir = `h${objects}-${gzip ? 'gz' : 'plain'}-${mode}/`;
  const put = oss.client({ bucket: BUCKET });
  for (let i = 0; i < objects; i++) {
    const body = Buffer.from(`id,name\n${i * 10 + 1},a\n${i * 10 + 2},b\n${i * 10 + 3},c\n`);
    await put.put(`${dir}obj${i}.csv`, gzip ? zlib.gzipSync(body) : body);
  }
  const name = `r_${objects}_${gzip ? 'gz' : 'pl'}_${mode}`;
  await client.query(buildCreateExternalTable(
    { direction: 'readable', name, like: { schema: 'public', table: 't' }, format: 'csv', header: true, reject: { limit: 100, unit: 'ROWS', logErrors: true } },
    { endpoint: oss.ip, bucket: BUCKET, accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret, mode, path: dir, compression: gzip ? 'gzip' : 'none' },
  ).sql);
  try {
    await client.query('TRUNCATE t');
    // INSERT … SELECT as the node does (this build stubs out aggregate push-down into external scans).
    await client.query(buildExternalImportSql({ schema: 'public', table: 't' }, name));
    const ids = (await client.query('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id);
    const rejected = (await client.query(`SELECT rawdata FROM gp_read_error_log('${name}')`)).rows.map((r) => r.rawdata);
    return { ids, rejected };
  } finally {
    await client.query(buildDropExternalTable(name));
  }
}

const expectedIds = (objects) => Array.from({ length: objects }, (_, i) => [i * 10 + 1, i * 10 + 2, i * 10 + 3]).flat();

for (const gzip of [false, true]) {
  for (const mode of ['prefix', 'dir']) {
    for (const objects of [1, 2]) {
      test(`HEADER, ${objects} object(s) with a header line each on 2 segments (${gzip ? 'gzip' : 'plain'}, ${mode}=): every header skipped, every row loaded`, async () => {
        const r = await readWithHeader(objects, gzip, mode);
        assert.deepEqual(r, { ids: expectedIds(objects), rejected: [] });
      });
    }
    test(`HEADER, 3 objects on 2 segments (${gzip ? 'gzip' : 'plain'}, ${mode}=): one header line reaches the parser as a row`, async () => {
      const r = await readWithHeader(3, gzip, mode);
      assert.deepEqual(r.ids, expectedIds(3));
      assert.deepEqual(r.rejected, ['id,name'], 'the second object a segment reads keeps its header line');
    });
  }
}
