'use strict';
// createRowEncoder: JS values → DBValues by column type (DESIGN §3), checked by decoding the
// produced Row bytes with decodeRow and, for the whole table, with protobufjs.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createRowEncoder, RowValueError, valueKind, parseTimestampText, pgArrayLiteral } = require('../dist/gpss/value-mapping.js');
const { decodeRow } = require('./support/row-oracle');
const { pbDecode } = require('./support/gpss-client-protobufjs.js');

const col = (name, databaseType) => ({ name, databaseType, hasLength: false, length: 0, hasPrecisionScale: false, precision: 0, scale: 0, hasNullable: true, nullable: true });

/** Encodes a single value into a one-column table of `type` and returns the decoded DBValue. */
function one(type, value) {
  const enc = createRowEncoder([col('c', type)]);
  const bytes = enc.encodeObject({ c: value });
  const [v] = decodeRow(bytes);
  assert.deepStrictEqual(pbDecode(bytes), [v], 'protobufjs agrees');
  return v;
}

function rejectsValue(type, value, re) {
  const enc = createRowEncoder([col('c', type)]);
  assert.throws(
    () => enc.encodeObject({ c: value }),
    (e) => e instanceof RowValueError && e.code === 'ROW_VALUE' && e.column === 'c' && re.test(e.message) && e.message.includes('column "c"') && typeof e.value === 'string',
    `${type} ${String(value)}`,
  );
}

test('valueKind classifies lib/pq and PostgreSQL type spellings case-insensitively', () => {
  const cases = {
    INT2: 'int16', smallint: 'int16', INT4: 'int32', integer: 'int32', SERIAL: 'int32', INT8: 'int64', bigint: 'int64', BIGSERIAL: 'int64',
    FLOAT4: 'float32', real: 'float32', FLOAT8: 'float64', 'double precision': 'float64', BYTEA: 'bytes', TIMESTAMP: 'timestamp',
    'timestamp(3) without time zone': 'timestamp', 'timestamp without time zone': 'timestamp', TIME: 'time', 'time(6) without time zone': 'time',
    TIMESTAMPTZ: 'epochText', 'timestamp with time zone': 'epochText', DATE: 'date', JSONB: 'json', json: 'json', _INT4: 'array', 'integer[]': 'array',
    NUMERIC: 'text', 'numeric(12,2)': 'text', BOOL: 'text', boolean: 'text', VARCHAR: 'text', 'character varying(20)': 'text', UUID: 'text',
    TIMETZ: 'text', 'time with time zone': 'text', INTERVAL: 'text', MACADDR: 'text', TEXT: 'text',
  };
  for (const [t, k] of Object.entries(cases)) assert.equal(valueKind(t), k, t);
});

test('int2/int4 → Int32 with range checks; numbers, bigints and decimal text', () => {
  assert.deepStrictEqual(one('INT4', 77), { Int32Value: 77 });
  assert.deepStrictEqual(one('INT4', -2147483648), { Int32Value: -2147483648 });
  assert.deepStrictEqual(one('INT4', 2147483647n), { Int32Value: 2147483647 });
  assert.deepStrictEqual(one('integer', ' 42 '), { Int32Value: 42 });
  assert.deepStrictEqual(one('INT2', -32768), { Int32Value: -32768 });
  assert.deepStrictEqual(one('INT4', -0), { Int32Value: 0 });
  rejectsValue('INT4', 2147483648, /out of range/);
  rejectsValue('INT4', -2147483649n, /out of range/);
  rejectsValue('INT2', 32768, /-32768..32767.*out of range/);
  rejectsValue('INT4', 1.5, /not an integer/);
  rejectsValue('INT4', NaN, /integer/);
  rejectsValue('INT4', '1.5', /expected an integer/);
  rejectsValue('INT4', 'abc', /got "abc"/);
  rejectsValue('INT4', true, /got true/);
  rejectsValue('INT4', {}, /got an object/);
});

