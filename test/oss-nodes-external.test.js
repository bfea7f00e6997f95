'use strict';
// External mode (Greenplum with oss_ext) of the OSS nodes: the exact statements the nodes run
// (golden SQL, pure functions), secrets only in the executed SQL never in the redacted text,
// and the plan runner on a real PostgreSQL (rows counted, table dropped in `finally`,
// transaction rolled back on failure, resolved schemas).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { externalExportPlan, externalImportPlan, runExternalPlan } = require('../dist/nodes/oss-shared/external-plan');
const { resolveTable } = require('../dist/nodes/oss-shared/db');

const pg = usePostgres();
const LOC = { endpoint: 'oss-cn-hangzhou-internal.aliyuncs.com', bucket: 'my-bucket', accessKeyId: 'AKID123', accessKeySecret: 'SeCrEt456' };

test('export plan of a table: writable gzip table, every LOCATION value explicit, INSERT … SELECT, drop', () => {
  const p = externalExportPlan({ source: { schema: 'public', table: 'sales' }, stem: 'sales', prefix: 'exports/sales/', format: { format: 'csv' }, level: 1, workers: 2, objectSizeMB: 256, location: LOC, name: 'sales_abc123' });
  assert.deepEqual(p.before, []);
  assert.equal(
    p.create.sql,
    `CREATE WRITABLE EXTERNAL TABLE "sales_abc123" (LIKE "public"."sales") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com dir=exports/sales/ id=AKID123 key=SeCrEt456 bucket=my-bucket compressiontype=gzip compressionlevel=1 num_parallel_worker=2 oss_file_max_size=256 oss_flush_block_size=32') FORMAT 'csv' (DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8' DISTRIBUTED RANDOMLY`,
  );
  assert.equal(p.create.redacted, p.create.sql.replace('id=AKID123 key=SeCrEt456', 'id=XXX key=XXX'));
  assert.deepEqual(p.run, ['INSERT INTO "sales_abc123" SELECT * FROM "public"."sales"']);
  assert.equal(p.countIndex, 0);
  assert.deepEqual(p.drop, ['DROP EXTERNAL TABLE IF EXISTS "sales_abc123"']);
  // A random, readable name when none is given (it appears in oss_ext's object names).
  const r = externalExportPlan({ source: { schema: 'public', table: 'Sensor Readings' }, stem: 'Sensor Readings', prefix: 'x/', format: { format: 'csv' }, level: 0, workers: 1, objectSizeMB: 1, location: LOC });
  assert.match(r.name, /^sensor_readings_[0-9a-f]{6}$/);
});

test('export plan of a query: a temporary shape table for LIKE, plain TEXT, prefix= location, sizes clamped', () => {
  const p = externalExportPlan({ source: { query: 'SELECT 1 AS x' }, stem: 'q', prefix: 'exp/q_', format: { format: 'text' }, level: 0, workers: 2, objectSizeMB: 4, location: LOC, name: 'q_abc123' });
  assert.deepEqual(p.before, ['CREATE TEMP TABLE "q_abc123_shape" AS SELECT * FROM (SELECT 1 AS x) AS q LIMIT 0']);
  assert.equal(
    p.create.sql,
    `CREATE WRITABLE EXTERNAL TABLE "q_abc123" (LIKE "pg_temp"."q_abc123_shape") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com prefix=exp/q_ id=AKID123 key=SeCrEt456 bucket=my-bucket oss_file_max_size=8 oss_flush_block_size=8') FORMAT 'text' ENCODING 'UTF8' DISTRIBUTED RANDOMLY`,
  );
  assert.deepEqual(p.run, ['INSERT INTO "q_abc123" SELECT * FROM (SELECT 1 AS x) AS src']);
  assert.deepEqual(p.drop, ['DROP EXTERNAL TABLE IF EXISTS "q_abc123"', 'DROP TABLE IF EXISTS pg_temp."q_abc123_shape"']);
});

