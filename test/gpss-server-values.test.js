'use strict';
// Values through gpss-pg into real PostgreSQL columns: every DBValue kind into its matching
// column, StringValue into the types clients send as text, COPY-hostile characters, empty
// string vs NULL, NUL bytes and other per-row format errors, both accepted row widths.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useGpssServer, V, encodeRow, status } = require('./support/gpss-server');

const pg = usePostgres();
const g = useGpssServer(pg);

async function loadRows(table, rows, open = {}) {
  const s = await g.connect();
  try {
    return await g.load(s, { TableName: table, InsertOption: { ErrorLimitCount: 1000 }, ...open }, [rows]);
  } finally {
    await g.call('Disconnect', { ID: s });
  }
}

test('every DBValue kind lands in its matching column', async () => {
  await g.query(`CREATE TABLE kinds (i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, t text, b bytea, ts timestamp, tm time, d date, tstz timestamptz, n int4, o text, e int4)`);
  const st = await loadRows('kinds', [
    [V.i32(-32768), V.i32(-2147483648), V.i64('-9223372036854775808'), V.f32(Math.fround(0.1)), V.f64(0.1), V.s('text'), V.b([0, 1, 254, 255]), V.ts(1700000000, 123456789), V.ts(45296, 789000), V.ts(951782400, 0), V.ts(1700000000, 0), V.null(), V.other('other'), V.none()],
    [V.i32(32767), V.i32(2147483647), V.i64('9223372036854775807'), V.f32(NaN), V.f64(-Infinity), V.s(''), V.b([]), V.ts(-62135596800, 0), V.ts(0, 0), V.ts(-1, 0), V.ts(-1, 999999999), V.null(), V.other(''), V.null()],
    [V.i32(7), V.i32(0), V.i64('9007199254740993'), V.f32(Infinity), V.f64(1e308), V.s('x'), V.null(), V.ts(253402300799, 999999999), V.null(), V.null(), V.null(), V.i32(5), V.null(), V.i32(-1)],
  ]);
  assert.deepEqual([st.SuccessCount, st.ErrorCount, st.ErrorRows], ['3', '0', []]);
  const { rows } = await g.query(`SELECT i2, i4, i8::text, f4::text, f8::text, t, encode(b, 'hex') AS b, ts::text, tm::text, d::text,
      to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS tstz, n, o, e FROM kinds ORDER BY i2`);
  assert.deepEqual(rows[0], { i2: -32768, i4: -2147483648, i8: '-9223372036854775808', f4: '0.1', f8: '0.1', t: 'text', b: '0001feff', ts: '2023-11-14 22:13:20.123456', tm: '12:34:56.000789', d: '2000-02-29', tstz: '2023-11-14 22:13:20.000000', n: null, o: 'other', e: null });
  assert.deepEqual(rows[2], { i2: 32767, i4: 2147483647, i8: '9223372036854775807', f4: 'NaN', f8: '-Infinity', t: '', b: '', ts: '0001-01-01 00:00:00', tm: '00:00:00', d: '1969-12-31', tstz: '1969-12-31 23:59:59.999999', n: null, o: '', e: null });
  assert.deepEqual(rows[1], { i2: 7, i4: 0, i8: '9007199254740993', f4: 'Infinity', f8: '1e+308', t: 'x', b: null, ts: '9999-12-31 23:59:59.999999', tm: null, d: null, tstz: null, n: 5, o: null, e: -1 });
});

