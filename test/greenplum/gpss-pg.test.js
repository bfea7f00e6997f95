'use strict';
// gpss-pg pointed at the Greenplum coordinator: Insert, Merge and Update into tables
// DISTRIBUTED BY a key and DISTRIBUTED RANDOMLY, truncate, staging order, error limits,
// through real gRPC. What Greenplum refuses is asserted with the error users see.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useGreenplumDatabase } = require('../support/greenplum');
const { useGpssServer, rowsOf, V, status } = require('../support/gpss-server');

const pg = useGreenplumDatabase('gpss');
const g = useGpssServer(pg);
const S = (ID) => ({ Session: { ID } });

async function withSession(fn) {
  const s = await g.connect();
  try {
    return await fn(s);
  } finally {
    await g.call('Disconnect', { ID: s });
  }
}

const DISTRIBUTIONS = [['by key', 'DISTRIBUTED BY (k)'], ['randomly', 'DISTRIBUTED RANDOMLY']];

for (const [label, distributed] of DISTRIBUTIONS) {
  const t = `ins_${label.replace(' ', '_')}`;

  test(`Insert into a table distributed ${label}: every row lands, on every segment`, async () => {
    await g.query(`CREATE TABLE ${t} (k int, v text, at timestamptz) ${distributed}`);
    const rows = Array.from({ length: 2000 }, (_, i) => [V.i32(i), V.s(`v${i}`), V.ts(1700000000 + i)]);
    const st = await withSession((s) => g.load(s, { TableName: t }, [rows.slice(0, 1000), rows.slice(1000)]));
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2000', '0']);
    const { rows: r } = await g.query(`SELECT count(*)::int AS n, sum(k)::bigint::text AS s, count(DISTINCT gp_segment_id)::int AS segs FROM ${t}`);
    assert.deepEqual(r[0], { n: 2000, s: String((1999 * 2000) / 2), segs: 2 });
    const one = await g.query(`SELECT v, extract(epoch FROM at)::int AS at FROM ${t} WHERE k = 1234`);
    assert.deepEqual(one.rows, [{ v: 'v1234', at: 1700001234 }]);
  });

  test(`Insert with TruncateTable into a table distributed ${label} replaces the rows at Close`, async () => {
    await withSession((s) => g.load(s, { TableName: t, InsertOption: { TruncateTable: true } }, [[[V.i32(1), V.s('new'), V.null()], [V.i32(2), V.s('new'), V.null()]]]));
    assert.deepEqual((await g.query(`SELECT k, v FROM ${t} ORDER BY k`)).rows, [{ k: 1, v: 'new' }, { k: 2, v: 'new' }]);
  });

  test(`Merge into a table distributed ${label}: matches updated, new keys inserted once, the last row of a key wins`, async () => {
    const m = `mg_${label.replace(' ', '_')}`;
    await g.query(`CREATE TABLE ${m} (k int, v text, n int) ${distributed}; INSERT INTO ${m} SELECT i, 'old', i FROM generate_series(1, 100) i`);
    // 3000 rows over 200 keys: each key seen 15 times, spread over several Writes; the last one must win.
    const rows = Array.from({ length: 3000 }, (_, i) => [V.i32(1 + (i % 200)), V.s(`r${i}`), V.i32(i)]);
    const st = await withSession((s) => g.load(s, { TableName: m, MergeOption: { MatchColumns: ['k'], UpdateColumns: ['v', 'n'] } }, [rows.slice(0, 700), rows.slice(700, 2100), rows.slice(2100)]));
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['200', '0']);
    const { rows: got } = await g.query(`SELECT k, v, n FROM ${m} ORDER BY k`);
    assert.equal(got.length, 200);
    for (const r of got) assert.deepEqual(r, { k: r.k, v: `r${2800 + r.k - 1}`, n: 2800 + r.k - 1 });
  });

  test(`Update of non-key columns of a table distributed ${label}, with a Condition`, async () => {
    const u = `up_${label.replace(' ', '_')}`;
    await g.query(`CREATE TABLE ${u} (k int, v int, w text) ${distributed}; INSERT INTO ${u} VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')`);
    const st = await withSession((s) => g.load(s, { TableName: u, UpdateOption: { MatchColumns: ['k'], UpdateColumns: ['v', 'w'], Condition: 'v < 25' } },
      [[[V.i32(1), V.i32(11), V.s('first')], [V.i32(1), V.i32(12), V.s('last')], [V.i32(2), V.i32(21), V.s('x')], [V.i32(3), V.i32(31), V.s('no')], [V.i32(9), V.i32(9), V.s('absent')]]]));
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2', '0']);
    assert.deepEqual((await g.query(`SELECT k, v, w FROM ${u} ORDER BY k`)).rows, [{ k: 1, v: 12, w: 'last' }, { k: 2, v: 21, w: 'x' }, { k: 3, v: 30, w: 'c' }]);
  });
}

test('Update of the distribution key itself: Greenplum moves the row to its new segment', async () => {
  await g.query(`CREATE TABLE upk (k int, id int, v text) DISTRIBUTED BY (k); INSERT INTO upk SELECT i, i, 'v' FROM generate_series(1, 50) i`);
  const st = await withSession((s) => g.load(s, { TableName: 'upk', UpdateOption: { MatchColumns: ['id'], UpdateColumns: ['k'] } },
    [Array.from({ length: 50 }, (_, i) => [V.i32(1000 + i + 1), V.i32(i + 1), V.s('ignored')])]));
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['50', '0']);
  const { rows } = await g.query(`SELECT count(*)::int AS n, min(k) AS lo, max(k) AS hi FROM upk`);
  assert.deepEqual(rows[0], { n: 50, lo: 1001, hi: 1050 });
  // Each row is where its new key hashes: a lookup by key finds it (the planner routes it to one segment).
  assert.deepEqual((await g.query('SELECT id FROM upk WHERE k = 1017')).rows, [{ id: 17 }]);
});

