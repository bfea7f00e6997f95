'use strict';
// Insert / Update / Merge semantics (gpload's, spec §6), PreSQL/PostSQL inside the
// transaction, constraint errors failing the load, and Greenplum's error limits (spec §5),
// all through real gRPC into a real PostgreSQL.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useGpssServer, rowsOf, V, status } = require('./support/gpss-server');

const pg = usePostgres();
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

test('Insert with TruncateTable replaces the rows at Close; readers see the old rows until then', async () => {
  await g.query(`CREATE TABLE tr (id int, v text); INSERT INTO tr VALUES (100, 'old'), (101, 'old')`);
  await withSession(async (s) => {
    await g.call('Open', { ...S(s), TableName: 'tr', InsertOption: { TruncateTable: true } });
    await g.call('Write', { ...S(s), Rows: rowsOf([[V.i32(1), V.s('new')], [V.i32(2), V.s('new')], [V.i32(3), V.s('new')]]) });
    assert.equal(await g.count('tr'), 2);
    const st = await g.call('Close', { session: { ID: s } });
    assert.equal(st.SuccessCount, '3');
  });
  const { rows } = await g.query('SELECT id, v FROM tr ORDER BY id');
  assert.deepEqual(rows, [{ id: 1, v: 'new' }, { id: 2, v: 'new' }, { id: 3, v: 'new' }]);
});

test('Update sets UpdateColumns where MatchColumns match and the Condition holds; the last row of a key wins; nothing is inserted', async () => {
  await g.query(`CREATE TABLE up (k int, j text, v int, w text, note text);
    INSERT INTO up VALUES (1, 'a', 10, 'w1', 'n1'), (2, 'a', 20, 'w2', 'n2'), (3, 'a', 30, 'w3', 'n3'), (1, 'b', 40, 'w4', 'n4')`);
  await withSession(async (s) => {
    const rows = [
      [V.i32(1), V.s('a'), V.i32(11), V.s('first'), V.s('x')],
      [V.i32(1), V.s('a'), V.i32(12), V.s('last'), V.s('x')],
      [V.i32(2), V.s('a'), V.i32(21), V.s('w'), V.s('x')],
      [V.i32(3), V.s('a'), V.i32(31), V.s('w'), V.s('x')], // condition keeps it out
      [V.i32(9), V.s('a'), V.i32(91), V.s('new'), V.s('x')], // no match: not inserted
    ];
    const st = await g.load(s, { TableName: 'up', UpdateOption: { MatchColumns: ['k', 'j'], UpdateColumns: ['v', 'w'], Condition: 'v < 25 AND from_table.v > 0' } }, [rows]);
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2', '0']);
  });
  const { rows } = await g.query('SELECT k, j, v, w, note FROM up ORDER BY k, j');
  assert.deepEqual(rows, [
    { k: 1, j: 'a', v: 12, w: 'last', note: 'n1' },
    { k: 1, j: 'b', v: 40, w: 'w4', note: 'n4' },
    { k: 2, j: 'a', v: 21, w: 'w', note: 'n2' },
    { k: 3, j: 'a', v: 30, w: 'w3', note: 'n3' },
  ]);
});

test('Merge updates matches, inserts each new key once (its last row), NULL keys as one row per group; Condition only on the update', async () => {
  await g.query(`CREATE TABLE mg (k int, v text, n int DEFAULT 7, extra text); INSERT INTO mg VALUES (1, 'one', 1, 'e1'), (2, 'two', 2, 'e2')`);
  await withSession(async (s) => {
    const rows = [
      [V.i32(1), V.s('uno'), V.i32(100), V.s('x')],
      [V.i32(2), V.s('dos'), V.i32(200), V.s('x')], // condition false: not updated
      [V.i32(3), V.s('tres-a'), V.i32(300), V.s('x')],
      [V.i32(3), V.s('tres-b'), V.i32(301), V.s('x')],
      [V.null(), V.s('null-a'), V.i32(0), V.s('x')],
      [V.null(), V.s('null-b'), V.i32(0), V.s('x')],
    ];
    const st = await g.load(s, { TableName: 'mg', MergeOption: { MatchColumns: ['k'], UpdateColumns: ['v', 'n'], Condition: `v <> 'two'` } }, [rows.slice(0, 3), rows.slice(3)]);
    // 1 updated + key 3 inserted once + one row for the NULL-key group
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['3', '0']);
  });
  const { rows } = await g.query('SELECT k, v, n, extra FROM mg ORDER BY k NULLS LAST');
  assert.deepEqual(rows, [
    { k: 1, v: 'uno', n: 100, extra: 'e1' },
    { k: 2, v: 'two', n: 2, extra: 'e2' },
    { k: 3, v: 'tres-b', n: 301, extra: 'x' },
    { k: null, v: 'null-b', n: 0, extra: 'x' },
  ]);
});

