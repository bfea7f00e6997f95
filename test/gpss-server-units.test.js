'use strict';
// Pure parts of gpss-pg: COPY text rendering (checked against the shared decodeRow), SQL
// builders, the condition rewrite, error-limit arithmetic, COPY error contexts, the
// WriteRequest decoder, OpenRequest mapping and CLI arguments. No database here.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const protoLoader = require('@grpc/proto-loader');
const { encodeRow, decodeRow } = require('./support/row-oracle');
const ct = { ...require('../dist/gpss-server/copy-values'), ...require('../dist/gpss-server/row-renderer') };
const sql = require('../dist/gpss-server/sql');
const limits = require('../dist/gpss-server/error-limits');
const { parseCopyContext } = require('../dist/gpss-server/copy-loader');
const { decodeWriteRequest } = require('../dist/gpss-server/write-request');
const { parseHostPort } = require('../dist/gpss-server/index');
const { openSpecFromRequest } = require('../dist/gpss-server/open-request');
const { buildLayout } = require('../dist/gpss-server/load');
const { parseArgs, respawnExecArgv, HEAP_OPTION } = require('../dist/gpss-server/cli');

const K = { Text: 0, Bytea: 1, Date: 2, Time: 3, TimeTz: 4, Timestamp: 5, TimestampTz: 6 };

function layoutFor(kinds, names = kinds.map((_, i) => `c${i}`)) {
  const cols = names.map((name, i) => ({ name, kind: kinds[i] }));
  return buildLayout(cols, names, []);
}

