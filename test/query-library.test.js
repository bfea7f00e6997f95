'use strict';
// The query library against a real PostgreSQL: batches through a server-side cursor (sizes,
// the last batch known in advance, the cursor's transaction ended in every case), scripts,
// connections given back to the pool idle, and cancelling a running statement.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('pg');
const { usePostgres } = require('./support/pg');
const Q = require('../dist/query');

const pg = usePostgres();
let pool;
before(async () => {
  // Top-level before hooks do not wait for each other: wait for the database.
  const end = Date.now() + 60000;
  while (!pg.url && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  pool = new Pool({ connectionString: pg.url, max: 2 });
});
after(() => pool.end());

const bound = (sql, params) => Q.bindParameters(sql, params);

async function batches(n, size) {
  const got = [];
  const r = await Q.withSession(pool, {}, (c) =>
    Q.readInBatches(c, bound('SELECT g FROM generate_series(1, $1::int) g', [n]), size, {
      turn: () => Promise.resolve(),
      send: (b, index, total) => got.push({ index, n: b.rows.length, last: b.last, total, first: b.rows[0]?.g }),
    }),
  );
  return { got, r };
}

test('cursor batches: full batches, a short last one, exact multiples and an empty result each end with last=true once', async () => {
  let { got, r } = await batches(7, 3);
  assert.deepEqual(got.map((b) => [b.n, b.last, b.first, b.total]), [[3, false, 1, 3], [3, false, 4, 6], [1, true, 7, 7]]);
  assert.deepEqual(r, { batches: 3, rows: 7 });
  ({ got } = await batches(6, 3));
  assert.deepEqual(got.map((b) => [b.n, b.last]), [[3, false], [3, true]], 'an exact multiple has no empty batch after it');
  ({ got } = await batches(0, 3));
  assert.deepEqual(got.map((b) => [b.n, b.last]), [[0, true]], 'an empty result is one empty last batch');
  ({ got } = await batches(5, 1));
  assert.deepEqual(got.map((b) => b.first), [1, 2, 3, 4, 5]);
  assert.equal(pool.idleCount, pool.totalCount, 'every connection back in the pool');
});

test('the cursor transaction ends: committed after the last batch, rolled back when the sink stops', async () => {
  await pool.query('CREATE TABLE lib_side (n int)');
  // A volatile function with a side effect shows whether the cursor's transaction committed.
  await pool.query("CREATE FUNCTION lib_note(n int) RETURNS int LANGUAGE sql AS 'INSERT INTO lib_side VALUES (n) RETURNING n'");
  await Q.withSession(pool, {}, (c) => Q.readInBatches(c, bound('SELECT lib_note(g) FROM generate_series(1, 4) g'), 10, { turn: async () => {}, send: () => {} }));
  assert.equal((await pool.query('SELECT count(*)::int AS n FROM lib_side')).rows[0].n, 4);
  let sent = 0;
  await assert.rejects(
    Q.withSession(pool, {}, (c) =>
      Q.readInBatches(c, bound('SELECT lib_note(g) FROM generate_series(1, 4) g'), 1, {
        turn: async () => {
          if (sent === 2) throw new Error('stopped by the flow');
        },
        send: () => sent++,
      }),
    ),
    /stopped by the flow/,
  );
  assert.equal(sent, 2);
  assert.equal((await pool.query('SELECT count(*)::int AS n FROM lib_side')).rows[0].n, 4, 'the abandoned cursor rolled back');
  const states = (await pool.query("SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows.map((r) => r.state);
  assert.ok(!states.includes('idle in transaction'), `no session left in a transaction: ${states}`);
});

test('scripts: every statement reported; a transaction left open is rolled back and refused; a failed one leaves the connection usable', async () => {
  const r = await Q.withSession(pool, {}, (c) => Q.runStatement(c, bound('CREATE TABLE lib_s (a int); INSERT INTO lib_s VALUES (1), (2); SELECT * FROM lib_s ORDER BY a')));
  assert.deepEqual([r.command, r.rowCount, r.rows], ['SELECT', 2, [{ a: 1 }, { a: 2 }]]);
  assert.deepEqual(r.statements.map((s) => [s.command, s.rowCount]), [['CREATE', null], ['INSERT', 2], ['SELECT', 2]]);
  await assert.rejects(
    Q.withSession(pool, {}, (c) => Q.runStatement(c, bound('BEGIN; INSERT INTO lib_s VALUES (3)'))),
    (e) => e.name === 'SettingError' && e.code === 'QUERY_INPUT' && /left a transaction open/.test(e.message),
  );
  assert.equal((await pool.query('SELECT count(*)::int AS n FROM lib_s')).rows[0].n, 2, 'the open transaction was rolled back');
  await assert.rejects(Q.withSession(pool, {}, (c) => Q.runStatement(c, bound('BEGIN; INSERT INTO lib_s VALUES (4); SELECT 1/0'))), (e) => e.code === '22012');
  for (let i = 0; i < 3; i++) assert.equal((await pool.query('SELECT count(*)::int AS n FROM lib_s')).rows[0].n, 2, 'pool connections are not left in an aborted transaction');
});

test('aborting the signal cancels the running statement through a connection of its own (57014)', async () => {
  const ac = new AbortController();
  const cancel = (pid) => Q.cancelBackend({ connectionString: pg.url }, pid);
  const t0 = Date.now();
  const running = Q.withSession(pool, { signal: ac.signal, cancel }, (c) => Q.runStatement(c, bound('SELECT pg_sleep(30)')));
  setTimeout(() => ac.abort(), 300);
  await assert.rejects(running, (e) => e.code === '57014');
  assert.ok(Date.now() - t0 < 10000, 'cancelled well before the statement would have ended');
  assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
});