test('Merge with InsertColumns: narrow rows, columns outside them keep their defaults on insert', async () => {
  await g.query(`CREATE TABLE mgi (id serial, k text, v int, d text DEFAULT 'dflt'); INSERT INTO mgi (k, v, d) VALUES ('a', 1, 'keep')`);
  await withSession(async (s) => {
    const st = await g.load(s, { TableName: 'mgi', MergeOption: { InsertColumns: ['k', 'v'], MatchColumns: ['k'], UpdateColumns: ['v'] } }, [[[V.s('a'), V.i32(2)], [V.s('b'), V.i32(3)]]]);
    assert.equal(st.SuccessCount, '2');
    await assert.rejects(
      g.call('Open', { ...S(s), TableName: 'mgi', MergeOption: { InsertColumns: ['k'], MatchColumns: ['k'], UpdateColumns: ['v'] } }),
      (e) => e.code === status.INVALID_ARGUMENT && /"v" of MatchColumns\/UpdateColumns is not among the loaded columns/.test(e.details),
    );
  });
  const { rows } = await g.query('SELECT k, v, d FROM mgi ORDER BY k');
  assert.deepEqual(rows, [{ k: 'a', v: 2, d: 'keep' }, { k: 'b', v: 3, d: 'dflt' }]);
});

test('PreSQL and PostSQL run inside the load transaction: a failing PostSQL rolls everything back', async () => {
  await withSession(async (s) => {
    const open = { TableName: 'made_by_presql', PreSQL: 'CREATE TABLE made_by_presql (id int); CREATE TABLE IF NOT EXISTS audit (n int)' };
    let st = await g.load(s, { ...open, PostSQL: 'INSERT INTO audit SELECT count(*) FROM made_by_presql' }, [[[V.i32(1)], [V.i32(2)]]]);
    assert.equal(st.SuccessCount, '2');
    assert.deepEqual((await g.query('SELECT n FROM audit')).rows, [{ n: 2 }]);
    await g.query('DROP TABLE made_by_presql');
    await assert.rejects(
      g.load(s, { ...open, PostSQL: 'INSERT INTO audit VALUES (1/0)' }, [[[V.i32(3)]]]),
      (e) => e.code === status.ABORTED && /PostSQL failed: ERROR 22012/.test(e.details),
    );
    assert.equal((await g.query(`SELECT to_regclass('made_by_presql') AS r`)).rows[0].r, null);
    assert.equal(await g.count('audit'), 1);
    // the session is usable afterwards
    await g.query('CREATE TABLE after_fail (id int)');
    st = await g.load(s, { TableName: 'after_fail' }, [[[V.i32(1)]]]);
    assert.equal(st.SuccessCount, '1');
  });
});

test('constraint violations (UNIQUE, NOT NULL, CHECK) fail the whole load with ABORTED; nothing is committed', async () => {
  await g.query(`CREATE TABLE cons (id int PRIMARY KEY, v text NOT NULL, n int CHECK (n > 0)); INSERT INTO cons VALUES (1, 'x', 1)`);
  const cases = [
    { rows: [[V.i32(2), V.s('a'), V.i32(1)], [V.i32(2), V.s('dup'), V.i32(1)]], re: /23505/, unique: true },
    { rows: [[V.i32(3), V.null(), V.i32(1)]], re: /23502/ },
    { rows: [[V.i32(4), V.s('a'), V.i32(-1)]], re: /23514/ },
  ];
  await withSession(async (s) => {
    for (const mode of [{}, { InsertOption: { TruncateTable: true } }, { MergeOption: { MatchColumns: ['id'], UpdateColumns: ['v', 'n'] } }]) {
      for (const c of cases) {
        if (c.unique && mode.MergeOption) continue; // Merge keeps one row per key: no duplicate to violate
        await g.call('Open', { ...S(s), TableName: 'cons', ...mode });
        let failed = null;
        try {
          await g.call('Write', { ...S(s), Rows: rowsOf(c.rows) });
          await g.call('Close', { session: { ID: s } });
        } catch (e) {
          failed = e;
        }
        assert.ok(failed, `load should fail: ${JSON.stringify(mode)} ${c.re}`);
        assert.equal(failed.code, status.ABORTED, failed.details);
        assert.match(failed.details, c.re);
        // a Write failure leaves a failed load to close; a Close failure closes it
        await g.call('Close', { session: { ID: s }, Abort: true }).catch((e) => assert.equal(e.code, status.FAILED_PRECONDITION));
        const { rows } = await g.query('SELECT id FROM cons ORDER BY id');
        assert.deepEqual(rows, [{ id: 1 }]);
      }
    }
  });
});

// ---- error limits ------------------------------------------------------------------------------