test('ErrorLimitCount on Greenplum: rejected rows are reported with their row number and reason, the rest load', async () => {
  await g.query('CREATE TABLE lc (id int, d date) DISTRIBUTED BY (id)');
  // Bad rows on both segments: the segments convert in parallel, so the first error to reach
  // the coordinator is often not the first bad row; each is still rejected, in row order.
  const BAD = [10, 250, 777, 1500, 1999];
  const rows = Array.from({ length: 2000 }, (_, i) => [V.i32(i), V.s(BAD.includes(i) ? 'not a date' : '2024-01-01')]);
  const st = await withSession(async (s) => {
    await g.call('Open', { ...S(s), TableName: 'lc', InsertOption: { ErrorLimitCount: 10 } });
    await g.call('Write', { ...S(s), Rows: rowsOf(rows) });
    return g.call('Close', { session: { ID: s }, MaxErrorRows: -1 });
  });
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['1995', '5']);
  assert.deepEqual(st.ErrorRows.map((e) => /^row (\d+): column "d": invalid input syntax for type date/.exec(e)?.[1]), BAD.map((i) => String(i + 1)));
  assert.equal(await g.count('lc'), 1995);
  assert.equal((await g.query(`SELECT count(*)::int AS n FROM lc WHERE id IN (${BAD.join(',')})`)).rows[0].n, 0);
  // Reaching the limit rolls everything back.
  await assert.rejects(withSession(async (s) => {
    await g.call('Open', { ...S(s), TableName: 'lc', InsertOption: { ErrorLimitCount: 2, TruncateTable: true } });
    await g.call('Write', { ...S(s), Rows: rowsOf(rows) });
    return g.call('Close', { session: { ID: s } });
  }), (e) => e.code === status.ABORTED && /2 rejected rows ≥ ErrorLimitCount 2/.test(e.details));
  assert.equal(await g.count('lc'), 1995);
});

test('a unique violation on a distributed table fails the load with ABORTED and commits nothing', async () => {
  await g.query('CREATE TABLE uq (id int PRIMARY KEY, v text) DISTRIBUTED BY (id); INSERT INTO uq VALUES (1, \'x\')');
  await assert.rejects(withSession((s) => g.load(s, { TableName: 'uq' }, [[[V.i32(2), V.s('a')], [V.i32(1), V.s('dup')]]])),
    (e) => e.code === status.ABORTED && /23505/.test(e.details));
  assert.deepEqual((await g.query('SELECT id FROM uq')).rows, [{ id: 1 }]);
});

test('StagingSchema on Greenplum: Merge stages in an ordinary table there (GP6 has no unlogged bigserial), distributed by arrival, the last row of a key wins; gone after Close and Abort', async () => {
  await g.query(`CREATE SCHEMA stage; CREATE TABLE sm (k int, v text, n int) DISTRIBUTED BY (k); INSERT INTO sm SELECT i, 'old', i FROM generate_series(1, 50) i`);
  // PostSQL runs in the load's transaction, while the staging table exists: it notes the table's
  // persistence and distribution in the schema's comment (catalog work on the coordinator only;
  // an INSERT … SELECT from pg_class into a distributed table needs an entry-db gang).
  const record = `DO $$DECLARE r text; BEGIN
    SELECT string_agg(c.relpersistence::text || ' ' || n.nspname || ' ' || pg_get_table_distributedby(c.oid), '; ') INTO r
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname LIKE 'gpss\\_stage\\_%' AND c.relkind = 'r';
    EXECUTE format('COMMENT ON SCHEMA stage IS %L', r); END$$`;
  const rows = Array.from({ length: 1500 }, (_, i) => [V.i32(1 + (i % 100)), V.s(`r${i}`), V.i32(i)]);
  const merge = { MatchColumns: ['k'], UpdateColumns: ['v', 'n'] };
  await withSession(async (s) => {
    const st = await g.load(s, { TableName: 'sm', StagingSchema: 'stage', PostSQL: record, MergeOption: merge }, [rows.slice(0, 600), rows.slice(600)]);
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['100', '0']);
    await g.call('Open', { ...S(s), TableName: 'sm', StagingSchema: 'stage', MergeOption: merge });
    await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1), V.s('aborted'), V.i32(-1)]]) });
    await g.call('Close', { session: { ID: s }, Abort: true });
  });
  const { rows: seen } = await g.query(`SELECT obj_description(oid, 'pg_namespace') AS d FROM pg_namespace WHERE nspname = 'stage'`);
  assert.deepEqual(seen, [{ d: 'p stage DISTRIBUTED BY (_gpss_seq)' }], 'one ordinary (permanent) staging table, in the StagingSchema, distributed by arrival');
  const left = await g.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'stage'`);
  assert.equal(left.rows[0].n, 0, 'staging table dropped after Close and gone with the Abort (its sequence too)');
  const { rows: got } = await g.query('SELECT k, v, n FROM sm ORDER BY k');
  assert.equal(got.length, 100);
  for (const r of got) assert.deepEqual(r, { k: r.k, v: `r${1400 + r.k - 1}`, n: 1400 + r.k - 1 });
});
