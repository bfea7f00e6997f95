'use strict';
// gpss-pg resolves names as a real GPSS on Greenplum does, and honours StagingSchema:
// - tables, schemas and columns match exactly (GPSS quotes what the client sends; Greenplum
//   does not fold quoted identifiers), with a "did you mean" hint when only the case differs;
// - with StagingSchema the staging table is an unlogged table in that schema, gone after
//   Close or Abort; the role needs CREATE there (a real GPSS creates its external table there).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useGpssServer, rowsOf, V, status } = require('./support/gpss-server');

const pg = usePostgres();
const g = useGpssServer(pg);
const S = (ID) => ({ Session: { ID } });
const ROLE = `stager_${process.pid}_${Date.now() % 100000}`;
const ROLE_PASSWORD = 'stager-pw-1';

before(async () => {
  // Root hooks of node:test do not wait for each other: wait for useGpssServer's.
  for (let i = 0; !g.admin || !g.client; i++) {
    if (i > 1200) throw new Error('gpss-pg fixture not ready within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await g.query(`CREATE TABLE "MyTable" (id int4, "Note" text);
    CREATE TABLE plain (id int4 PRIMARY KEY, v text);
    CREATE SCHEMA "Sales"; CREATE TABLE "Sales".orders (id int4);
    CREATE SCHEMA stage; CREATE SCHEMA locked;
    CREATE TABLE seen (relname text, relpersistence text, nspname text)`);
  await g.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  await g.query(`GRANT ALL ON plain, seen TO ${ROLE}; GRANT USAGE ON SCHEMA stage, locked TO ${ROLE}; GRANT CREATE ON SCHEMA stage TO ${ROLE}`);
});
after(async () => {
  await g.query(`DROP OWNED BY ${ROLE}; DROP ROLE ${ROLE}`).catch(() => {});
});

async function withSession(fn, login) {
  const s = await g.connect(login);
  try {
    return await fn(s);
  } finally {
    await g.call('Disconnect', { ID: s });
  }
}

async function rejects(promise, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, e.details);
    assert.match(e.details, pattern);
    return true;
  });
}

test('tables and schemas match exactly; a name differing only in case is NOT_FOUND with a hint', async () => {
  await withSession(async (s) => {
    const cols = await g.call('DescribeTable', { ...S(s), SchemaName: 'public', TableName: 'MyTable' });
    assert.deepEqual(cols.Columns.map((c) => c.Name), ['id', 'Note']);
    await rejects(g.call('DescribeTable', { ...S(s), TableName: 'mytable' }), status.NOT_FOUND, /table "public"\."mytable" does not exist; did you mean "public"\."MyTable"\?/);
    await rejects(g.call('DescribeTable', { ...S(s), TableName: 'Plain' }), status.NOT_FOUND, /did you mean "public"\."plain"\?/);
    await rejects(g.call('Open', { ...S(s), SchemaName: 'sales', TableName: 'orders' }), status.NOT_FOUND, /"sales"\."orders" does not exist; did you mean "Sales"\."orders"\?/);
    await rejects(g.call('Open', { ...S(s), TableName: 'nothing_like_it' }), status.NOT_FOUND, /does not exist \(names are matched exactly/);
    // The session is still usable, and the exact names load.
    const st = await g.load(s, { SchemaName: 'Sales', TableName: 'orders' }, [[[V.i32(1)]]]);
    assert.equal(st.SuccessCount, '1');
    const st2 = await g.load(s, { TableName: 'MyTable', InsertOption: { InsertColumns: ['Note', 'id'] } }, [[[V.i32(2), V.s('n')]]]); // table width: table order
    assert.equal(st2.SuccessCount, '1');
  });
  const { rows } = await g.query('SELECT id, "Note" FROM "MyTable"');
  assert.deepEqual(rows, [{ id: 2, Note: 'n' }]);
});

test('InsertColumns, MatchColumns and UpdateColumns match exactly; a case-only difference is INVALID_ARGUMENT with a hint', async () => {
  await withSession(async (s) => {
    await rejects(g.call('Open', { ...S(s), TableName: 'MyTable', InsertOption: { InsertColumns: ['note'] } }), status.INVALID_ARGUMENT, /InsertColumns: column "note" does not exist in the table; did you mean "Note"\?/);
    await rejects(
      g.call('Open', { ...S(s), TableName: 'plain', MergeOption: { MatchColumns: ['ID'], UpdateColumns: ['v'] } }),
      status.INVALID_ARGUMENT,
      /MatchColumns: column "ID" does not exist in the table; did you mean "id"\?/,
    );
    await rejects(g.call('Open', { ...S(s), TableName: 'plain', UpdateOption: { MatchColumns: ['id'], UpdateColumns: ['V'] } }), status.INVALID_ARGUMENT, /UpdateColumns: column "V"/);
  });
});

// PostSQL runs in the load's transaction: it records where the staging table is while it exists.
const RECORD_STAGING = `INSERT INTO seen SELECT c.relname, c.relpersistence, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname LIKE 'gpss\\_stage\\_%' AND c.relkind = 'r'`;
const stagingTablesIn = async (schema) =>
  (await g.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE 'gpss\\_stage\\_%'`, [schema])).rows[0].n;

test('StagingSchema: Merge stages in an unlogged table there (format errors still isolated); it is gone after Close and after Abort', async () => {
  await g.query('TRUNCATE plain, seen');
  await g.query(`INSERT INTO plain VALUES (1, 'old')`);
  await withSession(async (s) => {
    const merge = { MatchColumns: ['id'], UpdateColumns: ['v'], ErrorLimitCount: '5' };
    const st = await g.load(s, { TableName: 'plain', StagingSchema: 'stage', PostSQL: RECORD_STAGING, MergeOption: merge }, [
      [[V.i32(1), V.s('new')], [V.s('not a number'), V.s('bad')], [V.i32(2), V.s('two')]],
    ]);
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2', '1']);
    assert.match(st.ErrorRows[0], /^row 2: column "id": invalid input syntax/);
    // Abort: the table created in the transaction goes with the rollback.
    await g.call('Open', { ...S(s), TableName: 'plain', StagingSchema: 'stage', MergeOption: merge });
    await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(3), V.s('aborted')]]) });
    await g.call('Close', { session: { ID: s }, Abort: true });
  });
  const { rows: seen } = await g.query('SELECT relpersistence, nspname FROM seen');
  assert.deepEqual(seen, [{ relpersistence: 'u', nspname: 'stage' }], 'one unlogged staging table, in the StagingSchema');
  assert.equal(await stagingTablesIn('stage'), 0, 'dropped by the load');
  const { rows } = await g.query('SELECT id, v FROM plain ORDER BY id');
  assert.deepEqual(rows, [{ id: 1, v: 'new' }, { id: 2, v: 'two' }]);
});

