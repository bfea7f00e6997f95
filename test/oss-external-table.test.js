'use strict';
// Golden outputs of the gpossext DDL builder, and hostile values rejected or quoted.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const {
  buildCreateExternalTable, buildDropExternalTable, buildOssLocation, externalTableName, redactSecrets,
  buildExternalExportSql, buildExternalImportSql, ExternalTableError,
} = require('../dist/oss/external-table');

const SECRET = 'Sup3rSecretKeyValue';
const LOC = {
  endpoint: 'oss-cn-hangzhou-internal.aliyuncs.com', bucket: 'my-bucket', accessKeyId: 'LTAI5tExampleId', accessKeySecret: SECRET,
  mode: 'prefix', path: 'exports/sales/2024-06-01/', compression: 'gzip',
};
const EP = 'oss://oss-cn-hangzhou-internal.aliyuncs.com';

function readable(over = {}, loc = {}) {
  return buildCreateExternalTable({ direction: 'readable', name: 'ext_sales_in', like: { schema: 'public', table: 'sales' }, format: 'csv', ...over }, { ...LOC, ...loc });
}
function writable(over = {}, loc = {}) {
  return buildCreateExternalTable({ direction: 'writable', name: 'ext_sales_out', like: { schema: 'public', table: 'sales' }, format: 'csv', ...over }, { ...LOC, mode: 'dir', ...loc });
}
function rejects(fn, field) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ExternalTableError, `ExternalTableError, got ${e && e.constructor.name}: ${e && e.message}`);
    assert.equal(e.code, 'OSS_DDL');
    assert.equal(e.field, field, e.message);
    assert.ok(!e.message.includes(SECRET), 'the secret never appears in an error');
    return true;
  });
}

test('readable gzip CSV under a prefix with a reject limit (golden)', () => {
  const { sql, redacted } = readable({ reject: { limit: 5, unit: 'ROWS', logErrors: true } });
  assert.equal(sql,
    `CREATE READABLE EXTERNAL TEMP TABLE "ext_sales_in" (LIKE "public"."sales") LOCATION ('${EP} prefix=exports/sales/2024-06-01/ id=LTAI5tExampleId key=${SECRET} bucket=my-bucket compressiontype=gzip') ` +
    `FORMAT 'csv' (DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8' LOG ERRORS SEGMENT REJECT LIMIT 5 ROWS`);
  assert.equal(redacted, sql.replace('id=LTAI5tExampleId', 'id=XXX').replace(`key=${SECRET}`, 'key=XXX'));
  assert.ok(!redacted.includes(SECRET) && !redacted.includes('LTAI5tExampleId'));
});

test('readable TEXT from dir, no compression, async=false, percent reject without log (golden)', () => {
  const { sql } = readable({ format: 'text', reject: { limit: 10, unit: 'PERCENT', logErrors: false } }, { mode: 'dir', path: 'osstest/', compression: 'none', async: false });
  assert.equal(sql,
    `CREATE READABLE EXTERNAL TEMP TABLE "ext_sales_in" (LIKE "public"."sales") LOCATION ('${EP} dir=osstest/ id=LTAI5tExampleId key=${SECRET} bucket=my-bucket async=false') ` +
    `FORMAT 'text' ENCODING 'UTF8' SEGMENT REJECT LIMIT 10 PERCENT`);
});

test('readable filepath with every timeout option (golden)', () => {
  const { redacted } = readable({}, { mode: 'filepath', path: 'osstest/example.csv', compression: 'none', async: true, connectTimeoutS: 10, dnsCacheTimeoutS: 60, speedLimitBps: 1024, speedTimeS: 15 });
  assert.equal(redacted,
    `CREATE READABLE EXTERNAL TEMP TABLE "ext_sales_in" (LIKE "public"."sales") LOCATION ('${EP} filepath=osstest/example.csv id=XXX key=XXX bucket=my-bucket async=true oss_connect_timeout=10 oss_dns_cache_timeout=60 oss_speed_limit=1024 oss_speed_time=15') ` +
    `FORMAT 'csv' (DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8'`);
});