test('StringValue into bool, numeric, date, timestamptz, json, jsonb, uuid, inet, arrays, varchar(n), interval', async () => {
  await g.query(`CREATE TABLE strs (id int, bo bool, nu numeric(30,10), d date, tz timestamptz, j json, jb jsonb, u uuid, ip inet, arr int[], tarr text[], vc varchar(5), iv interval, big int8, f float8)`);
  const row = (id, ...vals) => [V.i32(id), ...vals.map((v) => (v === null ? V.null() : V.s(v)))];
  const st = await loadRows('strs', [
    row(1, 'true', '12345678901234567890.0123456789', '2024-02-29', '2024-01-01T10:00:00.000Z', '{"a": [1, 2]}', '{"b": {"c": null}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '{1,2,3}', '{"a b","c\\"d",NULL}', 'abcde', '1 day 02:00:00', '9223372036854775807', '1.5e-10'),
    row(2, 'f', '-0.5', 'epoch', '2024-06-01 12:00:00+02', '[]', '"s"', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '::1', '{}', '{}', 'é中😀ab', 'P1D', '-1', 'NaN'),
  ]);
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['2', '0']);
  const { rows } = await g.query(`SELECT bo, nu::text, d::text, to_char(tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS tz, j::text, jb, u::text, ip::text, arr, tarr, vc, iv::text, big::text, f FROM strs ORDER BY id`);
  assert.deepEqual(rows[0], { bo: true, nu: '12345678901234567890.0123456789', d: '2024-02-29', tz: '2024-01-01 10:00', j: '{"a": [1, 2]}', jb: { b: { c: null } }, u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ip: '192.168.0.1/24', arr: [1, 2, 3], tarr: ['a b', 'c"d', null], vc: 'abcde', iv: '1 day 02:00:00', big: '9223372036854775807', f: 1.5e-10 });
  assert.deepEqual(rows[1], { bo: false, nu: '-0.5000000000', d: '1970-01-01', tz: '2024-06-01 10:00', j: '[]', jb: 's', u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ip: '::1/128', arr: [], tarr: [], vc: 'é中😀ab', iv: '1 day', big: '-1', f: NaN });
});

test('tab, newline, CR, backslash, the literal \\N, quotes, unicode; empty string stays distinct from NULL', async () => {
  await g.query('CREATE TABLE esc (id int, v text)');
  const samples = ['a\tb', 'line1\nline2', 'cr\rlf\r\n', 'back\\slash\\', '\\N', '\\\\N', `'single' "double"`, 'ü中😀\u2028', '', ' ', '\u0001\u001f', 'x'.repeat(100000)];
  const rows = samples.map((v, i) => [V.i32(i), V.s(v)]);
  rows.push([V.i32(100), V.null()], [V.i32(101), V.none()]);
  const st = await loadRows('esc', rows);
  assert.equal(st.SuccessCount, String(samples.length + 2));
  const res = await g.query('SELECT id, v FROM esc ORDER BY id');
  assert.deepEqual(res.rows.map((r) => r.v), [...samples, null, null]);
});

test('a NUL byte, invalid UTF-8, an out-of-range Timestamp or text PostgreSQL rejects is a row error, not a crash', async () => {
  await g.query('CREATE TABLE bad (id int, v text, d date, n int4, vc varchar(3), b bytea)');
  const ok = (id) => [V.i32(id), V.s('ok'), V.s('2024-01-01'), V.i32(1), V.s('abc'), V.b([1])];
  // hand-built: StringValue with the bytes c3 28 (invalid UTF-8) in column v
  const badUtf8 = Buffer.concat([encodeRow([V.i32(4)]), Buffer.from([0x0a, 0x04, 0x3a, 0x02, 0xc3, 0x28]), encodeRow([V.null(), V.null(), V.null(), V.null()])]);
  const tsMs = Buffer.concat([encodeRow([V.i32(5), V.null()]), Buffer.from('0a0952070880d095ffbc31', 'hex'), encodeRow([V.null(), V.null(), V.null()])]);
  const rows = [
    ok(1),
    [V.i32(2), V.s('nul\u0000byte'), V.null(), V.null(), V.null(), V.null()],
    ok(3),
    badUtf8,
    tsMs,
    [V.i32(6), V.null(), V.s('2024-13-45'), V.null(), V.null(), V.null()],
    [V.i32(7), V.null(), V.null(), V.s('12x'), V.null(), V.null()],
    [V.i32(8), V.null(), V.null(), V.i64('99999999999'), V.null(), V.null()],
    [V.i32(9), V.null(), V.null(), V.null(), V.s('abcd'), V.null()],
    [V.i32(10), V.null(), V.null(), V.null(), V.null(), V.s('\\xZZ')],
    [V.i32(11), V.null(), V.null(), V.f64(1.5), V.null(), V.null()],
    ok(12),
  ];
  const s = await g.connect();
  await g.call('Open', { Session: { ID: s }, TableName: 'bad', InsertOption: { ErrorLimitCount: 100 } });
  await g.call('Write', { Session: { ID: s }, Rows: rows.map((r) => ({ Data: Buffer.isBuffer(r) ? r : encodeRow(r) })) });
  const st = await g.call('Close', { session: { ID: s }, MaxErrorRows: -1 });
  assert.deepEqual([st.SuccessCount, st.ErrorCount], ['3', '9']);
  const expected = [
    /^row 2: column "v": invalid byte sequence for encoding "UTF8": 0x00/,
    /^row 4: column "v": invalid byte sequence for encoding "UTF8"/,
    /^row 5: column "d": Timestamp seconds \d+ out of range/,
    /^row 6: column "d": date\/time field value out of range: "2024-13-45"/,
    /^row 7: column "n": invalid input syntax for type integer: "12x"/,
    /^row 8: column "n": value "99999999999" is out of range for type integer/,
    /^row 9: column "vc": value too long for type character varying\(3\)/,
    /^row 10: column "b": invalid hexadecimal digit/,
    /^row 11: column "n": invalid input syntax for type integer: "1.5"/,
  ];
  assert.equal(st.ErrorRows.length, expected.length);
  expected.forEach((re, i) => assert.match(st.ErrorRows[i], re));
  const { rows: got } = await g.query('SELECT id FROM bad ORDER BY id');
  assert.deepEqual(got.map((r) => r.id), [1, 3, 12]);
  // the server and session are fine afterwards
  assert.equal((await g.call('ListTable', { Session: { ID: s } })).Tables.some((t) => t.Name === 'bad'), true);
  await g.call('Disconnect', { ID: s });
});

test('rows may carry all table columns or just the InsertColumns (in their order); other widths are INVALID_ARGUMENT', async () => {
  await g.query('CREATE TABLE widths (id serial, a text, b int, c text DEFAULT $$dflt$$)');
  const s = await g.connect();
  const open = { Session: { ID: s }, TableName: 'widths', InsertOption: { InsertColumns: ['b', 'a'] } };
  await g.call('Open', open);
  await g.call('Write', { Session: { ID: s }, Rows: [{ Data: encodeRow([V.null(), V.s('full'), V.i32(1), V.s('ignored')]) }, { Data: encodeRow([V.i32(2), V.s('narrow')]) }] });
  let st = await g.call('Close', { session: { ID: s } });
  assert.equal(st.SuccessCount, '2');
  const { rows } = await g.query('SELECT id, a, b, c FROM widths ORDER BY id');
  assert.deepEqual(rows, [{ id: 1, a: 'full', b: 1, c: 'dflt' }, { id: 2, a: 'narrow', b: 2, c: 'dflt' }]);
  await g.call('Open', open);
  await assert.rejects(g.call('Write', { Session: { ID: s }, Rows: [{ Data: encodeRow([V.i32(3)]) }] }), (e) => e.code === status.INVALID_ARGUMENT && /row 1: row has 1 values; expected 4 \(all table columns\) or 2 \(InsertColumns\)/.test(e.details));
  st = await g.call('Close', { session: { ID: s }, Abort: true });
  assert.equal(st.SuccessCount, '0');
  assert.equal(await g.count('widths'), 2);
  await g.call('Disconnect', { ID: s });
});

test('COPY BINARY (used when every column has a binary form) stores exactly what the text path stores', async () => {
  const cols = 'id int8, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, t text, vc varchar(6), bp char(3), b bytea, ts timestamp, tz timestamptz, d date, tm time';
  await g.query(`CREATE TABLE bin_fast (${cols}); CREATE TABLE bin_text (${cols}, force_text json)`);
  const texts = ['', 'abc', 'tab\there', 'nl\nx', 'back\\slash', '\\N', 'é中😀', 'quote"\''];
  const stamps = [[-62135596800, 0], [253402300799, 999999999], [0, 0], [-1, 1000], [1700000000, 123456789], [946684800, 0], [9e9 + 946684800, 5000], [-9e9 + 946684800, 0]];
  const rows = [];
  for (let i = 0; i < 2000; i++) {
    const pick = (arr) => arr[i % arr.length];
    const [sec, ns] = pick(stamps);
    const tsv = V.ts(sec, ns);
    rows.push([
      V.i64(i),
      i % 11 === 0 ? V.null() : V.i32(pick([0, -1, 32767, -32768, 12345])),
      V.i32(pick([2147483647, -2147483648, 0, 7])),
      i % 5 === 0 ? V.i32(-i) : V.i64(pick(['9223372036854775807', '-9223372036854775808', '0', '-42', '4294967296'])),
      V.f32(pick([Math.fround(0.1), -0, NaN, Infinity, Math.fround(3.4e38), 1])),
      V.f64(pick([0.1, -0, NaN, -Infinity, 1e308, 5e-324, 2 ** 53 + 2])),
      i % 7 === 0 ? V.i64('-17') : i % 7 === 1 ? V.f64(2.5) : i % 7 === 2 ? tsv : i % 7 === 3 ? V.other(pick(texts)) : V.s(pick(texts)),
      V.s(pick(['', 'ab', 'abcdef', 'é中😀'])),
      V.s(pick(['a', 'ab', 'abc'])),
      i % 3 === 0 ? V.null() : V.b([i & 255, 0, 255]),
      tsv,
      tsv,
      tsv,
      tsv,
    ]);
  }
  const s = await g.connect();
  try {
    const before = g.logs.length;
    let st = await g.load(s, { TableName: 'bin_fast' }, [rows.slice(0, 1000), rows.slice(1000)]);
    assert.equal(st.SuccessCount, '2000');
    assert.match(g.logs.slice(before).join('\n'), /"bin_fast": 2000 rows.*COPY BINARY/);
    st = await g.load(s, { TableName: 'bin_text' }, [rows.map((r) => [...r, V.null()])]);
    assert.equal(st.SuccessCount, '2000');
    assert.match(g.logs.slice(before).join('\n'), /"bin_text": 2000 rows.*COPY text/);
  } finally {
    await g.call('Disconnect', { ID: s });
  }
  const names = 'id, i2, i4, i8, f4::text, f8::text, t, vc, bp, b, ts, tz, d, tm';
  const diff = await g.query(`(SELECT ${names} FROM bin_fast EXCEPT ALL SELECT ${names} FROM bin_text) UNION ALL (SELECT ${names} FROM bin_text EXCEPT ALL SELECT ${names} FROM bin_fast)`);
  assert.deepEqual(diff.rows, []);
  const { rows: spot } = await g.query(`SELECT i8::text, f8::text, t, ts::text, d::text, tm::text FROM bin_fast WHERE id IN (6, 7) ORDER BY id`);
  assert.deepEqual(spot, [
    { i8: '-9223372036854775808', f8: '9.007199254740994e+15', t: 'é中😀', ts: '2285-03-13 16:00:00.000005', d: '2285-03-13', tm: '16:00:00.000005' },
    { i8: '0', f8: '0.1', t: '-17', ts: '1714-10-20 08:00:00', d: '1714-10-20', tm: '08:00:00' },
  ]);
});

test('COPY BINARY isolates row errors too, and a value needing text input switches the rest of the load to text', async () => {
  await g.query('CREATE TABLE bin_mix (id serial, n int4, vc varchar(3), t text)');
  const s = await g.connect();
  try {
    const before = g.logs.length;
    await g.call('Open', { Session: { ID: s }, TableName: 'bin_mix', InsertOption: { InsertColumns: ['n', 'vc', 't'], ErrorLimitCount: 10 } });
    const w = (rows) => g.call('Write', { Session: { ID: s }, Rows: rows.map((r) => ({ Data: encodeRow(r) })) });
    await w([
      [V.i32(1), V.s('ok'), V.s('a')],
      [V.i32(2), V.s('toolong'), V.s('b')], // PostgreSQL: value too long (binary input)
      [V.i32(3), V.s('ok'), V.s('nul\u0000')], // server: NUL byte
      [V.i64('99999999999'), V.s('ok'), V.s('c')], // out of int4 range: not binary, goes to text...
      [V.i32(5), V.s('ok'), V.s('d')],
    ]);
    await w([[V.s('6'), V.s('ok'), V.s('e')], [V.i32(7), V.s('toolong'), V.s('f')]]);
    const st = await g.call('Close', { session: { ID: s }, MaxErrorRows: -1 });
    assert.deepEqual([st.SuccessCount, st.ErrorCount], ['3', '4']);
    assert.match(st.ErrorRows[0], /^row 2: column "vc": value too long for type character varying\(3\)/);
    assert.match(st.ErrorRows[1], /^row 3: column "t": invalid byte sequence/);
    assert.match(st.ErrorRows[2], /^row 4: column "n": value "99999999999" is out of range for type integer/);
    assert.match(st.ErrorRows[3], /^row 7: column "vc": value too long/);
    assert.match(g.logs.slice(before).join('\n'), /"bin_mix": 3 rows.*COPY text/);
  } finally {
    await g.call('Disconnect', { ID: s });
  }
  const { rows } = await g.query('SELECT id, n, t FROM bin_mix ORDER BY id');
  assert.deepEqual(rows.map((r) => [r.n, r.t]), [[1, 'a'], [5, 'd'], [6, 'e']]);
});