test('import plan: readable table with reject limit and truncate in one transaction', () => {
  const p = externalImportPlan({ target: { schema: 'public', table: 'Sales' }, prefix: 'exports/sales/', format: { format: 'csv', delimiter: '|' }, gzip: true, rejectLimit: 5, rejectUnit: 'ROWS', truncate: true, location: LOC, name: 'sales_def456' });
  assert.equal(
    p.create.sql,
    `CREATE READABLE EXTERNAL TABLE "sales_def456" (LIKE "public"."Sales") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com dir=exports/sales/ id=AKID123 key=SeCrEt456 bucket=my-bucket compressiontype=gzip async=true') FORMAT 'csv' (DELIMITER '|' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8' LOG ERRORS SEGMENT REJECT LIMIT 5 ROWS`,
  );
  assert.ok(!p.create.redacted.includes('SeCrEt456') && !p.create.redacted.includes('AKID123'));
  assert.deepEqual(p.run, ['BEGIN', 'TRUNCATE "public"."Sales"', 'INSERT INTO "public"."Sales" SELECT * FROM "sales_def456"', 'COMMIT']);
  assert.equal(p.run[p.countIndex].startsWith('INSERT'), true);
  const plain = externalImportPlan({ target: { schema: 's', table: 't' }, prefix: 'in/t_', format: { format: 'text' }, gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: LOC, name: 't_000001' });
  assert.match(plain.create.sql, /prefix=in\/t_ id=AKID123 key=SeCrEt456 bucket=my-bucket async=true'\) FORMAT 'text' ENCODING 'UTF8'$/);
  assert.deepEqual(plain.run, ['BEGIN', 'INSERT INTO "s"."t" SELECT * FROM "t_000001"', 'COMMIT']);
});

test('hostile values are rejected before any SQL: empty prefix, spaces, quotes, "id=" in a prefix, bad key', () => {
  const base = { source: { schema: 'public', table: 't' }, stem: 't', format: { format: 'csv' }, level: 1, workers: 1, objectSizeMB: 8, location: LOC };
  assert.throws(() => externalExportPlan({ ...base, prefix: '' }), /non-empty prefix/);
  for (const prefix of ['a b/', "a'b/", 'x/id=evil/', 'a;b/']) {
    assert.throws(() => externalExportPlan({ ...base, prefix }), (e) => e.code === 'OSS_DDL' && e.field === 'path', prefix);
  }
  assert.throws(
    () => externalExportPlan({ ...base, prefix: 'ok/', location: { ...LOC, accessKeySecret: 'has space' } }),
    (e) => e.field === 'accessKeySecret' && !e.message.includes('has space'),
  );
  assert.throws(() => externalImportPlan({ target: { schema: 'public', table: 't' }, prefix: 'ok/', format: { format: 'csv' }, gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: { ...LOC, endpoint: 'evil.com key=x' } }), (e) => e.field === 'endpoint');
});

async function connect() {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  return c;
}

test('plan runner on PostgreSQL: counts rows, drops in finally, rolls back on failure, resolves schemas', async () => {
  const c = await connect();
  try {
    await c.query(`CREATE SCHEMA other; CREATE TABLE other.src (id int, t text); INSERT INTO other.src SELECT g, 'r' || g FROM generate_series(1, 50) g;
                   CREATE TABLE other.dst (id int, t text); SET search_path = other, public`);
    assert.deepEqual(await resolveTable(c, { table: 'src' }), { schema: 'other', table: 'src' });
    await assert.rejects(resolveTable(c, { table: 'nope' }), /"nope" does not exist/);
    // The same shape as an import plan, with a plain table standing in for the external one.
    const plan = {
      name: 'stand_in',
      before: [],
      create: { sql: 'CREATE TABLE stand_in AS SELECT * FROM other.src', redacted: '' },
      run: ['BEGIN', 'TRUNCATE "other"."dst"', 'INSERT INTO "other"."dst" SELECT * FROM "stand_in"', 'COMMIT'],
      countIndex: 2,
      drop: ['DROP TABLE IF EXISTS stand_in'],
    };
    assert.equal(await runExternalPlan(c, plan, new AbortController().signal), 50);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM other.dst')).rows[0].n, 50);
    assert.equal((await c.query("SELECT to_regclass('stand_in') AS r")).rows[0].r, null, 'dropped');
    // A failing INSERT: the TRUNCATE is rolled back and the stand-in still dropped.
    const failing = { ...plan, run: ['BEGIN', 'TRUNCATE "other"."dst"', 'INSERT INTO "other"."dst" SELECT id, t::int::text FROM "stand_in"', 'COMMIT'] };
    await assert.rejects(runExternalPlan(c, failing, new AbortController().signal), /invalid input syntax for type integer/);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM other.dst')).rows[0].n, 50, 'rolled back');
    assert.equal((await c.query("SELECT to_regclass('stand_in') AS r")).rows[0].r, null, 'dropped after failure');
    // Cancellation: `cancel` runs pg_cancel_backend from another connection.
    const other = await connect();
    try {
      const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const ac = new AbortController();
      const slow = { ...plan, run: ['SELECT pg_sleep(20)'], countIndex: 0 };
      const t0 = Date.now();
      const running = runExternalPlan(c, slow, ac.signal, () => other.query('SELECT pg_cancel_backend($1)', [pid]));
      setTimeout(() => ac.abort(), 300);
      await assert.rejects(running, /canceling statement due to user request/);
      assert.ok(Date.now() - t0 < 10000, 'cancelled long before pg_sleep(20) ended');
    } finally {
      await other.end();
    }
    assert.equal((await c.query("SELECT to_regclass('stand_in') AS r")).rows[0].r, null, 'dropped after cancel');
    // The query-shape statement works on PostgreSQL too (LIKE pg_temp.<shape>).
    const q = externalExportPlan({ source: { query: 'SELECT id, t FROM other.src' }, stem: 'q', prefix: 'x/', format: { format: 'csv' }, level: 0, workers: 1, objectSizeMB: 8, location: LOC, name: 'q_000001' });
    await c.query(q.before[0]);
    await c.query('CREATE TABLE like_check (LIKE "pg_temp"."q_000001_shape")');
    const cols = await c.query("SELECT attname FROM pg_attribute WHERE attrelid = 'like_check'::regclass AND attnum > 0 ORDER BY attnum");
    assert.deepEqual(cols.rows.map((r) => r.attname), ['id', 't']);
    for (const d of q.drop.slice(1)) await c.query(d);
    assert.equal((await c.query("SELECT to_regclass('pg_temp.q_000001_shape') AS r")).rows[0].r, null);
  } finally {
    await c.end();
  }
});