function varint(n) {
  const out = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function render(kinds, values) {
  const r = new ct.RowRenderer(layoutFor(kinds));
  const out = new ct.CopyTextBuffer(16);
  const bytes = Buffer.isBuffer(values) ? values : encodeRow(values);
  r.render(bytes, 0, bytes.length, out);
  return out.buf.toString('utf8', 0, out.pos);
}

test('renderFloat32 prints the shortest decimal that survives a float32 round trip', () => {
  assert.equal(ct.renderFloat32(Math.fround(0.1)), '0.1');
  assert.equal(ct.renderFloat32(Math.fround(1 / 3)), '0.33333334');
  assert.equal(ct.renderFloat32(100), '100');
  assert.equal(ct.renderFloat32(16777216), '16777216');
  assert.equal(ct.renderFloat32(Math.fround(3.4028234663852886e38)), '3.4028235e+38');
  assert.equal(ct.renderFloat32(Math.fround(1e-45)), '1e-45');
  assert.equal(ct.renderFloat32(NaN), 'NaN');
  assert.equal(ct.renderFloat32(Infinity), 'Infinity');
  assert.equal(ct.renderFloat32(-Infinity), '-Infinity');
  assert.equal(ct.renderFloat32(-0), '-0');
  for (let i = 0; i < 2000; i++) {
    const f = Math.fround((Math.random() - 0.5) * 10 ** ((Math.random() * 60) | 0 - 30));
    assert.equal(Math.fround(Number(ct.renderFloat32(f))), f);
  }
});

test('renderFloat64 keeps every double exact; specials as PostgreSQL spells them', () => {
  assert.equal(ct.renderFloat64(0.1), '0.1');
  assert.equal(ct.renderFloat64(1e21), '1e+21');
  assert.equal(ct.renderFloat64(-1.5e-300), '-1.5e-300');
  assert.equal(ct.renderFloat64(NaN), 'NaN');
  assert.equal(ct.renderFloat64(-Infinity), '-Infinity');
  assert.equal(ct.renderFloat64(-0), '-0');
});

test('renderTimestamp renders UTC with microseconds, per column kind, and rejects out-of-range values', () => {
  assert.equal(ct.renderTimestamp(1700000000, 123456789, K.Timestamp), '2023-11-14 22:13:20.123456');
  assert.equal(ct.renderTimestamp(1700000000, 123456789, K.TimestampTz), '2023-11-14 22:13:20.123456+00');
  assert.equal(ct.renderTimestamp(1700000000, 999, K.Date), '2023-11-14');
  assert.equal(ct.renderTimestamp(1700000000, 1000, K.Time), '22:13:20.000001');
  assert.equal(ct.renderTimestamp(1700000000, 0, K.TimeTz), '22:13:20.000000+00');
  assert.equal(ct.renderTimestamp(-1, 500000000, K.Timestamp), '1969-12-31 23:59:59.500000');
  assert.equal(ct.renderTimestamp(951782400, 0, K.Date), '2000-02-29');
  assert.equal(ct.renderTimestamp(-62135596800, 0, K.Timestamp), '0001-01-01 00:00:00.000000');
  assert.equal(ct.renderTimestamp(253402300799, 999999999, K.Timestamp), '9999-12-31 23:59:59.999999');
  assert.throws(() => ct.renderTimestamp(1700000000000, 0, K.Timestamp), /out of range.*milliseconds/);
  assert.throws(() => ct.renderTimestamp(-62135596801, 0, K.Timestamp), /out of range/);
  assert.throws(() => ct.renderTimestamp(0, 1e9, K.Timestamp), /nanos/);
  assert.throws(() => ct.renderTimestamp(0, -1, K.Timestamp), /nanos/);
  // Agrees with Date for a spread of instants.
  for (let i = 0; i < 500; i++) {
    const sec = Math.floor((Math.random() - 0.3) * 2e10);
    const iso = new Date(sec * 1000).toISOString();
    assert.equal(ct.renderTimestamp(sec, 0, K.Timestamp), iso.slice(0, 10) + ' ' + iso.slice(11, 19) + '.000000');
  }
});

// ---- the fast path against decodeRow ---------------------------------------------------

function escapeText(s) {
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Reference rendering built on the shared decodeRow (the slow, obvious way). */
function reference(bytes, kinds) {
  return (
    decodeRow(bytes)
      .map((v, i) => {
        const kind = kinds[i];
        if ('Int32Value' in v) return String(v.Int32Value);
        if ('Int64Value' in v) return v.Int64Value;
        if ('Float32Value' in v) return ct.renderFloat32(v.Float32Value);
        if ('Float64Value' in v) return ct.renderFloat64(v.Float64Value);
        if ('StringValue' in v) return escapeText(v.StringValue);
        if ('OtherValue' in v) return escapeText(v.OtherValue);
        if ('BytesValue' in v) return kind === K.Bytea ? '\\\\x' + v.BytesValue.toString('hex') : escapeText(v.BytesValue.toString('utf8'));
        if ('TimeStampValue' in v) return ct.renderTimestamp(Number(v.TimeStampValue.seconds), v.TimeStampValue.nanos, kind);
        return '\\N';
      })
      .join('\t') + '\n'
  );
}

function randomString() {
  const pool = ['a', 'Z', ' ', '\t', '\n', '\r', '\\', '\\N', '"', "'", ',', 'é', '中', '😀', '\u2028', '\u0001', 'x'.repeat(50)];
  let s = '';
  const n = (Math.random() * 8) | 0;
  for (let i = 0; i < n; i++) s += pool[(Math.random() * pool.length) | 0];
  return s;
}

function randomValue(kind) {
  const r = Math.random();
  if (r < 0.08) return { NullValue: 0 };
  if (r < 0.1) return {};
  if (kind === K.Bytea) return { BytesValue: Buffer.from(Array.from({ length: (Math.random() * 20) | 0 }, () => (Math.random() * 256) | 0)) };
  if (kind >= K.Date) return { TimeStampValue: { seconds: String(Math.floor((Math.random() - 0.3) * 1e10)), nanos: (Math.random() * 1e9) | 0 } };
  const pick = (Math.random() * 8) | 0;
  switch (pick) {
    case 0:
      return { Int32Value: [0, -1, 2147483647, -2147483648, (Math.random() * 1e6) | 0][(Math.random() * 5) | 0] };
    case 1:
      return { Int64Value: ['0', '-1', '9223372036854775807', '-9223372036854775808', '9007199254740993', String((Math.random() * 1e15) | 0)][(Math.random() * 6) | 0] };
    case 2:
      return { Float32Value: Math.fround((Math.random() - 0.5) * 1e6) };
    case 3:
      return { Float64Value: [(Math.random() - 0.5) * 1e300, NaN, -Infinity, 0.1][(Math.random() * 4) | 0] };
    case 4:
      return { OtherValue: randomString() };
    case 5:
      return { BytesValue: Buffer.from(randomString()) };
    case 6:
      return { TimeStampValue: { seconds: '1700000000', nanos: 5000 } };
    default:
      return { StringValue: randomString() };
  }
}

test('RowRenderer renders 3,000 random rows exactly like decodeRow + a reference COPY formatter', () => {
  const kindsPool = [K.Text, K.Text, K.Bytea, K.Date, K.Time, K.TimeTz, K.Timestamp, K.TimestampTz];
  for (let n = 0; n < 3000; n++) {
    const width = 1 + ((Math.random() * 9) | 0);
    const kinds = Array.from({ length: width }, () => kindsPool[(Math.random() * kindsPool.length) | 0]);
    const values = kinds.map(randomValue);
    const bytes = encodeRow(values);
    assert.equal(render(kinds, bytes), reference(bytes, kinds), `row ${JSON.stringify(values)}`);
  }
});

test('COPY escaping: tab, LF, CR, backslash, the literal \\N, quotes, unicode; empty string differs from NULL', () => {
  const line = render([0, 0, 0, 0, 0, 0], [V('a\tb'), V('l1\nl2\r'), V('c:\\dir'), V('\\N'), V(`'"q"'`), V('ü中😀')]);
  assert.equal(line, 'a\\tb\tl1\\nl2\\r\tc:\\\\dir\t\\\\N\t\'"q"\'\tü中😀\n');
  assert.equal(render([0, 0, 0], [V(''), { NullValue: 0 }, {}]), '\t\\N\t\\N\n');
  function V(s) {
    return { StringValue: s };
  }
});

test('BytesValue is \\x hex for bytea and checked UTF-8 text elsewhere', () => {
  assert.equal(render([K.Bytea, K.Text], [{ BytesValue: Buffer.from([0, 1, 0xff]) }, { BytesValue: Buffer.from('hé\t') }]), '\\\\x0001ff\thé\\t\n');
  assert.throws(() => render([K.Text], [{ BytesValue: Buffer.from([0xff]) }]), (e) => e instanceof ct.ValueFormatError && e.column === 'c0');
});

test('a NUL byte, invalid UTF-8 or an out-of-range Timestamp rejects the row (ValueFormatError) and leaves the buffer as it was', () => {
  const r = new ct.RowRenderer(layoutFor([K.Text, K.Text, K.Timestamp]));
  const out = new ct.CopyTextBuffer(16);
  const ok = encodeRow([{ StringValue: 'ok' }, { StringValue: 'fine' }, { NullValue: 0 }]);
  r.render(ok, 0, ok.length, out);
  const before = out.pos;
  // encodeRow refuses an out-of-range Timestamp, so that column is built by hand:
  // Row.Columns(0x0a) { TimeStampValue(0x52) { seconds(0x08) = 1700000000000 } }
  const sec = varint(1700000000000);
  const ts = Buffer.concat([Buffer.from([0x08]), sec]);
  const tsColumn = Buffer.concat([Buffer.from([0x0a, ts.length + 2, 0x52, ts.length]), ts]);
  const bad = [
    encodeRow([{ StringValue: 'x' }, { StringValue: 'a\u0000b' }, { NullValue: 0 }]),
    Buffer.concat([encodeRow([{ StringValue: 'x' }, { NullValue: 0 }]), tsColumn]),
  ];
  for (const b of bad) {
    assert.throws(() => r.render(b, 0, b.length, out), ct.ValueFormatError);
    assert.equal(out.pos, before);
  }
  // invalid UTF-8 inside a StringValue, built by hand: field 7, length 2, bytes c3 28
  const raw = Buffer.from([0x0a, 0x04, 0x3a, 0x02, 0xc3, 0x28, 0x0a, 0x00, 0x0a, 0x02, 0x58, 0x00]);
  assert.throws(() => r.render(raw, 0, raw.length, out), /invalid byte sequence/);
  assert.equal(out.pos, before);
});

test('malformed Row bytes are protocol errors wherever decodeRow rejects them', () => {
  const cases = [
    Buffer.from([0xff, 0xff, 0xff]),
    Buffer.from([0x0a, 0x05, 0x08]),
    Buffer.from([0x12, 0x00]),
    Buffer.from([0x0a, 0x02, 0x18, 0x01]), // unknown DBValue field 3
    Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x58, 0x00]), // two members
    Buffer.from([0x0a, 0x02, 0x0d, 0x00]), // Int32 with fixed32 wire type
  ];
  for (const b of cases) {
    assert.throws(() => decodeRow(b));
    assert.throws(() => render([0, 0, 0], b), ct.RowProtocolError, b.toString('hex'));
  }
});