const good = (i) => [V.i32(i), V.s('2024-01-01')];
const badDate = (i) => [V.i32(i), V.s('not a date')];
const nul = (i) => [V.i32(i), V.s('2024\u0000')];

async function limitLoad(table, rows, option, close = { MaxErrorRows: -1 }, writeSize = rows.length) {
  return withSession(async (s) => {
    await g.call('Open', { ...S(s), TableName: table, InsertOption: option });
    try {
      for (let i = 0; i < rows.length; i += writeSize) await g.call('Write', { ...S(s), Rows: rowsOf(rows.slice(i, i + writeSize)) });
      return await g.call('Close', { session: { ID: s }, ...close });
    } catch (e) {
      await g.call('Close', { session: { ID: s }, Abort: true }).catch(() => {});
      throw e;
    }
  });
}

test('ErrorLimitCount: fewer rejected rows load the rest; reaching the count aborts and rolls back', async () => {
  await g.query('CREATE TABLE lc (id int, d date)');
  const rows = Array.from({ length: 50 }, (_, i) => (i === 10 ? badDate(i) : i === 20 ? nul(i) : good(i)));
  const st = await limitLoad('lc', rows, { ErrorLimitCount: 3 });
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['48', '2']);
  assert.match(st.ErrorRows[0], /^row 11: column "d": invalid input syntax for type date/);
  assert.match(st.ErrorRows[1], /^row 21: column "d": invalid byte sequence/);
  await g.query('TRUNCATE lc');
  rows[30] = badDate(30);
  await assert.rejects(limitLoad('lc', rows, { ErrorLimitCount: 3 }), (e) => e.code === status.ABORTED && /3 rejected rows ≥ ErrorLimitCount 3/.test(e.details));
  assert.equal(await g.count('lc'), 0);
  await assert.rejects(limitLoad('lc', rows, { ErrorLimitCount: 1 }), (e) => e.code === status.ABORTED && /ErrorLimitCount 1/.test(e.details));
  await assert.rejects(limitLoad('lc', rows, {}), (e) => e.code === status.ABORTED && /no error limit is set/.test(e.details));
  assert.equal(await g.count('lc'), 0);
});

test('ErrorLimitPercentage counts only after 300 rows (Greenplum threshold), then fails at ⌊100k/n⌋ ≥ limit', async () => {
  await g.query('CREATE TABLE lp (id int, d date)');
  // 50 bad rows among the first 300 (16 %) with a 10 % limit: no check fires before row 301
  const rows = Array.from({ length: 600 }, (_, i) => (i < 300 && i % 6 === 0 ? badDate(i) : good(i)));
  const st = await limitLoad('lp', rows, { ErrorLimitPercentage: 10 }, { MaxErrorRows: 2 }, 100);
  assert.deepEqual([st.SuccessCount, st.ErrorCount, st.ErrorRows.length], ['550', '50', 2]);
  await g.query('TRUNCATE lp');
  // one more bad row at n = 301: ⌊5100/301⌋ = 16 ≥ 10
  rows[300] = nul(300);
  await assert.rejects(limitLoad('lp', rows, { ErrorLimitPercentage: 10 }, {}, 100), (e) => e.code === status.ABORTED && /51 of 301 rows rejected \(16%\)/.test(e.details));
  assert.equal(await g.count('lp'), 0);
  // both limits: whichever is hit first
  await assert.rejects(limitLoad('lp', rows, { ErrorLimitPercentage: 50, ErrorLimitCount: 20 }, {}, 100), (e) => /20 rejected rows ≥ ErrorLimitCount 20/.test(e.details));
});

test('the first 1000 rows all rejected abort the load whatever the limit', async () => {
  await g.query('CREATE TABLE l1000 (id int, d date)');
  const rows = Array.from({ length: 1200 }, (_, i) => (i < 1000 ? badDate(i) : good(i)));
  await assert.rejects(limitLoad('l1000', rows, { ErrorLimitCount: 5000 }, {}, 400), (e) => e.code === status.ABORTED && /first 1000 rows/.test(e.details));
  assert.equal(await g.count('l1000'), 0);
});

test('MaxErrorRows: -1 returns all messages, 0 none, n at most n; ErrorCount is always the full count', async () => {
  await g.query('CREATE TABLE mx (id int, d date)');
  const rows = Array.from({ length: 20 }, (_, i) => (i % 4 === 1 ? badDate(i) : good(i)));
  for (const [max, kept] of [[-1, 5], [0, 0], [2, 2], [100, 5]]) {
    const st = await limitLoad('mx', rows, { ErrorLimitCount: 10 }, { MaxErrorRows: max });
    assert.deepEqual([st.ErrorCount, st.ErrorRows.length], ['5', kept]);
    if (kept) assert.match(st.ErrorRows[0], /^row 2: column "d"/);
  }
  assert.equal(await g.count('mx'), 60);
});