test('int8 → Int64 from safe numbers, bigint and decimal text, exactly', () => {
  assert.deepStrictEqual(one('INT8', 9007199254740991), { Int64Value: '9007199254740991' });
  assert.deepStrictEqual(one('INT8', -9007199254740991), { Int64Value: '-9007199254740991' });
  assert.deepStrictEqual(one('bigint', '9223372036854775807'), { Int64Value: '9223372036854775807' });
  assert.deepStrictEqual(one('bigint', '-9223372036854775808'), { Int64Value: '-9223372036854775808' });
  assert.deepStrictEqual(one('INT8', -9223372036854775808n), { Int64Value: '-9223372036854775808' });
  assert.deepStrictEqual(one('INT8', ' +12 '), { Int64Value: '12' });
  rejectsValue('INT8', 9007199254740992, /above 2\^53: pass a string or bigint/);
  rejectsValue('INT8', 1.25, /not an integer/);
  rejectsValue('INT8', '9223372036854775808', /out of range/);
  rejectsValue('INT8', 9223372036854775808n, /out of range/);
  rejectsValue('INT8', '12abc', /64-bit integer/);
  rejectsValue('INT8', '', /64-bit integer/);
  rejectsValue('INT8', Infinity, /64-bit integer/);
});

test('float4/float8 → Float32/Float64, with numeric text, NaN and infinities', () => {
  assert.deepStrictEqual(one('FLOAT8', 0.1), { Float64Value: 0.1 });
  assert.deepStrictEqual(one('FLOAT8', -0), { Float64Value: -0 });
  assert.deepStrictEqual(one('FLOAT8', '1e-5'), { Float64Value: 1e-5 });
  assert.deepStrictEqual(one('FLOAT8', 'NaN'), { Float64Value: NaN });
  assert.deepStrictEqual(one('FLOAT8', '-Infinity'), { Float64Value: -Infinity });
  assert.deepStrictEqual(one('FLOAT8', 5n), { Float64Value: 5 });
  assert.deepStrictEqual(one('FLOAT4', 0.1), { Float32Value: Math.fround(0.1) });
  assert.deepStrictEqual(one('real', Infinity), { Float32Value: Infinity });
  rejectsValue('FLOAT4', 1e39, /overflows real/);
  rejectsValue('FLOAT8', '0x10', /expected a number/);
  rejectsValue('FLOAT8', '', /expected a number/);
  rejectsValue('FLOAT8', true, /expected a number/);
});

test('bytea → Bytes from Buffer, Uint8Array, ArrayBuffer, JSON-ed Buffer and \\x hex text', () => {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  assert.deepStrictEqual(one('BYTEA', all), { BytesValue: all });
  assert.deepStrictEqual(one('BYTEA', Buffer.alloc(0)), { BytesValue: Buffer.alloc(0) });
  assert.deepStrictEqual(one('BYTEA', new Uint8Array([1, 2])), { BytesValue: Buffer.from([1, 2]) });
  assert.deepStrictEqual(one('BYTEA', new Uint8Array([9, 8]).buffer), { BytesValue: Buffer.from([9, 8]) });
  assert.deepStrictEqual(one('BYTEA', JSON.parse(JSON.stringify(Buffer.from('hi')))), { BytesValue: Buffer.from('hi') });
  assert.deepStrictEqual(one('BYTEA', '\\x00ff10'), { BytesValue: Buffer.from([0, 255, 16]) });
  rejectsValue('BYTEA', '\\x0', /Buffer/);
  rejectsValue('BYTEA', 'plain text', /Buffer, Uint8Array/);
  rejectsValue('BYTEA', 5, /Buffer/);
});