test('row widths: all table columns or the InsertColumns; anything else is a protocol error', () => {
  const cols = ['a', 'b', 'c'].map((name) => ({ name, kind: K.Text }));
  const layout = buildLayout(cols, ['c', 'a'], ['c', 'a']);
  const r = new ct.RowRenderer(layout);
  const out = new ct.CopyTextBuffer(16);
  const full = encodeRow([{ StringValue: 'A' }, { StringValue: 'B' }, { StringValue: 'C' }]);
  r.render(full, 0, full.length, out);
  const narrow = encodeRow([{ StringValue: 'C2' }, { StringValue: 'A2' }]);
  r.render(narrow, 0, narrow.length, out);
  assert.equal(out.buf.toString('utf8', 0, out.pos), 'C\tA\nC2\tA2\n');
  const one = encodeRow([{ StringValue: 'x' }]);
  assert.throws(() => r.render(one, 0, one.length, out), /row has 1 values; expected 3 \(all table columns\) or 2 \(InsertColumns\)/);
  const empty = Buffer.alloc(0);
  assert.throws(() => r.render(empty, 0, 0, out), /row has 0 values/);
});

test('appendRawLine passes csv/delimited lines through, newline-terminated; rejects NUL and stray line breaks', () => {
  const out = new ct.CopyTextBuffer(8);
  const l = Buffer.from('1,"a\nb"\r\n');
  ct.appendRawLine(l, 0, l.length, out, true);
  assert.equal(out.buf.toString('utf8', 0, out.pos), '1,"a\nb"\n');
  const d = Buffer.from('1|x\ny');
  assert.throws(() => ct.appendRawLine(d, 0, d.length, out, false), /line break/);
  const z = Buffer.from('1|\u0000');
  assert.throws(() => ct.appendRawLine(z, 0, z.length, out, true), /NUL/);
});

