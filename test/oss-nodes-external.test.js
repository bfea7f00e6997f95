'use strict';
// External mode (Greenplum with oss_ext) of the OSS nodes: the exact statements the nodes run
// (golden SQL, pure functions), secrets only in the executed SQL never in the redacted text,
// and the plan runner on a real PostgreSQL (rows counted, table dropped in `finally`,
// transaction rolled back on failure, resolved schemas).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { Pool } = require('pg');
const {
  externalExportPlan, externalImportPlan, runExternalPlan, externalExportObstacle, externalImportObstacle, isGzipSet,
  dropFailureWarning, dropFailureReporter,
} = require('../dist/oss');
const { resolveTable } = require('../dist/oss');
const { pooledSession, withClient, redactSecrets: redact } = require('../dist/nodes/kit');

const pg = usePostgres();
const LOC = { endpoint: 'oss-cn-hangzhou-internal.aliyuncs.com', bucket: 'my-bucket', accessKeyId: 'AKID123', accessKeySecret: 'SeCrEt456' };

test('export plan of a table: writable gzip table under prefix= (oss_ext writes a dir= as prefix= too), every LOCATION value explicit, INSERT … SELECT, drop', () => {
  const p = externalExportPlan({ source: { schema: 'public', table: 'sales' }, stem: 'sales', prefix: 'exports/sales/', format: { format: 'csv' }, level: 1, workers: 2, objectSizeMB: 256, location: LOC, name: 'sales_abc123' });
  assert.deepEqual(p.before, []);
  assert.equal(
    p.create.sql,
    `CREATE WRITABLE EXTERNAL TEMP TABLE "sales_abc123" (LIKE "public"."sales") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com prefix=exports/sales/ id=AKID123 key=SeCrEt456 bucket=my-bucket compressiontype=gzip compressionlevel=1 num_parallel_worker=2 oss_file_max_size=256 oss_flush_block_size=32') FORMAT 'csv' (DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8' DISTRIBUTED RANDOMLY`,
  );
  assert.equal(p.create.redacted, p.create.sql.replace('id=AKID123 key=SeCrEt456', 'id=XXX key=XXX'));
  assert.deepEqual(p.run, ['INSERT INTO "sales_abc123" SELECT * FROM "public"."sales"']);
  assert.equal(p.countIndex, 0);
  assert.deepEqual(p.drop, ['DROP EXTERNAL TABLE IF EXISTS pg_temp."sales_abc123"']);
  // A random, readable name when none is given (it appears in oss_ext's object names).
  const r = externalExportPlan({ source: { schema: 'public', table: 'Sensor Readings' }, stem: 'Sensor Readings', prefix: 'x/', format: { format: 'csv' }, level: 0, workers: 1, objectSizeMB: 1, location: LOC });
  assert.match(r.name, /^sensor_readings_[0-9a-f]{6}$/);
});

test('export plan of a query: a temporary shape table for LIKE, plain TEXT, prefix= location, sizes clamped', () => {
  const p = externalExportPlan({ source: { query: 'SELECT 1 AS x' }, stem: 'q', prefix: 'exp/q_', format: { format: 'text' }, level: 0, workers: 2, objectSizeMB: 4, location: LOC, name: 'q_abc123' });
  assert.deepEqual(p.before, ['CREATE TEMP TABLE "q_abc123_shape" AS SELECT * FROM (SELECT 1 AS x) AS q LIMIT 0']);
  assert.equal(
    p.create.sql,
    `CREATE WRITABLE EXTERNAL TEMP TABLE "q_abc123" (LIKE "pg_temp"."q_abc123_shape") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com prefix=exp/q_ id=AKID123 key=SeCrEt456 bucket=my-bucket oss_file_max_size=8 oss_flush_block_size=8') FORMAT 'text' ENCODING 'UTF8' DISTRIBUTED RANDOMLY`,
  );
  assert.deepEqual(p.run, ['INSERT INTO "q_abc123" SELECT * FROM (SELECT 1 AS x) AS src']);
  assert.deepEqual(p.drop, ['DROP EXTERNAL TABLE IF EXISTS pg_temp."q_abc123"', 'DROP TABLE IF EXISTS pg_temp."q_abc123_shape"']);
});