test('timestamp → TimeStamp from Date (UTC wall clock), epoch ms and ISO text; seconds never ms', () => {
  assert.deepStrictEqual(one('TIMESTAMP', new Date(Date.UTC(2023, 10, 14, 22, 13, 20, 123))), { TimeStampValue: { seconds: '1700000000', nanos: 123000000 } });
  assert.deepStrictEqual(one('TIMESTAMP', 1700000000123), { TimeStampValue: { seconds: '1700000000', nanos: 123000000 } });
  assert.deepStrictEqual(one('TIMESTAMP', -1), { TimeStampValue: { seconds: '-1', nanos: 999000000 } });
  assert.deepStrictEqual(one('TIMESTAMP', 0), { TimeStampValue: { seconds: '0', nanos: 0 } });
  // Before 1970 with microseconds: seconds floored, nanos positive.
  assert.deepStrictEqual(one('TIMESTAMP', '1969-12-31 23:59:59.999999'), { TimeStampValue: { seconds: '-1', nanos: 999999000 } });
  assert.deepStrictEqual(one('TIMESTAMP', '1900-01-01T00:00:00.000001'), { TimeStampValue: { seconds: '-2208988800', nanos: 1000 } });
  assert.deepStrictEqual(one('TIMESTAMP', '2023-11-14T22:13:20.123456789Z'), { TimeStampValue: { seconds: '1700000000', nanos: 123456789 } });
  // An offset converts to UTC; text without one is the wall clock as is.
  assert.deepStrictEqual(one('TIMESTAMP', '2023-11-15T06:13:20+08:00'), { TimeStampValue: { seconds: '1700000000', nanos: 0 } });
  assert.deepStrictEqual(one('TIMESTAMP', '2023-11-14 17:13:20-0500'), { TimeStampValue: { seconds: '1700000000', nanos: 0 } });
  assert.deepStrictEqual(one('TIMESTAMP', '2023-11-14'), { TimeStampValue: { seconds: String(1700000000 - (22 * 3600 + 13 * 60 + 20)), nanos: 0 } });
  assert.deepStrictEqual(one('TIMESTAMP', '2024-02-29 12:00'), { TimeStampValue: { seconds: String(Date.UTC(2024, 1, 29, 12) / 1000), nanos: 0 } });
  // Year 1 and 9999 limits.
  assert.deepStrictEqual(one('TIMESTAMP', '0001-01-01 00:00:00'), { TimeStampValue: { seconds: '-62135596800', nanos: 0 } });
  assert.deepStrictEqual(one('TIMESTAMP', '9999-12-31 23:59:59.999999999'), { TimeStampValue: { seconds: '253402300799', nanos: 999999999 } });
  const y1 = new Date(0);
  y1.setUTCFullYear(1, 0, 1);
  assert.deepStrictEqual(one('TIMESTAMP', y1), { TimeStampValue: { seconds: '-62135596800', nanos: 0 } });
  // Every day of a few years agrees with Date.UTC (leap years, century rules).
  for (const y of [1600, 1900, 1969, 1970, 2000, 2024]) {
    for (let m = 1; m <= 12; m++) {
      const d = m === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : 28;
      const text = `${y}-${String(m).padStart(2, '0')}-${d} 01:02:03`;
      assert.ok(parseTimestampText(text), text);
      assert.deepStrictEqual(one('TIMESTAMP', text), { TimeStampValue: { seconds: String(Date.UTC(y, m - 1, d, 1, 2, 3) / 1000), nanos: 0 } }, text);
    }
  }
  rejectsValue('TIMESTAMP', '0000-12-31 00:00:00', /years 1..9999/);
  rejectsValue('TIMESTAMP', '10000-01-01', /ISO-8601/);
  rejectsValue('TIMESTAMP', '9999-12-31T23:59:59-01:00', /years 1..9999/);
  rejectsValue('TIMESTAMP', 253402300800000, /epoch milliseconds/);
  rejectsValue('TIMESTAMP', '2023-02-29', /ISO-8601/);
  rejectsValue('TIMESTAMP', '2023-11-14 24:00:00', /ISO-8601/);
  rejectsValue('TIMESTAMP', 'yesterday', /got "yesterday"/);
  rejectsValue('TIMESTAMP', new Date(NaN), /an invalid Date/);
  rejectsValue('TIMESTAMP', NaN, /epoch/);
  rejectsValue('TIMESTAMP', true, /Date/);
});

test('time → TimeStamp on 1970-01-01 from HH:MM[:SS[.f]], or any timestamp value', () => {
  assert.deepStrictEqual(one('TIME', '12:34:56.789012'), { TimeStampValue: { seconds: '45296', nanos: 789012000 } });
  assert.deepStrictEqual(one('time without time zone', '00:00'), { TimeStampValue: { seconds: '0', nanos: 0 } });
  assert.deepStrictEqual(one('TIME', '23:59:59'), { TimeStampValue: { seconds: '86399', nanos: 0 } });
  assert.deepStrictEqual(one('TIME', new Date(Date.UTC(2020, 0, 1, 1, 2, 3))), { TimeStampValue: { seconds: String(Date.UTC(2020, 0, 1, 1, 2, 3) / 1000), nanos: 0 } });
  rejectsValue('TIME', '24:00:00', /time of day/);
  rejectsValue('TIME', '12:60', /time of day/);
});