// ---- SQL ---------------------------------------------------------------------------------

test('identifiers are always double-quoted; hostile names stay names', () => {
  assert.equal(sql.quoteIdent('x"; DROP TABLE t; --'), '"x""; DROP TABLE t; --"');
  assert.equal(sql.qualifiedName('my schema', 'T'), '"my schema"."T"');
  assert.throws(() => sql.quoteIdent('a\u0000b'), /NUL/);
  assert.equal(sql.buildCopy('"s"."t"', ['a', 'b"c']), 'COPY "s"."t" ("a", "b""c") FROM STDIN');
  assert.equal(sql.buildCopy('"t"', ['a'], { kind: 'csv', delimiter: ';', quote: "'", null: 'NULL' }), `COPY "t" ("a") FROM STDIN WITH (FORMAT csv, DELIMITER ';', QUOTE '''', NULL 'NULL')`);
  assert.equal(sql.buildCopy('"t"', ['a'], { kind: 'delimited', delimiter: '|' }), `COPY "t" ("a") FROM STDIN WITH (FORMAT text, DELIMITER '|')`);
});

test('resolveColumns: exact names only, as Greenplum resolves quoted identifiers; a case-only difference gets a hint', () => {
  assert.deepEqual(sql.resolveColumns(['id', 'name'], ['id', 'name'], 'InsertColumns'), ['id', 'name']);
  assert.deepEqual(sql.resolveColumns(['Id'], ['Id', 'id'], 'X'), ['Id']);
  assert.throws(() => sql.resolveColumns(['ID', 'name'], ['id', 'name'], 'InsertColumns'), /InsertColumns: column "ID" does not exist in the table; did you mean "id"\?/);
  assert.throws(() => sql.resolveColumns(['ID'], ['Id', 'id'], 'MatchColumns'), /MatchColumns: column "ID" does not exist in the table; did you mean "Id" or "id"\?/);
  assert.throws(() => sql.resolveColumns(['nope'], ['id'], 'UpdateColumns'), (e) => /UpdateColumns: column "nope" does not exist/.test(e.message) && !/did you mean/.test(e.message));
  assert.throws(() => sql.resolveColumns(['id', 'id'], ['id'], 'InsertColumns'), /listed twice/);
});