test('writable gzip CSV with every export parameter, distributed by (golden)', () => {
  const { redacted } = writable({ distributedBy: ['id', 'weird"col'] }, { compressionLevel: 1, parallelWorkers: 6, fileMaxMB: 256, flushBlockMB: 32 });
  assert.equal(redacted,
    `CREATE WRITABLE EXTERNAL TEMP TABLE "ext_sales_out" (LIKE "public"."sales") LOCATION ('${EP} dir=exports/sales/2024-06-01/ id=XXX key=XXX bucket=my-bucket compressiontype=gzip compressionlevel=1 num_parallel_worker=6 oss_file_max_size=256 oss_flush_block_size=32') ` +
    `FORMAT 'csv' (DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8' DISTRIBUTED BY ("id", "weird""col")`);
});

test('writable TEXT with custom delimiter and null, randomly distributed, prefix mode (golden)', () => {
  const { redacted } = writable({ format: 'text', delimiter: '|', nullString: '\\N', distributedBy: 'RANDOMLY' }, { mode: 'prefix', path: 'out/t_', compression: 'none' });
  assert.equal(redacted,
    `CREATE WRITABLE EXTERNAL TEMP TABLE "ext_sales_out" (LIKE "public"."sales") LOCATION ('${EP} prefix=out/t_ id=XXX key=XXX bucket=my-bucket') ` +
    `FORMAT 'text' (DELIMITER '|') ENCODING 'UTF8' DISTRIBUTED RANDOMLY`);
  const t2 = writable({ format: 'text', nullString: 'NULL\\x' }, { compression: 'none' }).redacted;
  assert.match(t2, /FORMAT 'text' \(NULL E'NULL\\\\x'\)/, 'a backslash goes into an E-literal with the backslash doubled');
});

