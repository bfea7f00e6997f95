'use strict';
// The hand-written Row codec against the spec's test vector and, in both directions, against
// protobufjs's encoding of the same proto (the library anchor).
const test = require('node:test');
const assert = require('node:assert/strict');
const { RowDecodeError, RowEncodeError } = require('../dist/gpss/row-codec.js');
const { encodeRow, decodeRow } = require('./support/row-oracle');
const { pbEncode, pbDecode } = require('./support/gpss-client-protobufjs.js');

const SPEC_VECTOR = '0a053a037878780a02084d0a0258000a0d520b0880e2cfaa0610c0a9d33a';

/** What a value looks like after a trip through the wire (float32 rounds). */
function expected(values) {
  return values.map((v) => ('Float32Value' in v ? { Float32Value: Math.fround(v.Float32Value) } : v));
}

/** deepStrictEqual, but NaN and -0 compared with Object.is (deepStrictEqual already does). */
function assertRows(actual, want, label) {
  assert.equal(actual.length, want.length, `${label}: row width`);
  for (let i = 0; i < want.length; i++) assert.deepStrictEqual(actual[i], want[i], `${label}: value ${i}`);
}

/** Ours vs protobufjs: same bytes, and each decodes the other's bytes to the same values. */
function crossCheck(values, label) {
  const ours = encodeRow(values);
  const theirs = pbEncode(values);
  assert.equal(ours.toString('hex'), theirs.toString('hex'), `${label}: bytes equal protobufjs`);
  const want = expected(values);
  assertRows(decodeRow(ours), want, `${label}: decodeRow(ours)`);
  assertRows(pbDecode(ours), want, `${label}: protobufjs.decode(ours)`);
  assertRows(decodeRow(theirs), want, `${label}: decodeRow(protobufjs)`);
}

test('spec test vector: String "xxx", Int32 77, Null, TimeStamp{1700000000, 123000000}', () => {
  const row = [{ StringValue: 'xxx' }, { Int32Value: 77 }, { NullValue: 0 }, { TimeStampValue: { seconds: '1700000000', nanos: 123000000 } }];
  assert.equal(encodeRow(row).toString('hex'), SPEC_VECTOR);
  assert.deepStrictEqual(decodeRow(Buffer.from(SPEC_VECTOR, 'hex')), row);
  crossCheck(row, 'spec vector');
});

test('oneof members holding their default are still written (08 00, 58 00)', () => {
  assert.equal(encodeRow([{ Int32Value: 0 }]).toString('hex'), '0a020800');
  assert.equal(encodeRow([{ NullValue: 0 }]).toString('hex'), '0a025800');
  assert.equal(encodeRow([{ StringValue: '' }]).toString('hex'), '0a023a00');
  assert.equal(encodeRow([{ Int64Value: '0' }]).toString('hex'), '0a021000');
  assert.equal(encodeRow([{}]).toString('hex'), '0a00');
  assert.equal(encodeRow([]).length, 0);
  assert.deepStrictEqual(decodeRow(Buffer.alloc(0)), []);
  assert.deepStrictEqual(decodeRow(Buffer.from('0a00', 'hex')), [{}]);
});

test('DBValues decoded by proto-loader (oneofs: true adds DBType) encode as their member', () => {
  assert.equal(encodeRow([{ StringValue: 'xxx', DBType: 'StringValue' }, { Int32Value: 77, DBType: 'Int32Value' }, { NullValue: 'NULL_VALUE', DBType: 'NullValue' }]).toString('hex'), '0a053a037878780a02084d0a025800');
});

test('Int32Value: limits and varint boundaries, negatives as 10-byte varints', () => {
  const vals = [0, 1, -1, 127, 128, 300, 16383, 16384, 2147483647, -2147483648, -123456];
  for (const v of vals) crossCheck([{ Int32Value: v }], `int32 ${v}`);
  assert.equal(encodeRow([{ Int32Value: -1 }]).toString('hex'), '0a0b08ffffffffffffffffff01');
});