test('staging in a StagingSchema: an unlogged table there, dropped by the load; without one a temp table dropped at commit', () => {
  const ref = { schema: 'Stage', name: 'gpss_stage_1' };
  assert.equal(sql.stagingSql(ref), '"Stage"."gpss_stage_1"');
  assert.equal(
    sql.buildCreateStaging(ref, [{ name: 'a', sqlType: 'integer' }]),
    'CREATE UNLOGGED TABLE "Stage"."gpss_stage_1" (_gpss_seq bigint GENERATED ALWAYS AS IDENTITY, "a" integer)',
  );
  assert.equal(sql.buildDropStaging(ref), 'DROP TABLE "Stage"."gpss_stage_1"');
  assert.equal(sql.buildDropStaging('stg'), null);
  assert.match(sql.buildUpdate('"t"', ref, ['k'], ['v'], ''), /FROM "Stage"\."gpss_stage_1" ORDER BY/);
  assert.match(sql.buildMergeInsert('"t"', ref, ['k'], ['k', 'v']), /FROM "Stage"\."gpss_stage_1"\) AS from_table/);
  assert.equal(sql.buildInsertFromStaging('"t"', ref, ['a']), 'INSERT INTO "t" ("a") SELECT "a" FROM "Stage"."gpss_stage_1" ORDER BY _gpss_seq');
});

test('Update and Merge SQL follow gpload, last row wins, condition only on the UPDATE', () => {
  assert.equal(
    sql.buildUpdate('"public"."t"', 'stg', ['k'], ['v', 'w'], 'into_table."v" < 5'),
    'UPDATE "public"."t" AS into_table SET "v" = from_table."v", "w" = from_table."w" FROM (SELECT DISTINCT ON ("k") * FROM "stg" ORDER BY "k", _gpss_seq DESC) AS from_table WHERE into_table."k" = from_table."k" AND (into_table."v" < 5)',
  );
  const merge = sql.buildMergeInsert('"public"."t"', 'stg', ['k', 'j'], ['k', 'j', 'v']);
  assert.match(merge, /^INSERT INTO "public"\."t" \("k", "j", "v"\) SELECT from_table\."k", from_table\."j", from_table\."v" FROM /);
  assert.match(merge, /row_number\(\) OVER \(PARTITION BY "k", "j" ORDER BY _gpss_seq DESC\)/);
  assert.match(merge, /WHERE into_table\."k" IS NULL AND into_table\."j" IS NULL AND from_table\.gpss_row_number = 1/);
  assert.doesNotMatch(merge, /cond/);
  assert.equal(sql.buildInsertFromStaging('"t"', 'stg', ['a', 'b']), 'INSERT INTO "t" ("a", "b") SELECT "a", "b" FROM "stg" ORDER BY _gpss_seq');
  assert.equal(
    sql.buildCreateStaging('stg', [{ name: 'a', sqlType: 'character varying(5)' }]),
    'CREATE TEMP TABLE "stg" (_gpss_seq bigint GENERATED ALWAYS AS IDENTITY, "a" character varying(5)) ON COMMIT DROP',
  );
});