test('other types → StringValue: exact text, booleans, Dates as ISO, objects as JSON, arrays as literals', () => {
  assert.deepStrictEqual(one('NUMERIC', '12345678901234567890.000000000001'), { StringValue: '12345678901234567890.000000000001' });
  assert.deepStrictEqual(one('NUMERIC', 1.5), { StringValue: '1.5' });
  assert.deepStrictEqual(one('NUMERIC', 123456789012345678901234567890n), { StringValue: '123456789012345678901234567890' });
  assert.deepStrictEqual(one('BOOL', true), { StringValue: 'true' });
  assert.deepStrictEqual(one('boolean', false), { StringValue: 'false' });
  assert.deepStrictEqual(one('TEXT', ''), { StringValue: '' });
  assert.deepStrictEqual(one('TEXT', 'e\u0301 中文 😀'), { StringValue: 'e\u0301 中文 😀' });
  assert.deepStrictEqual(one('VARCHAR', { a: 1, b: [true, null] }), { StringValue: '{"a":1,"b":[true,null]}' });
  assert.deepStrictEqual(one('TEXT', [1, 'x']), { StringValue: '[1,"x"]' });
  assert.deepStrictEqual(one('TIMESTAMPTZ', new Date(Date.UTC(2023, 10, 14, 22, 13, 20, 5))), { StringValue: '2023-11-14T22:13:20.005Z' });
  assert.deepStrictEqual(one('TIMESTAMPTZ', 1700000000005), { StringValue: '2023-11-14T22:13:20.005Z' });
  assert.deepStrictEqual(one('TIMESTAMPTZ', '2023-11-14 22:13:20+08'), { StringValue: '2023-11-14 22:13:20+08' });
  assert.deepStrictEqual(one('DATE', new Date(Date.UTC(2024, 1, 29, 23))), { StringValue: '2024-02-29' });
  assert.deepStrictEqual(one('DATE', 0), { StringValue: '1970-01-01' });
  assert.deepStrictEqual(one('JSONB', { k: 'v' }), { StringValue: '{"k":"v"}' });
  assert.deepStrictEqual(one('JSONB', '{"already":"json"}'), { StringValue: '{"already":"json"}' });
  assert.deepStrictEqual(one('JSON', 5), { StringValue: '5' });
  assert.deepStrictEqual(one('_INT4', [1, null, 3]), { StringValue: '{"1",NULL,"3"}' });
  assert.deepStrictEqual(one('text[]', ['a"b', 'c\\d', '', [['x']]]), { StringValue: '{"a\\"b","c\\\\d","",{{"x"}}}' });
  assert.deepStrictEqual(one('_TEXT', '{a,b}'), { StringValue: '{a,b}' });
  assert.deepStrictEqual(one('TEXT', Buffer.from('raw')), { BytesValue: Buffer.from('raw') });
  assert.equal(pgArrayLiteral([], String), '{}');
  const cyclic = {};
  cyclic.self = cyclic;
  rejectsValue('JSON', cyclic, /not JSON-serialisable/);
  rejectsValue('TEXT', { big: 1n }, /not JSON-serialisable/);
  rejectsValue('TEXT', () => 1, /got a function/);
  rejectsValue('TEXT', new Date(NaN), /invalid Date/);
  rejectsValue('TIMESTAMPTZ', Infinity, /epoch/);
});

const TABLE = [col('id', 'INT8'), col('ts', 'TIMESTAMP'), col('device', 'TEXT'), col('value', 'FLOAT8'), col('Payload', 'TEXT')];

test('encodeObject: every column in table order; missing/null/undefined → NullValue; names case-sensitive', () => {
  const enc = createRowEncoder(TABLE);
  assert.deepStrictEqual(enc.columnNames, ['id', 'ts', 'device', 'value', 'Payload']);
  const bytes = enc.encodeObject({ Payload: 'p', value: 2.5, device: null, id: '7' });
  const want = [{ Int64Value: '7' }, { NullValue: 0 }, { NullValue: 0 }, { Float64Value: 2.5 }, { StringValue: 'p' }];
  assert.deepStrictEqual(decodeRow(bytes), want);
  assert.deepStrictEqual(pbDecode(bytes), want);
  assert.deepStrictEqual(decodeRow(enc.encodeObject({})), [{ NullValue: 0 }, { NullValue: 0 }, { NullValue: 0 }, { NullValue: 0 }, { NullValue: 0 }]);
  assert.deepStrictEqual(decodeRow(enc.encodeObject({ id: undefined, value: 1 }))[0], { NullValue: 0 });
  // A value left from a previous row never leaks into the next one.
  enc.encodeObject({ device: 'first' });
  assert.deepStrictEqual(decodeRow(enc.encodeObject({}))[2], { NullValue: 0 });
  // Keys match exactly: 'payload' is not 'Payload'.
  assert.throws(
    () => enc.encodeObject({ id: 1, payload: 'x' }),
    (e) => e instanceof RowValueError && e.column === 'payload' && /unknown column "payload"/.test(e.message) && /"Payload"/.test(e.message),
  );
  // Prototype names are just unknown keys, never inherited values.
  assert.throws(() => enc.encodeObject(JSON.parse('{"__proto__": 1}')), (e) => e instanceof RowValueError && e.column === '__proto__');
  assert.deepStrictEqual(decodeRow(enc.encodeObject(Object.create({ inherited: 1 }, {}))), Array(5).fill({ NullValue: 0 }));
  const lenient = createRowEncoder(TABLE, { ignoreUnknownKeys: true });
  assert.deepStrictEqual(decodeRow(lenient.encodeObject({ id: 1, extra: 'x' }))[0], { Int64Value: '1' });
});