test('Int64Value: int64 min/max and 2^53 neighbours round-trip exactly as decimal strings', () => {
  const vals = [
    '0', '1', '-1', '127', '128', '4294967295', '4294967296', '-4294967296', '9007199254740991', '9007199254740992',
    '9007199254740993', '-9007199254740993', '123456789012345', '1234567890123456', '9223372036854775807',
    '-9223372036854775808', '-9223372036854775807', '34359738367', '34359738368', '4398046511104',
  ];
  for (const v of vals) crossCheck([{ Int64Value: v }], `int64 ${v}`);
  // Non-canonical but valid decimal text encodes to the same integer.
  assert.deepStrictEqual(decodeRow(encodeRow([{ Int64Value: '-0' }])), [{ Int64Value: '0' }]);
  assert.deepStrictEqual(decodeRow(encodeRow([{ Int64Value: '0000000000000000000042' }])), [{ Int64Value: '42' }]);
});

test('Float32Value and Float64Value: NaN, ±Infinity, -0, extremes', () => {
  const f32 = [0, -0, 1.5, 0.1, NaN, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1e-40];
  for (const v of f32) crossCheck([{ Float32Value: v }], `float32 ${v}`);
  const f64 = [0, -0, 0.1, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e308, 12345.6789];
  for (const v of f64) crossCheck([{ Float64Value: v }], `float64 ${v}`);
  assert.ok(Object.is(decodeRow(encodeRow([{ Float64Value: -0 }]))[0].Float64Value, -0));
  assert.ok(Object.is(decodeRow(encodeRow([{ Float32Value: -0 }]))[0].Float32Value, -0));
  assert.equal(decodeRow(encodeRow([{ Float32Value: 0.1 }]))[0].Float32Value, 0.10000000149011612);
});

test('StringValue and OtherValue: empty, unicode (emoji, CJK, combining), NUL, long strings', () => {
  const strings = [
    '', 'x', 'xxx', '😀', '👩‍👩‍👧‍👦 family', '中文字符和日本語', 'e\u0301 and \u00e9', 'NUL\u0000in middle', 'tab\tnl\nbs\\',
    'a'.repeat(48), 'a'.repeat(49), '€'.repeat(48), '€'.repeat(49), '😀'.repeat(24), '😀'.repeat(25), 'ß'.repeat(63), 'ß'.repeat(64),
    'long '.repeat(4000), '中'.repeat(50000),
  ];
  for (const s of strings) {
    crossCheck([{ StringValue: s }], `string ${JSON.stringify(s.slice(0, 20))} (${s.length})`);
    crossCheck([{ OtherValue: s }], `other ${JSON.stringify(s.slice(0, 20))} (${s.length})`);
  }
});

test('StringValue: lone surrogates are written as U+FFFD, exactly like Buffer.from', () => {
  for (const s of ['\ud800', 'a\udc00b', 'x\ud83d', '\ud83d\ud83d\ude00', '\ud800'.repeat(60)]) {
    const bytes = encodeRow([{ StringValue: s }]);
    const [v] = decodeRow(bytes);
    assert.equal(v.StringValue, Buffer.from(s, 'utf8').toString('utf8'), JSON.stringify(s));
  }
});

test('BytesValue: empty, every byte value, large payloads', () => {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const big = Buffer.alloc(70000, 0xab);
  for (const b of [Buffer.alloc(0), Buffer.from([0]), all, big]) crossCheck([{ BytesValue: b }], `bytes ${b.length}`);
  // A plain Uint8Array is accepted too; decoded values are independent copies.
  const input = new Uint8Array([1, 2, 3]);
  const bytes = encodeRow([{ BytesValue: input }]);
  const [v] = decodeRow(bytes);
  assert.deepStrictEqual(v.BytesValue, Buffer.from([1, 2, 3]));
  bytes.fill(0);
  assert.deepStrictEqual(v.BytesValue, Buffer.from([1, 2, 3]));
});