test('rewriteCondition prefixes bare target columns with into_table and leaves everything else alone', () => {
  const cols = ['v', 'ts', 'Mixed', 'date'];
  assert.equal(sql.rewriteCondition('v > 5', cols), 'into_table."v" > 5');
  assert.equal(sql.rewriteCondition('V > 5 AND from_table.v < 3', cols), 'into_table."v" > 5 AND from_table.v < 3');
  assert.equal(sql.rewriteCondition(`v <> 'v' AND ts > now() - interval '1 day'`, cols), `into_table."v" <> 'v' AND into_table."ts" > now() - interval '1 day'`);
  assert.equal(sql.rewriteCondition('"Mixed" IS NOT NULL AND mixed = 1', cols), 'into_table."Mixed" IS NOT NULL AND mixed = 1');
  assert.equal(sql.rewriteCondition("x::date = date AND $$v$$ = 'it''s v'", cols), "x::date = into_table.\"date\" AND $$v$$ = 'it''s v'");
  assert.equal(sql.rewriteCondition('into_table.v = 1 -- v\n', cols), 'into_table.v = 1 -- v\n');
});

// ---- error limits --------------------------------------------------------------------------

test('error limits follow cdbsreh.c: count, percentage after 300 rows, the first-1000 rule, both-zero', () => {
  const L = (count, percentage) => ({ count, percentage });
  assert.match(limits.limitBreach(L(0, 0), 1, 1), /no error limit/);
  assert.equal(limits.limitBreach(L(3, 0), 2, 10), null);
  assert.match(limits.limitBreach(L(3, 0), 3, 10), /ErrorLimitCount 3/);
  assert.match(limits.limitBreach(L(1, 0), 1, 99), /ErrorLimitCount 1/);
  // percentage: nothing counts up to row 300, even at 100 %
  assert.equal(limits.limitBreach(L(0, 10), 300, 300), null);
  assert.match(limits.limitBreach(L(0, 10), 31, 301), /10%\) ≥ ErrorLimitPercentage 10/);
  assert.equal(limits.limitBreach(L(0, 10), 30, 301), null); // floor(3000/301) = 9
  assert.match(limits.limitBreach(L(0, 100), 1000, 1000), /ErrorLimitPercentage 100/);
  assert.equal(limits.limitBreach(L(5000, 0), 999, 999), null);
  assert.match(limits.limitBreach(L(5000, 0), 1000, 1000), /first 1000/);
  assert.equal(limits.limitBreach(L(5000, 0), 1000, 1001), null);
  assert.equal(limits.checkErrorLimitOptions(-1, 0), 'ErrorLimitCount must be ≥ 0 (got -1)');
  assert.match(limits.checkErrorLimitOptions(0, 101), /ErrorLimitPercentage must be 0..100/);
  assert.equal(limits.checkErrorLimitOptions(10, 100), null);
  assert.equal(limits.countLimitCertain(L(0, 0), 1), true);
  assert.equal(limits.countLimitCertain(L(3, 50), 2), false);
  assert.equal(limits.countLimitCertain(L(3, 50), 3), true);
  assert.equal(limits.countLimitCertain(L(0, 50), 3), false);
});

test('parseCopyContext finds the line and column of PostgreSQL COPY errors, only for the expected relation', () => {
  assert.deepEqual(parseCopyContext('COPY t, line 12, column d: "bad"', 't', ['d', 'dd']), { line: 12, column: 'd' });
  assert.deepEqual(parseCopyContext('COPY x"; y, line 3, column a:b: null input', 'x"; y', ['a', 'a:b']), { line: 3, column: 'a:b' });
  assert.deepEqual(parseCopyContext('COPY t, line 4: "1\tx"', 't', ['a']), { line: 4, column: '' });
  assert.deepEqual(parseCopyContext('COPY t, line 5, column vc', 't', ['v', 'vc']), { line: 5, column: 'vc' }); // binary COPY
  assert.deepEqual(parseCopyContext('COPY t, line 6', 't', ['v']), { line: 6, column: '' });
  assert.equal(parseCopyContext('PL/pgSQL function f() line 3\nCOPY t, line 1', 't', []), null);
  assert.equal(parseCopyContext(undefined, 't', []), null);
});

// ---- requests ------------------------------------------------------------------------------

