'use strict';
// What gpss-pg's Close says about rows rejected under an error limit: by default each ErrorRows
// entry is `row N: reason` (N the row's 1-based position in the load, reasons capped in length);
// with errorRows 'none' (CLI --error-rows none) only the counts, like a GPSS that does not fill
// ErrorRows (the proto marks the field "not supported"). Real gRPC into a real PostgreSQL.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useGpssServer, rowsOf, V, status } = require('./support/gpss-server');
const { startGpssServer } = require('../dist/gpss-server');
const { parseErrorRow, MAX_REASON_CHARS } = require('../dist/gpss/error-rows');

const pg = usePostgres();
const named = useGpssServer(pg);
const countsOnly = useGpssServer(pg, { errorRows: 'none' });

async function load(g, table, rows, limit, close = { MaxErrorRows: -1 }) {
  const s = await g.connect();
  try {
    await g.call('Open', { Session: { ID: s }, TableName: table, InsertOption: { ErrorLimitCount: limit } });
    await g.call('Write', { Session: { ID: s }, Rows: rowsOf(rows.slice(0, 3)) });
    await g.call('Write', { Session: { ID: s }, Rows: rowsOf(rows.slice(3)) });
    return await g.call('Close', { session: { ID: s }, ...close });
  } finally {
    await g.call('Disconnect', { ID: s }).catch(() => {});
  }
}

const rows = () => [
  [V.i32(1), V.s('2024-01-01')],
  [V.i32(2), V.s('2024-13-45')],
  [V.i32(3), V.s('2024-01-03')],
  [V.i32(4), V.s('2024-01-04')],
  [V.i32(5), V.s('x'.repeat(2000))],
];

test('ErrorRows names each rejected row by its 1-based position in the load (across Writes), reasons capped in length', async () => {
  await named.query('CREATE TABLE er_named (id int, d date)');
  const st = await load(named, 'er_named', rows(), 10);
  assert.deepEqual([st.SuccessCount, st.ErrorCount, st.ErrorRows.length], ['3', '2', 2]);
  const [a, b] = st.ErrorRows.map(parseErrorRow);
  assert.equal(a.row, 2);
  assert.match(a.reason, /^column "d": date\/time field value out of range: "2024-13-45"/);
  assert.equal(b.row, 5, 'position counted over the rows of both Writes');
  assert.equal(b.reason.length, MAX_REASON_CHARS);
  assert.ok(b.reason.endsWith('…'), b.reason.slice(-20));
  assert.equal(await named.count('er_named'), 3);
});

test("errorRows 'none': Close sends the counts but no ErrorRows, whatever MaxErrorRows asks; the limits still apply", async () => {
  await countsOnly.query('CREATE TABLE er_counts (id int, d date)');
  const st = await load(countsOnly, 'er_counts', rows(), 10);
  assert.deepEqual([st.SuccessCount, st.ErrorCount, st.ErrorRows], ['3', '2', []]);
  assert.equal(await countsOnly.count('er_counts'), 3);
  await assert.rejects(load(countsOnly, 'er_counts', rows(), 2), (e) => e.code === status.ABORTED && /ErrorLimitCount 2/.test(e.details));
  assert.equal(await countsOnly.count('er_counts'), 3, 'the load over the limit rolled back');
  assert.ok(countsOnly.logs.some((l) => /ErrorRows not sent \(counts only\)/.test(l)), countsOnly.logs.join('\n'));
});

test('an unknown errorRows mode is refused at start', async () => {
  await assert.rejects(startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, errorRows: 'some' }), /errorRows must be 'positions' or 'none'/);
});