test('import plan: readable table under prefix= (recursive, as in client mode) with reject limit and truncate in one transaction', () => {
  const p = externalImportPlan({ target: { schema: 'public', table: 'Sales' }, prefix: 'exports/sales/', format: { format: 'csv', delimiter: '|' }, gzip: true, rejectLimit: 5, rejectUnit: 'ROWS', truncate: true, location: LOC, name: 'sales_def456' });
  assert.equal(
    p.create.sql,
    `CREATE READABLE EXTERNAL TEMP TABLE "sales_def456" (LIKE "public"."Sales") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com prefix=exports/sales/ id=AKID123 key=SeCrEt456 bucket=my-bucket compressiontype=gzip async=true') FORMAT 'csv' (DELIMITER '|' QUOTE '"' ESCAPE '"' NULL '') ENCODING 'UTF8' LOG ERRORS SEGMENT REJECT LIMIT 5 ROWS`,
  );
  assert.ok(!p.create.redacted.includes('SeCrEt456') && !p.create.redacted.includes('AKID123'));
  assert.deepEqual(p.run, ['BEGIN', 'TRUNCATE "public"."Sales"', 'INSERT INTO "public"."Sales" SELECT * FROM "sales_def456"', 'COMMIT']);
  assert.equal(p.run[p.countIndex].startsWith('INSERT'), true);
  const plain = externalImportPlan({ target: { schema: 's', table: 't' }, prefix: 'in/t_', format: { format: 'text' }, gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: LOC, name: 't_000001' });
  assert.match(plain.create.sql, /prefix=in\/t_ id=AKID123 key=SeCrEt456 bucket=my-bucket async=true'\) FORMAT 'text' ENCODING 'UTF8'$/);
  assert.deepEqual(plain.run, ['BEGIN', 'INSERT INTO "s"."t" SELECT * FROM "t_000001"', 'COMMIT']);
});

test('import plan: HEADER, NEWLINE and FILL MISSING FIELDS reach the DDL; LF (the default) lets Greenplum detect the terminator', () => {
  const base = { target: { schema: 'public', table: 'sales' }, prefix: 'in/', gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: LOC, name: 'sales_aaa111' };
  const csv = externalImportPlan({ ...base, format: { format: 'csv', header: true, newline: 'CRLF' }, fillMissingFields: true });
  assert.equal(
    csv.create.redacted,
    `CREATE READABLE EXTERNAL TEMP TABLE "sales_aaa111" (LIKE "public"."sales") LOCATION ('oss://oss-cn-hangzhou-internal.aliyuncs.com prefix=in/ id=XXX key=XXX bucket=my-bucket async=true') FORMAT 'csv' (HEADER DELIMITER ',' QUOTE '"' ESCAPE '"' NULL '' NEWLINE 'CRLF' FILL MISSING FIELDS) ENCODING 'UTF8'`,
  );
  const text = externalImportPlan({ ...base, format: { format: 'text', header: true, newline: 'CR', delimiter: '|' } });
  assert.match(text.create.sql, /FORMAT 'text' \(HEADER DELIMITER '\|' NEWLINE 'CR'\) ENCODING 'UTF8'$/);
  const lf = externalImportPlan({ ...base, format: { format: 'text', header: false, newline: 'LF' } });
  assert.match(lf.create.sql, /FORMAT 'text' ENCODING 'UTF8'$/, 'no NEWLINE, no HEADER when not set');
});

test('import plan with the dialog columns: a temporary shape table in file order, INSERT names the columns, both dropped', () => {
  const p = externalImportPlan({
    target: { schema: 'public', table: 'sales' }, prefix: 'in/', columns: ['amount', 'Id'], format: { format: 'csv', header: true }, gzip: true,
    rejectLimit: 0, rejectUnit: 'ROWS', truncate: true, location: LOC, name: 'sales_bbb222',
  });
  assert.deepEqual(p.before, ['CREATE TEMP TABLE "sales_bbb222_shape" AS SELECT "amount", "Id" FROM "public"."sales" LIMIT 0']);
  assert.match(p.create.sql, /^CREATE READABLE EXTERNAL TEMP TABLE "sales_bbb222" \(LIKE "pg_temp"\."sales_bbb222_shape"\) LOCATION/);
  assert.deepEqual(p.run, ['BEGIN', 'TRUNCATE "public"."sales"', 'INSERT INTO "public"."sales" ("amount", "Id") SELECT * FROM "sales_bbb222"', 'COMMIT']);
  assert.equal(p.countIndex, 2);
  assert.deepEqual(p.drop, ['DROP EXTERNAL TABLE IF EXISTS pg_temp."sales_bbb222"', 'DROP TABLE IF EXISTS pg_temp."sales_bbb222_shape"']);
});

test('import plan: folder only reads dir= (direct children), and needs a prefix ending in "/"', () => {
  const base = { target: { schema: 's', table: 't' }, format: { format: 'csv' }, gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: LOC, name: 't_ccc333' };
  assert.match(externalImportPlan({ ...base, prefix: 'in/day1/', folderOnly: true }).create.sql, /'oss:\/\/\S+ dir=in\/day1\/ id=/);
  assert.match(externalImportPlan({ ...base, prefix: 'in/day1/' }).create.sql, /'oss:\/\/\S+ prefix=in\/day1\/ id=/);
  assert.throws(() => externalImportPlan({ ...base, prefix: 'in/day', folderOnly: true }), (e) => e.option === 'prefix' && /ending in "\/"/.test(e.message));
});

test('export: header and CR/CRLF newlines are refused for writable tables (auto uses client mode); LF and no header pass', () => {
  assert.equal(externalExportObstacle({ format: 'csv' }), null);
  assert.equal(externalExportObstacle({ format: 'text', newline: 'LF', header: false }), null);
  assert.match(externalExportObstacle({ format: 'csv', header: true }), /^header is not supported by oss_ext writable tables .*use client mode$/);
  assert.match(externalExportObstacle({ format: 'csv', newline: 'CRLF' }), /newline CRLF is not supported by oss_ext writable tables/);
  // The plan itself never writes HEADER or NEWLINE into a writable table: the builder refuses.
  const base = { source: { schema: 'public', table: 't' }, stem: 't', prefix: 'o/', level: 0, workers: 1, objectSizeMB: 8, location: LOC, name: 't_ddd444' };
  assert.throws(() => externalExportPlan({ ...base, format: { format: 'csv', header: true } }), (e) => e.code === 'OSS_DDL' && e.field === 'header');
  assert.throws(() => externalExportPlan({ ...base, format: { format: 'text', newline: 'CRLF' } }), (e) => e.code === 'OSS_DDL' && e.field === 'newline');
  const ok = externalExportPlan({ ...base, format: { format: 'csv', newline: 'LF' } });
  assert.doesNotMatch(ok.create.sql, /HEADER|NEWLINE/);
});

test('import obstacles: a set mixing gzip and plain is refused naming a key of each; empty objects fit either; header needs ≤ 1 object per segment', () => {
  const o = (key, gzip, size = 100) => ({ key, size, gzip });
  const mixed = externalImportObstacle({ objects: [o('in/a.csv.gz', true), o('in/b.csv.gz', true), o('in/c.csv', false)], segments: 4, header: false });
  assert.match(mixed, /mix gzip and plain/);
  assert.ok(mixed.includes('"in/a.csv.gz" is gzip') && mixed.includes('"in/c.csv" is not'), mixed);
  assert.equal(externalImportObstacle({ objects: [o('in/a', true), o('in/empty', false, 0)], segments: 4, header: false }), null);
  assert.equal(isGzipSet([o('in/a', true), o('in/empty', false, 0)]), true);
  assert.equal(isGzipSet([o('in/a', false), o('in/empty', false, 0)]), false);
  assert.equal(externalImportObstacle({ objects: [o('a', false), o('b', false)], segments: 2, header: true }), null);
  assert.match(externalImportObstacle({ objects: [o('a', false), o('b', false), o('c', false)], segments: 2, header: true }), /3 objects for 2 segment\(s\)/);
  assert.equal(externalImportObstacle({ objects: [o('a', false), o('b', false), o('c', false)], segments: 2, header: false }), null);
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
    // The import's column shape works on PostgreSQL too: columns in file order, target types.
    const imp = externalImportPlan({ target: { schema: 'other', table: 'dst' }, prefix: 'x/', columns: ['t', 'id'], format: { format: 'csv' }, gzip: false, rejectLimit: 0, rejectUnit: 'ROWS', truncate: false, location: LOC, name: 'i_000001' });
    await c.query(imp.before[0]);
    await c.query('CREATE TABLE like_imp (LIKE "pg_temp"."i_000001_shape")');
    const icols = await c.query("SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'like_imp'::regclass AND attnum > 0 ORDER BY attnum");
    assert.deepEqual(icols.rows, [{ attname: 't', type: 'text' }, { attname: 'id', type: 'integer' }]);
    await c.query(`INSERT INTO like_imp VALUES ('x', 700)`);
    const before = (await c.query('SELECT count(*)::int AS n FROM other.dst')).rows[0].n;
    await c.query(imp.run[1].replace('"i_000001"', 'like_imp'));
    assert.deepEqual((await c.query('SELECT id, t FROM other.dst WHERE id = 700')).rows, [{ id: 700, t: 'x' }]);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM other.dst')).rows[0].n, before + 1);
    for (const d of imp.drop.slice(1)) await c.query(d);
    assert.equal((await c.query("SELECT to_regclass('pg_temp.i_000001_shape') AS r")).rows[0].r, null);
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

test('a failed DROP is reported with the key removed, and its session is closed instead of pooled (the TEMP table ends with it)', async () => {
  const pool = new Pool({ connectionString: pg.url, max: 1 });
  const db = { getPool: () => pool };
  const pidOf = async (c) => (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  // A TEMP plain table stands in for the TEMP external table (PostgreSQL has no external
  // tables); create, use and drop must all see it, so they run on the one session.
  const plan = (drop) => ({
    name: 'stand_in',
    before: [],
    create: { sql: 'CREATE TEMP TABLE stand_in AS SELECT g AS x FROM generate_series(1, 7) g', redacted: '' },
    run: ['CREATE TEMP TABLE moved AS SELECT * FROM stand_in', 'INSERT INTO moved SELECT * FROM stand_in'],
    countIndex: 1,
    drop: [drop],
  });
  try {
    // Control: the DROP succeeds, nothing is reported and the session goes back to the pool.
    const ok = await withClient(db, async (c) => {
      const drops = dropFailureReporter({ warn: () => assert.fail('no warning expected'), redact: (t) => redact(t, [LOC.accessKeySecret]), discard: pooledSession(db, c).discard });
      const rows = await runExternalPlan(c, plan('DROP TABLE IF EXISTS pg_temp."stand_in"'), new AbortController().signal, undefined, { onDropFailed: drops.onDropFailed });
      return { rows, pid: await pidOf(c), warnings: drops.warnings };
    });
    assert.deepEqual({ rows: ok.rows, warnings: ok.warnings }, { rows: 7, warnings: [] });
    const reused = await withClient(db, async (c) => ({ pid: await pidOf(c), moved: (await c.query("SELECT to_regclass('pg_temp.moved') IS NOT NULL AS t")).rows[0].t }));
    assert.equal(reused.pid, ok.pid, 'a clean session is pooled');
    assert.equal(reused.moved, true, 'the same session (its TEMP tables are still there)');
    await withClient(db, (c) => c.query('DROP TABLE pg_temp.moved'));

    // A DROP that fails on the real server (PostgreSQL has no DROP EXTERNAL TABLE): the rows
    // still count, the failure is warned (not swallowed) and the session is closed.
    const warned = [];
    const bad = await withClient(db, async (c) => {
      const drops = dropFailureReporter({ warn: (t) => warned.push(t), redact: (t) => redact(t, [LOC.accessKeySecret]), discard: pooledSession(db, c).discard });
      const rows = await runExternalPlan(c, plan('DROP EXTERNAL TABLE IF EXISTS pg_temp."stand_in"'), new AbortController().signal, undefined, { onDropFailed: drops.onDropFailed });
      return { rows, pid: await pidOf(c), warnings: drops.warnings };
    });
    assert.equal(bad.rows, 7);
    assert.equal(warned.length, 1);
    assert.deepEqual(bad.warnings, warned);
    assert.match(warned[0], /^external table cleanup failed: DROP EXTERNAL TABLE IF EXISTS pg_temp\."stand_in": syntax error at or near "EXTERNAL"\. The connection is closed/);
    const after = await withClient(db, async (c) => ({ pid: await pidOf(c), stand: (await c.query("SELECT to_regclass('pg_temp.stand_in') AS r")).rows[0].r }));
    assert.notEqual(after.pid, bad.pid, 'the session whose DROP failed is not handed out again');
    assert.equal(after.stand, null);
    // Its backend ends (and PostgreSQL drops its TEMP tables); bounded wait for the exit.
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = (await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [bad.pid])).rows[0].n > 0;
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(alive, false, 'the backend of the failed DROP has exited');
  } finally {
    await pool.end();
  }
});

test('the DROP warning never carries the key, even when the database error quotes the LOCATION', () => {
  const p = externalExportPlan({ source: { schema: 'public', table: 'sales' }, stem: 'sales', prefix: 'exports/', format: { format: 'csv' }, level: 0, workers: 1, objectSizeMB: 8, location: LOC, name: 'sales_abc123' });
  const error = new Error(`external table "sales_abc123" is in use: LOCATION ('${p.create.sql.match(/'(oss:[^']+)'/)[1]}')`);
  assert.ok(error.message.includes(LOC.accessKeySecret), 'the fixture error quotes the key');
  const text = dropFailureWarning({ statement: p.drop[0], error }, (t) => redact(t, [LOC.accessKeySecret]));
  assert.ok(!text.includes(LOC.accessKeySecret) && !text.includes(LOC.accessKeyId), text);
  assert.match(text, /^external table cleanup failed: DROP EXTERNAL TABLE IF EXISTS pg_temp\."sales_abc123": external table "sales_abc123" is in use: LOCATION \('oss:\/\/\S+ prefix=exports\/ id=XXX key=XXX bucket=my-bucket/);
});