test('decodeWriteRequest finds the session and every RowData.Data in the raw request bytes', () => {
  const def = protoLoader.loadSync(path.join(__dirname, '../proto/gpss.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const ser = def['api.Gpss'].Write.requestSerialize;
  const rows = Array.from({ length: 3000 }, (_, i) => encodeRow([{ Int32Value: i }, { StringValue: 'r' + i }]));
  rows.push(Buffer.alloc(0));
  const buf = ser({ Session: { ID: 'abc-é' }, Rows: rows.map((Data) => ({ Data })) });
  const w = decodeWriteRequest(buf);
  assert.equal(w.sessionId, 'abc-é');
  assert.equal(w.count, rows.length);
  for (let i = 0; i < rows.length; i++) assert.deepEqual(w.buf.subarray(w.starts[i], w.ends[i]), rows[i]);
  assert.throws(() => decodeWriteRequest(Buffer.from([0x12, 0x10, 0x0a])), /past the end|truncated/);
  // Spans of a decoded request stay its own when more requests are decoded (a Write keeps them
  // across awaits), also after a request larger than any before (10,000 rows).
  const more = Array.from({ length: 10000 }, (_, i) => encodeRow([{ Int32Value: -i }, { StringValue: 'other row ' + i }]));
  const w2 = decodeWriteRequest(ser({ Session: { ID: 's2' }, Rows: more.map((Data) => ({ Data })) }));
  const w3 = decodeWriteRequest(ser({ Session: { ID: 's3' }, Rows: [{ Data: rows[7] }] }));
  for (let i = 0; i < rows.length; i++) assert.deepEqual(w.buf.subarray(w.starts[i], w.ends[i]), rows[i]);
  assert.equal(w2.count, more.length);
  for (let i = 0; i < more.length; i++) assert.deepEqual(w2.buf.subarray(w2.starts[i], w2.ends[i]), more[i]);
  assert.deepEqual([w3.count, w3.starts.length, w3.ends.length], [1, 1, 1]);
  assert.deepEqual(w3.buf.subarray(w3.starts[0], w3.ends[0]), rows[7]);
});

test('openSpecFromRequest: modes, defaults, limits, formats (csv/delimited accepted, others UNIMPLEMENTED)', () => {
  const base = { SchemaName: '', TableName: 't', PreSQL: '', PostSQL: '', StagingSchema: '', avro: null, binary: null, csv: null, delimited: null, json: null, custom: null, proto: '' };
  const ins = openSpecFromRequest({ ...base });
  assert.equal(ins.mode, 'insert');
  assert.equal(ins.schema, 'public');
  assert.equal(ins.stagingSchema, '');
  assert.equal(openSpecFromRequest({ ...base, StagingSchema: 'Stage' }).stagingSchema, 'Stage', 'StagingSchema is passed on as given');
  assert.deepEqual(ins.limits, { count: 0, percentage: 0 });
  const m = openSpecFromRequest({ ...base, Option: 'MergeOption', MergeOption: { InsertColumns: ['a'], MatchColumns: ['k'], UpdateColumns: ['v'], Condition: 'v>1', ErrorLimitCount: '7', ErrorLimitPercentage: 5 } });
  assert.deepEqual([m.mode, m.insertColumns, m.matchColumns, m.updateColumns, m.condition, m.limits], ['merge', ['a'], ['k'], ['v'], 'v>1', { count: 7, percentage: 5 }]);
  const u = openSpecFromRequest({ ...base, Option: 'UpdateOption', UpdateOption: { MatchColumns: ['k'], UpdateColumns: ['v'], Condition: '', ErrorLimitCount: '0', ErrorLimitPercentage: 0 } });
  assert.equal(u.mode, 'update');
  const t = openSpecFromRequest({ ...base, Option: 'InsertOption', InsertOption: { InsertColumns: [], TruncateTable: true, ErrorLimitCount: '2', ErrorLimitPercentage: 0 } });
  assert.deepEqual([t.truncate, t.limits.count], [true, 2]);
  const c = openSpecFromRequest({ ...base, csv: { delimiter: ';', quote: '', null: '', escape: '', header: true, columns: [] } });
  assert.deepEqual([c.format.kind, c.format.delimiter, c.header], ['csv', ';', true]);
  assert.equal(openSpecFromRequest({ ...base, delimited: { delimiter: '|', columns: [] } }).format.kind, 'delimited');
  for (const f of ['avro', 'binary', 'json', 'custom']) {
    assert.throws(() => openSpecFromRequest({ ...base, [f]: {} }), (e) => e.code === 12 && e.message.includes(f));
  }
  assert.throws(() => openSpecFromRequest({ ...base, proto: 'x' }), (e) => e.code === 12);
});

test('CLI arguments and listen addresses', () => {
  const o = parseArgs(['--listen', '0.0.0.0:5001', '--database=postgres://u@db:5433/x', '--allow-host', 'a:1', '--allow-host', 'b:2', '--max-sessions', '8', '--max-message-mb', '16']);
  assert.deepEqual([o.listen, o.databaseUrl, o.allowHosts, o.maxSessions, o.maxMessageMb], ['0.0.0.0:5001', 'postgres://u@db:5433/x', ['a:1', 'b:2'], 8, 16]);
  assert.throws(() => parseArgs(['--bogus']), /unknown option --bogus/);
  assert.deepEqual(respawnExecArgv([]), [HEAP_OPTION]);
  assert.deepEqual(respawnExecArgv(['--enable-source-maps']), ['--enable-source-maps', HEAP_OPTION]);
  assert.equal(respawnExecArgv(['--initial-old-space-size=16']), null, 'an option given by the user is kept as given');
  assert.equal(respawnExecArgv([HEAP_OPTION]), null);
  assert.equal(respawnExecArgv(['--inspect-brk=9230']), null, 'under the debugger the CLI stays one process');
  assert.throws(() => parseArgs(['--database', 'postgres://x/y', '--tls-cert', 'c']), /go together/);
  assert.throws(() => parseArgs(['--database', 'postgres://x/y', '--max-sessions', '0']), /positive/);
  assert.equal(parseArgs(['--help']).help, true);
  assert.equal(parseArgs(['--database', 'postgres://x/y', '--error-rows', 'none']).errorRows, 'none');
  assert.equal(parseArgs(['--database', 'postgres://x/y', '--error-rows=positions']).errorRows, 'positions');
  assert.throws(() => parseArgs(['--database', 'postgres://x/y', '--error-rows', 'some']), /--error-rows must be positions or none/);
  assert.throws(() => parseArgs(['--database', 'postgres://x/y', '--listen']), /--listen needs a value/);
  assert.throws(() => parseArgs(['--database', 'postgres://x/y', 'stray']), /unknown option stray/);
  assert.equal(parseArgs(['-h']).help, true);
  assert.deepEqual(parseArgs(['--database', 'postgres://x/y', '--listen', '--odd-but-a-value']).listen, '--odd-but-a-value');
  assert.deepEqual(parseHostPort('[::1]:7', 5000), { host: '::1', port: 7 });
  assert.deepEqual(parseHostPort('Localhost', 5000), { host: 'localhost', port: 5000 });
  assert.throws(() => parseHostPort('a:99999', 1), /invalid port/);
});

test('segment buffers of completed loads are kept for later loads, at most SPARE_BUFFERS of at most 2 segments', () => {
  const { takeSegmentBuffer, giveBackSegmentBuffer, spareSegmentBuffers, SPARE_BUFFERS, SEGMENT_BYTES } = require('../dist/gpss-server/copy-loader');
  while (spareSegmentBuffers() > 0) takeSegmentBuffer();
  const fresh = takeSegmentBuffer();
  assert.equal(fresh.length, 1 << 20);
  const given = Array.from({ length: SPARE_BUFFERS + 1 }, () => Buffer.allocUnsafe(2 << 20));
  for (const b of given) giveBackSegmentBuffer(b);
  assert.equal(spareSegmentBuffers(), SPARE_BUFFERS);
  giveBackSegmentBuffer(given[0]); // already kept: not twice
  assert.equal(spareSegmentBuffers(), SPARE_BUFFERS);
  assert.equal(takeSegmentBuffer(), given[SPARE_BUFFERS - 1]);
  giveBackSegmentBuffer(Buffer.allocUnsafe(2 * SEGMENT_BYTES + 1)); // larger than a segment ever needs: dropped
  giveBackSegmentBuffer(Buffer.allocUnsafe(1024)); // smaller than a fresh one: dropped
  assert.equal(spareSegmentBuffers(), SPARE_BUFFERS - 1);
  while (spareSegmentBuffers() > 0) takeSegmentBuffer();
});