test('TimeStampValue: epoch, before 1970 with microseconds, year 1 and 9999 limits', () => {
  // 1969-12-31T23:59:59.999999 UTC: seconds floored, nanos stays positive.
  const ms = Date.UTC(1969, 11, 31, 23, 59, 59, 999);
  assert.equal(Math.floor(ms / 1000), -1);
  const cases = [
    { seconds: '0', nanos: 0 },
    { seconds: '0', nanos: 1 },
    { seconds: '1', nanos: 0 },
    { seconds: '-1', nanos: 999999000 },
    { seconds: '-86400', nanos: 500 },
    { seconds: '1700000000', nanos: 123456000 },
    { seconds: '-62135596800', nanos: 0 },
    { seconds: '253402300799', nanos: 999999999 },
  ];
  for (const ts of cases) crossCheck([{ TimeStampValue: ts }], `timestamp ${ts.seconds}.${ts.nanos}`);
  assert.equal(encodeRow([{ TimeStampValue: { seconds: '0', nanos: 0 } }]).toString('hex'), '0a0252' + '00');
});

test('mixed rows of every kind, NULL and empty members', () => {
  const row = [
    { Int32Value: -5 }, { Int64Value: '-9223372036854775808' }, { Float32Value: 2.5 }, { Float64Value: -0 }, { StringValue: 'héllo' },
    { BytesValue: Buffer.from('00ff10', 'hex') }, { TimeStampValue: { seconds: '-1', nanos: 1000 } }, { NullValue: 0 }, { OtherValue: 'o' }, {},
  ];
  crossCheck(row, 'mixed');
  const many = [];
  for (let i = 0; i < 500; i++) many.push(row[i % row.length]);
  crossCheck(many, 'wide row');
});

test('encodeRow rejects values its member cannot hold', () => {
  const bad = [
    [{ Int32Value: 2147483648 }, /Int32Value 2147483648/],
    [{ Int32Value: -2147483649 }, /int32 range/],
    [{ Int32Value: 1.5 }, /Int32Value/],
    [{ Int32Value: NaN }, /Int32Value/],
    [{ Int32Value: '1' }, /Int32Value cannot hold "1"/],
    [{ Int64Value: '9223372036854775808' }, /int64 range/],
    [{ Int64Value: '-9223372036854775809' }, /int64 range/],
    [{ Int64Value: '1.5' }, /Int64Value/],
    [{ Int64Value: '' }, /Int64Value/],
    [{ Int64Value: '-' }, /Int64Value/],
    [{ Int64Value: '+1' }, /Int64Value/],
    [{ Int64Value: ' 1' }, /Int64Value/],
    [{ Int64Value: '12345678901234567890123' }, /Int64Value/],
    [{ Int64Value: 5 }, /Int64Value cannot hold 5/],
    [{ Float32Value: 1e39 }, /overflows float32/],
    [{ Float64Value: '1' }, /Float64Value/],
    [{ StringValue: 5 }, /StringValue cannot hold 5/],
    [{ BytesValue: 'ab' }, /BytesValue/],
    [{ NullValue: 1 }, /NullValue/],
    [{ TimeStampValue: { seconds: '-62135596801', nanos: 0 } }, /outside years 1..9999/],
    [{ TimeStampValue: { seconds: '253402300800', nanos: 0 } }, /outside years 1..9999/],
    [{ TimeStampValue: { seconds: '1700000000000', nanos: 0 } }, /outside years 1..9999/], // milliseconds by mistake
    [{ TimeStampValue: { seconds: '0', nanos: -1 } }, /nanos/],
    [{ TimeStampValue: { seconds: '0', nanos: 1e9 } }, /nanos/],
    [{ TimeStampValue: { seconds: '0', nanos: 1.5 } }, /nanos/],
    [{ TimeStampValue: { seconds: 'abc', nanos: 0 } }, /seconds/],
    [{ TimeStampValue: null }, /TimeStampValue/],
    [{ Int32Value: 1, StringValue: 'x' }, /exactly one member/],
    [{ BoolValue: true }, /unknown DBValue member "BoolValue"/],
    [null, /expected a DBValue/],
  ];
  for (const [value, re] of bad) {
    assert.throws(
      () => encodeRow([{ NullValue: 0 }, value]),
      (err) => err instanceof RowEncodeError && err.code === 'ROW_ENCODE' && err.index === 1 && re.test(err.message),
      JSON.stringify(value),
    );
  }
  // The shared scratch buffer is not left in a broken state by a failed row.
  assert.equal(encodeRow([{ StringValue: 'xxx' }, { Int32Value: 77 }, { NullValue: 0 }, { TimeStampValue: { seconds: '1700000000', nanos: 123000000 } }]).toString('hex'), SPEC_VECTOR);
});