test('CSV format overrides: quote, escape and null literals are quoted', () => {
  const { sql } = readable({ delimiter: ';', quote: "'", escape: '\\', nullString: 'N/A' });
  assert.match(sql, /FORMAT 'csv' \(DELIMITER ';' QUOTE '''' ESCAPE E'\\\\' NULL 'N\/A'\)/);
});

test('the endpoint is normalised: scheme stripped, lower-cased; ports and paths rejected', () => {
  assert.match(readable({}, { endpoint: 'HTTPS://OSS-cn-Hangzhou.aliyuncs.com/' }).sql, /'oss:\/\/oss-cn-hangzhou\.aliyuncs\.com prefix=/);
  rejects(() => readable({}, { endpoint: '127.0.0.1:9000' }), 'endpoint');
  rejects(() => readable({}, { endpoint: 'oss.aliyuncs.com/x' }), 'endpoint');
  rejects(() => readable({}, { endpoint: 'oss.aliyuncs.com id=evil' }), 'endpoint');
});

test('hostile paths are rejected: whitespace, quote, id= inside a prefix, semicolon, .., //, leading /', () => {
  for (const path of ['a b/', 'a\tb/', "it's/", 'x/id=AKID/', 'x/key=y', 'a;DROP TABLE t;/', '../up/', 'a//b/', '/abs/', '', 'a\nb/', 'ümlaut/']) {
    rejects(() => readable({}, { path }), 'path');
  }
  rejects(() => writable({}, { mode: 'dir', path: 'no/slash' }), 'path');
  rejects(() => writable({}, { mode: 'filepath', path: 'a.csv' }), 'mode');
});

test('hostile credentials are rejected without echoing them', () => {
  for (const accessKeySecret of ['has space', "quo'te", 'a=b', 'back\\slash', '', 'x id=y']) {
    assert.throws(() => readable({}, { accessKeySecret }), (e) => e.field === 'accessKeySecret' && !e.message.includes(accessKeySecret || '\u0000'));
  }
  rejects(() => readable({}, { accessKeyId: 'id key=x' }), 'accessKeyId');
});

test('bucket, numbers, direction-specific options and names are validated', () => {
  rejects(() => readable({}, { bucket: 'B1' }), 'bucket');
  rejects(() => readable({}, { bucket: 'my_bucket' }), 'bucket');
  rejects(() => writable({}, { compressionLevel: 10 }), 'compressionLevel');
  rejects(() => writable({}, { compressionLevel: 1.5 }), 'compressionLevel');
  rejects(() => writable({}, { parallelWorkers: 9 }), 'parallelWorkers');
  rejects(() => writable({}, { fileMaxMB: 4 }), 'fileMaxMB');
  rejects(() => writable({}, { flushBlockMB: 200 }), 'flushBlockMB');
  rejects(() => writable({}, { fileMaxMB: 16, flushBlockMB: 32 }), 'flushBlockMB');
  rejects(() => writable({}, { compression: 'none', compressionLevel: 6 }), 'compressionLevel');
  rejects(() => readable({}, { compressionLevel: 6 }), 'compressionLevel');
  rejects(() => writable({}, { async: true }), 'async');
  rejects(() => readable({}, { compression: 'bzip2' }), 'compression');
  rejects(() => readable({}, { connectTimeoutS: 0 }), 'connectTimeoutS');
  rejects(() => readable({ distributedBy: ['id'] }), 'distributedBy');
  rejects(() => writable({ reject: { limit: 5, unit: 'ROWS', logErrors: false } }), 'reject');
  rejects(() => readable({ reject: { limit: 1, unit: 'ROWS', logErrors: false } }), 'reject');
  rejects(() => readable({ reject: { limit: 101, unit: 'PERCENT', logErrors: false } }), 'reject');
  rejects(() => readable({ name: 'Ext-1' }), 'name');
  rejects(() => readable({ name: 'x"; DROP TABLE t; --' }), 'name');
  rejects(() => readable({ delimiter: '||' }), 'delimiter');
  rejects(() => readable({ format: 'orc' }), 'format');
});

test('identifiers with quotes and semicolons are quoted, not rejected', () => {
  const { sql } = readable({ like: { schema: 'my "schema"', table: 'sales; DROP TABLE x' } });
  assert.match(sql, /\(LIKE "my ""schema"""\."sales; DROP TABLE x"\)/);
});

test('drop, insert-select helpers and generated names', () => {
  assert.equal(buildDropExternalTable('ext_sales_in'), 'DROP EXTERNAL TABLE IF EXISTS pg_temp."ext_sales_in"');
  assert.throws(() => buildDropExternalTable('a;b'), ExternalTableError);
  assert.equal(buildExternalImportSql({ schema: 'public', table: 'sales' }, 'ext_in'), 'INSERT INTO "public"."sales" SELECT * FROM "ext_in"');
  assert.equal(buildExternalExportSql('ext_out', { table: 'sales' }), 'INSERT INTO "ext_out" SELECT * FROM "sales"');
  assert.equal(buildExternalExportSql('ext_out', { query: 'SELECT 1' }), 'INSERT INTO "ext_out" SELECT * FROM (SELECT 1) AS src');
  const a = externalTableName('Sales Export-2024!');
  const b = externalTableName('Sales Export-2024!');
  assert.match(a, /^sales_export_2024_[0-9a-f]{6}$/);
  assert.notEqual(a, b);
  assert.match(externalTableName('9lives'), /^ext_9lives_[0-9a-f]{6}$/);
  assert.ok(externalTableName('x'.repeat(200)).length <= 63);
});

test('buildOssLocation and redactSecrets never let the key through', () => {
  const loc = buildOssLocation(LOC, 'readable');
  assert.equal(loc.redacted, `${EP} prefix=exports/sales/2024-06-01/ id=XXX key=XXX bucket=my-bucket compressiontype=gzip`);
  const dbError = `ERROR: invalid location uri "${loc.sql}"`;
  const clean = redactSecrets(dbError, [SECRET]);
  assert.ok(!clean.includes(SECRET) && !clean.includes('LTAI5tExampleId'), clean);
  assert.match(clean, /id=XXX key=XXX bucket=my-bucket/);
  assert.equal(redactSecrets(`secret was ${SECRET}.`, [SECRET]), 'secret was XXX.');
});

test('readable CSV with HEADER, NEWLINE and FILL MISSING FIELDS (golden)', () => {
  const { redacted } = readable({ header: true, newline: 'CRLF', fillMissingFields: true }, { compression: 'none' });
  assert.equal(redacted,
    `CREATE READABLE EXTERNAL TEMP TABLE "ext_sales_in" (LIKE "public"."sales") LOCATION ('${EP} prefix=exports/sales/2024-06-01/ id=XXX key=XXX bucket=my-bucket') ` +
    `FORMAT 'csv' (HEADER DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '' NEWLINE 'CRLF' FILL MISSING FIELDS) ENCODING 'UTF8'`);
});

test('readable TEXT: HEADER alone, NEWLINE alone, and with a delimiter and reject limit (golden)', () => {
  assert.match(readable({ format: 'text', header: true }).sql, /FORMAT 'text' \(HEADER\) ENCODING 'UTF8'$/);
  assert.match(readable({ format: 'text', newline: 'LF' }).sql, /FORMAT 'text' \(NEWLINE 'LF'\) ENCODING 'UTF8'$/);
  assert.match(readable({ format: 'text', header: false, fillMissingFields: false }).sql, /FORMAT 'text' ENCODING 'UTF8'$/, 'false options write nothing');
  const { redacted } = readable({ format: 'text', delimiter: '|', nullString: '', header: true, newline: 'CR', reject: { limit: 3, unit: 'ROWS', logErrors: true } }, { mode: 'dir', path: 'in/', compression: 'gzip' });
  assert.equal(redacted,
    `CREATE READABLE EXTERNAL TEMP TABLE "ext_sales_in" (LIKE "public"."sales") LOCATION ('${EP} dir=in/ id=XXX key=XXX bucket=my-bucket compressiontype=gzip') ` +
    `FORMAT 'text' (HEADER DELIMITER '|' NULL '' NEWLINE 'CR') ENCODING 'UTF8' LOG ERRORS SEGMENT REJECT LIMIT 3 ROWS`);
});

test('writable tables refuse HEADER, NEWLINE and FILL MISSING FIELDS with a clear error; bad values are rejected', () => {
  rejects(() => writable({ header: true }), 'header');
  assert.throws(() => writable({ header: true }), /header is not supported by oss_ext writable tables .*use client mode/);
  rejects(() => writable({ newline: 'LF' }), 'newline');
  rejects(() => writable({ fillMissingFields: true }), 'fillMissingFields');
  assert.doesNotMatch(writable({ header: false, fillMissingFields: false }).sql, /HEADER|FILL/);
  rejects(() => readable({ newline: 'LFCR' }), 'newline');
  rejects(() => readable({ newline: "LF') x" }), 'newline');
  rejects(() => readable({ header: 'yes' }), 'header');
});

test('import INSERT with a column list names the columns in file order', () => {
  assert.equal(buildExternalImportSql({ schema: 'public', table: 'sales' }, 'ext_in', ['b', 'A"x']), 'INSERT INTO "public"."sales" ("b", "A""x") SELECT * FROM "ext_in"');
  assert.equal(buildExternalImportSql({ table: 'sales' }, 'ext_in', []), 'INSERT INTO "sales" SELECT * FROM "ext_in"');
  rejects(() => buildExternalImportSql({ table: 'sales' }, 'ext_in', ['']), 'columns');
});

test('external tables are TEMP by default (TEMP after EXTERNAL, the Greenplum 6 order); the DROP is pg_temp-qualified', () => {
  for (const [build, kind] of [[readable, 'READABLE'], [writable, 'WRITABLE']]) {
    const { sql, redacted } = build();
    assert.ok(sql.startsWith(`CREATE ${kind} EXTERNAL TEMP TABLE "`), sql);
    assert.ok(redacted.startsWith(`CREATE ${kind} EXTERNAL TEMP TABLE "`), redacted);
    assert.ok(!/CREATE (TEMP|TEMPORARY) /.test(sql), 'CREATE TEMP EXTERNAL TABLE is a syntax error on Greenplum 6');
    assert.ok(!/IF NOT EXISTS/.test(sql), 'no IF NOT EXISTS on external tables');
    const plain = build({ temporary: false }).sql;
    assert.ok(plain.startsWith(`CREATE ${kind} EXTERNAL TABLE "`), plain);
  }
  rejects(() => readable({ temporary: 'yes' }), 'temporary');
  assert.equal(buildDropExternalTable('ext_sales_in', false), 'DROP EXTERNAL TABLE IF EXISTS "ext_sales_in"');
});