test('encodeObject: a bad value names the column and the expected type, and the encoder stays usable', () => {
  const enc = createRowEncoder(TABLE);
  assert.throws(
    () => enc.encodeObject({ id: 1, ts: 'not a time', device: 'd' }),
    (e) => e instanceof RowValueError && e.column === 'ts' && e.value === '"not a time"' && /column "ts" \(TIMESTAMP\): expected a Date, ISO-8601 text or epoch milliseconds/.test(e.message),
  );
  const long = 'x'.repeat(1000);
  assert.throws(() => enc.encodeObject({ id: long }), (e) => e.value.length < 40 && !e.message.includes(long));
  const row = { id: 1, ts: 0, device: 'd', value: 1, Payload: 'p' };
  assert.deepStrictEqual(decodeRow(enc.encodeObject(row)), [{ Int64Value: '1' }, { TimeStampValue: { seconds: '0', nanos: 0 } }, { StringValue: 'd' }, { Float64Value: 1 }, { StringValue: 'p' }]);
  assert.throws(() => enc.encodeObject(null), RowValueError);
  assert.throws(() => enc.encodeObject([1]), RowValueError);
});

test('encodeArray: values in column order, fewer values → trailing NULLs, more → error', () => {
  const enc = createRowEncoder(TABLE);
  assert.deepStrictEqual(decodeRow(enc.encodeArray(['5', '2020-01-01', 'dev', 0.5, 'pl'])), [
    { Int64Value: '5' }, { TimeStampValue: { seconds: String(Date.UTC(2020, 0, 1) / 1000), nanos: 0 } }, { StringValue: 'dev' }, { Float64Value: 0.5 }, { StringValue: 'pl' },
  ]);
  assert.deepStrictEqual(decodeRow(enc.encodeArray([1, null])), [{ Int64Value: '1' }, { NullValue: 0 }, { NullValue: 0 }, { NullValue: 0 }, { NullValue: 0 }]);
  assert.throws(() => enc.encodeArray([1, 2, 3, 4, 5, 6]), (e) => e instanceof RowValueError && /6 values but the table has 5 columns/.test(e.message));
  assert.throws(() => enc.encodeArray([1, 'bad']), (e) => e instanceof RowValueError && e.column === 'ts');
  assert.throws(() => enc.encodeArray('x'), RowValueError);
});

test('re-entrant use from toJSON and encoders sharing no state', () => {
  const enc = createRowEncoder([col('a', 'TEXT'), col('b', 'INT4')]);
  const inner = { toJSON: () => enc.encodeObject({ a: 'inner', b: 2 }).toString('hex') };
  const bytes = enc.encodeObject({ a: inner, b: 1 });
  const [a, b] = decodeRow(bytes);
  assert.deepStrictEqual(b, { Int32Value: 1 });
  assert.deepStrictEqual(decodeRow(Buffer.from(JSON.parse(a.StringValue), 'hex')), [{ StringValue: 'inner' }, { Int32Value: 2 }]);
  const other = createRowEncoder([col('x', 'BYTEA')]);
  assert.deepStrictEqual(decodeRow(other.encodeObject({ x: Buffer.from([1]) })), [{ BytesValue: Buffer.from([1]) }]);
});

test('createRowEncoder rejects tables without columns or with duplicate names', () => {
  assert.throws(() => createRowEncoder([]), /no columns/);
  assert.throws(() => createRowEncoder([col('a', 'TEXT'), col('a', 'INT4')]), /duplicate column name "a"/);
});