function rejects(hex, re, label) {
  assert.throws(
    () => decodeRow(Buffer.from(hex, 'hex')),
    (err) => err instanceof RowDecodeError && err.code === 'ROW_DECODE' && re.test(err.message),
    label ?? hex,
  );
}

test('decodeRow rejects malformed input with RowDecodeError', () => {
  rejects('ff', /truncated varint/);
  rejects('0a', /truncated varint/);
  rejects('0a0208', /length 2 runs past the end/);
  rejects('0a020880', /truncated varint/);
  rejects('0a053a0378', /length 5 runs past the end/);
  rejects('0a033a0578', /length 5 runs past the end/);
  rejects('0a0b' + '10' + 'ff'.repeat(10), /varint longer than 10 bytes|truncated/);
  rejects('0a0c' + '10' + 'ff'.repeat(10) + '01', /varint longer than 10 bytes/);
  rejects('0a05' + '0d00000000', /field 1 with wire type fixed32/);
  rejects('0a03' + '2d0000', /wire type|truncated/);
  rejects('0a04' + '2d000000', /truncated Float32Value/);
  rejects('0a05' + '2d000000', /length 5 runs past the end/);
  rejects('0a03' + '310000', /truncated Float64Value/);
  rejects('0a020f00', /wire type/);
  rejects('0801', /Row.Columns with wire type varint/);
  rejects('1200', /unknown Row field 2/);
  rejects('0a021801', /unknown DBValue field 3/);
  rejects('0a024801', /unknown DBValue field 9/);
  rejects('0a026801', /unknown DBValue field 13/);
  rejects('0a0408011002', /more than one member/);
  rejects('0a0408010802', /more than one member/);
  rejects('0a0452021801', /unexpected Timestamp field 3/);
  rejects('0a0a3a' + 'ffffffffff0f' + '000000', /over 4 GiB|runs past/);
  rejects('0a020a00', /wire type|unknown/);
});

test('decodeRow accepts a Uint8Array view into a larger buffer', () => {
  const bytes = Buffer.from(SPEC_VECTOR, 'hex');
  const ab = new ArrayBuffer(bytes.length + 10);
  const view = new Uint8Array(ab, 5, bytes.length);
  view.set(bytes);
  assert.deepStrictEqual(decodeRow(view)[0], { StringValue: 'xxx' });
  assert.equal(decodeRow(view).length, 4);
});

test('decodeRow fuzz: truncations, bit flips and random bytes only ever throw RowDecodeError', () => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const valid = encodeRow([
    { Int32Value: -5 }, { Int64Value: '-9223372036854775808' }, { Float32Value: 2.5 }, { Float64Value: 1.25 }, { StringValue: 'héllo😀' },
    { BytesValue: Buffer.from('00ff10', 'hex') }, { TimeStampValue: { seconds: '-1', nanos: 1000 } }, { NullValue: 0 }, { OtherValue: 'o' }, {},
  ]);
  let decoded = 0;
  let rejected = 0;
  const attempt = (buf) => {
    try {
      const row = decodeRow(buf);
      assert.ok(Array.isArray(row));
      decoded++;
    } catch (err) {
      if (!(err instanceof RowDecodeError)) throw err;
      rejected++;
    }
  };
  for (let cut = 0; cut < valid.length; cut++) attempt(valid.subarray(0, cut));
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(valid);
    const flips = 1 + Math.floor(rand() * 3);
    for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
    attempt(b);
  }
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.alloc(Math.floor(rand() * 40));
    for (let j = 0; j < b.length; j++) b[j] = rand() < 0.3 ? 0x0a : Math.floor(rand() * 256);
    attempt(b);
  }
  assert.ok(rejected > 1000, `rejected ${rejected}`);
  assert.ok(decoded > 0, `decoded ${decoded}`);
});