test('rows rejected by PostgreSQL and by the server interleave in arrival order across Writes; every good row lands once', async () => {
  await g.query('CREATE TABLE many (id int, d date)');
  // 60,000 rows in 6 Writes; every 97th row a bad date, every 101st a NUL byte
  const rows = Array.from({ length: 60000 }, (_, i) => (i % 97 === 5 ? badDate(i) : i % 101 === 7 ? nul(i) : good(i)));
  const badIds = rows.map((r, i) => (r[1].StringValue === '2024-01-01' ? -1 : i)).filter((i) => i >= 0);
  const st = await limitLoad('many', rows, { ErrorLimitCount: 5000 }, { MaxErrorRows: -1 }, 10000);
  assert.equal(st.ErrorCount, String(badIds.length));
  assert.equal(st.SuccessCount, String(60000 - badIds.length));
  assert.deepEqual(st.ErrorRows.map((m) => Number(/^row (\d+):/.exec(m)[1]) - 1), badIds);
  const { rows: agg } = await g.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, sum(id)::int8 AS s FROM many');
  const expectSum = (60000 * 59999) / 2 - badIds.reduce((a, b) => a + b, 0);
  assert.deepEqual(agg[0], { n: 60000 - badIds.length, d: 60000 - badIds.length, s: String(expectSum) });
});

test('Update and Merge isolate format errors too (staging table), with the same limits', async () => {
  await g.query(`CREATE TABLE um (k int, d date); INSERT INTO um VALUES (1, '2000-01-01'), (2, '2000-01-01')`);
  await withSession(async (s) => {
    const rows = [[V.i32(1), V.s('2024-01-01')], [V.i32(2), V.s('bogus')], [V.i32(3), V.s('2024-03-03')]];
    let st = await g.load(s, { TableName: 'um', UpdateOption: { MatchColumns: ['k'], UpdateColumns: ['d'], ErrorLimitCount: 5 } }, [rows]);
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['1', '1']);
    assert.match(st.ErrorRows[0], /^row 2: column "d": invalid input syntax for type date: "bogus"/);
    st = await g.load(s, { TableName: 'um', MergeOption: { MatchColumns: ['k'], UpdateColumns: ['d'], ErrorLimitCount: 5 } }, [rows]);
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2', '1']);
  });
  const { rows } = await g.query(`SELECT k, d::text FROM um ORDER BY k`);
  assert.deepEqual(rows, [{ k: 1, d: '2024-01-01' }, { k: 2, d: '2000-01-01' }, { k: 3, d: '2024-03-03' }]);
});

test('tables with row-level security or rules load through INSERT (COPY would refuse or bypass them), as the connecting role', async () => {
  const role = 'gp_loader_' + process.pid;
  await g.query(`CREATE ROLE ${role} LOGIN PASSWORD 'loader-pw';
    CREATE TABLE rls (id int, owner text); ALTER TABLE rls ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own_rows ON rls FOR INSERT WITH CHECK (owner = current_user);
    CREATE POLICY read_all ON rls FOR SELECT USING (true);
    GRANT SELECT, INSERT ON rls TO ${role};
    CREATE TABLE ruled (id int); CREATE TABLE ruled_log (id int);
    CREATE RULE log_it AS ON INSERT TO ruled DO ALSO INSERT INTO ruled_log VALUES (NEW.id)`);
  try {
    const s = await g.connect({ Username: role, Password: 'loader-pw' });
    try {
      let st = await g.load(s, { TableName: 'rls' }, [[[V.i32(1), V.s(role)], [V.i32(2), V.s(role)]]]);
      assert.equal(st.SuccessCount, '2');
      await assert.rejects(
        g.load(s, { TableName: 'rls' }, [[[V.i32(3), V.s(role)], [V.i32(4), V.s('someone else')]]]),
        (e) => e.code === status.ABORTED && /42501: new row violates row-level security policy/.test(e.details),
      );
      await assert.rejects(g.load(s, { TableName: 'ruled' }, [[[V.i32(1)]]]), (e) => e.code === status.ABORTED && /42501: permission denied/.test(e.details));
    } finally {
      await g.call('Disconnect', { ID: s });
    }
    const st = await withSession((s) => g.load(s, { TableName: 'ruled' }, [[[V.i32(7)], [V.i32(8)]]]));
    assert.equal(st.SuccessCount, '2');
    assert.deepEqual((await g.query('SELECT id FROM rls ORDER BY id')).rows, [{ id: 1 }, { id: 2 }]);
    assert.deepEqual((await g.query('SELECT id FROM ruled_log ORDER BY id')).rows, [{ id: 7 }, { id: 8 }]);
  } finally {
    await g.query(`DROP TABLE rls; REVOKE ALL ON SCHEMA public FROM ${role}; DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
  }
});