test('without StagingSchema the staging table is a temp table (the role needs TEMP, not CREATE)', async () => {
  await g.query('TRUNCATE seen');
  await withSession(async (s) => {
    await g.load(s, { TableName: 'plain', PostSQL: RECORD_STAGING, UpdateOption: { MatchColumns: ['id'], UpdateColumns: ['v'] } }, [[[V.i32(1), V.s('x')]]]);
  });
  const { rows } = await g.query('SELECT relpersistence, nspname FROM seen');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].relpersistence, 't');
  assert.match(rows[0].nspname, /^pg_temp_/);
});

test('StagingSchema must exist (exact name, with a hint) and the role needs CREATE on it, for every mode', async () => {
  const login = { Username: ROLE, Password: ROLE_PASSWORD };
  await withSession(async (s) => {
    await rejects(g.call('Open', { ...S(s), TableName: 'plain', StagingSchema: 'Stage' }), status.NOT_FOUND, /StagingSchema "Stage" does not exist; did you mean "stage"\?/);
    await rejects(g.call('Open', { ...S(s), TableName: 'plain', StagingSchema: 'locked' }), status.PERMISSION_DENIED, /no CREATE privilege on StagingSchema "locked"/);
    await rejects(
      g.call('Open', { ...S(s), TableName: 'plain', StagingSchema: 'locked', MergeOption: { MatchColumns: ['id'], UpdateColumns: ['v'] } }),
      status.PERMISSION_DENIED,
      /GRANT CREATE ON SCHEMA "locked"/,
    );
    // With CREATE on the StagingSchema the same role loads, Insert and Merge alike.
    const st = await g.load(s, { TableName: 'plain', StagingSchema: 'stage', MergeOption: { MatchColumns: ['id'], UpdateColumns: ['v'] } }, [[[V.i32(7), V.s('seven')]]]);
    assert.equal(st.SuccessCount, '1');
    const st2 = await g.load(s, { TableName: 'plain', StagingSchema: 'stage' }, [[[V.i32(8), V.s('eight')]]]);
    assert.equal(st2.SuccessCount, '1');
  }, login);
  assert.equal(await stagingTablesIn('stage'), 0);
});
