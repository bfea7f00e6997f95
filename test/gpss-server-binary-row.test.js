'use strict';
// renderBinaryRow (gpss-pg's one-pass COPY BINARY renderer) against RowRenderer's general path,
// the reference: on every row the one-pass path accepts, the general path must accept it too and
// write the same bytes; on every row it declines, nothing may be committed to the output. Random
// rows over every binary column kind and DBValue member, then the same rows with bytes mutated.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { encodeRow } = require('./support/row-oracle');
const ct = { ...require('../dist/gpss-server/copy-values'), ...require('../dist/gpss-server/row-renderer') };
const { renderBinaryRow } = require('../dist/gpss-server/binary-row');
const { buildLayout } = require('../dist/gpss-server/load');

const OIDS = { int2: 21, int4: 23, int8: 20, float4: 700, float8: 701, text: 25, varchar: 1043, bytea: 17, timestamp: 1114, timestamptz: 1184, date: 1082, time: 1083 };

function layoutOf(types) {
  const cols = types.map((t, i) => ({ name: `c${i}`, baseOid: OIDS[t], kind: ct.columnKindForOid(OIDS[t]) }));
  return buildLayout(cols, cols.map((c) => c.name), []);
}

// A small deterministic generator: failures reproduce.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(r, type) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const int32 = () => pick([0, 1, -1, 127, 128, -128, 32767, 32768, -32768, -32769, 2147483647, -2147483648, Math.floor((r() - 0.5) * 2 ** 32)]);
  const int64 = () => pick(['0', '-1', '300', '2147483648', '-2147483649', '9007199254740993', '-9223372036854775808', '9223372036854775807', String(Math.floor((r() - 0.5) * 2 ** 40))]);
  const text = () =>
    pick(['', 'a', 'abc', 'abcd', 'device-17', 'payload-00000abc-lorem-ipsum-dolor-sit', 'é', 'aé€😀 tail', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(300), 'tab\there\nnl\\bs', '\u007f\u0001']);
  const seconds = () => pick([0, 1, -1, 86399, 86400, 946684800, 1767225600 + Math.floor(r() * 1e6), -62135596800, 253402300799, 9e9 + 946684800, -9e9 + 946684800]);
  // Mostly the member that maps exactly onto the column, sometimes any other.
  const exact = r() < 0.75;
  switch (exact ? type : pick(['int2', 'int8', 'float4', 'float8', 'text', 'bytea', 'timestamp', 'null', 'empty', 'other'])) {
    case 'int2':
    case 'int4':
      return r() < 0.5 ? { Int32Value: int32() } : { Int64Value: int64() };
    case 'int8':
      return r() < 0.3 ? { Int32Value: int32() } : { Int64Value: int64() };
    case 'float4':
      return { Float32Value: pick([0, -0, 0.5, 1 / 3, NaN, Infinity, -Infinity, 1e-45, (r() - 0.5) * 1e6]) };
    case 'float8':
      return { Float64Value: pick([0, -0, 0.1, 1 / 3, NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, (r() - 0.5) * 1e12]) };
    case 'text':
    case 'varchar':
      return r() < 0.8 ? { StringValue: text() } : { OtherValue: text() };
    case 'bytea':
      return { BytesValue: Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256))) };
    case 'timestamp':
    case 'timestamptz':
    case 'date':
    case 'time': {
      const s = seconds();
      const ts = { seconds: s, nanos: pick([0, 1000, 999999999, 123456789]) };
      if (s < -62135596800 || s > 253402300799) return { TimeStampValue: { seconds: 0, nanos: 0 } };
      return { TimeStampValue: ts };
    }
    case 'null':
      return { NullValue: 0 };
    case 'empty':
      return {};
    default:
      return { StringValue: text() };
  }
}

/** Both paths on one row: the one-pass result must be the general path's, or decline cleanly. */
function check(layout, row, label) {
  const general = new ct.RowRenderer(layout, { onePass: false });
  const kinds = Uint8Array.from(layout.binKinds);
  const ref = new ct.CopyTextBuffer(8);
  let refOk;
  try {
    refOk = general.renderBinary(row, 0, row.length, ref);
  } catch (err) {
    refOk = err;
  }
  const out = new ct.CopyTextBuffer(8);
  out.pos = 3; // a row appended after others
  out.buf.fill(0xaa, 0, 3);
  const ok = renderBinaryRow(row, 0, row.length, kinds, out);
  if (!ok) {
    assert.equal(out.pos, 3, `${label}: declined without committing`);
    return false;
  }
  assert.equal(refOk, true, `${label}: accepted by the one-pass path, so the general path must accept it (got ${refOk})`);
  assert.ok(out.buf.subarray(3, out.pos).equals(ref.buf.subarray(0, ref.pos)), `${label}: same bytes\n${out.buf.toString('hex', 3, out.pos)}\n${ref.buf.toString('hex', 0, ref.pos)}`);
  return true;
}

test('renderBinaryRow writes exactly what the general path writes, on random rows of every binary kind', () => {
  const r = rng(15);
  const types = Object.keys(OIDS);
  let accepted = 0;
  let total = 0;
  for (let t = 0; t < 300; t++) {
    const width = 1 + Math.floor(r() * 8);
    const cols = Array.from({ length: width }, () => types[Math.floor(r() * types.length)]);
    const layout = layoutOf(cols);
    for (let k = 0; k < 20; k++) {
      const row = encodeRow(cols.map((c) => randomValue(r, c)));
      total++;
      if (check(layout, row, `${cols.join(',')} row ${row.toString('hex')}`)) accepted++;
    }
  }
  // The comparison means something only if the one-pass path takes a good share of the rows.
  assert.ok(accepted > total * 0.15, `one-pass path took ${accepted} of ${total} rows`);
});

test('renderBinaryRow on mutated rows: accepts only what the general path renders identically', () => {
  const r = rng(1515);
  const cols = ['int8', 'timestamp', 'text', 'float8', 'text', 'int4', 'int2', 'date', 'time', 'bytea', 'float4'];
  const layout = layoutOf(cols);
  for (let k = 0; k < 4000; k++) {
    const row = Buffer.from(encodeRow(cols.map((c) => randomValue(r, c))));
    const edits = 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) row[Math.floor(r() * row.length)] = r() < 0.5 ? Math.floor(r() * 256) : row[Math.floor(r() * row.length)];
    check(layout, row, `mutated ${row.toString('hex')}`);
    // Cut short, and with a value too many.
    check(layout, row.subarray(0, Math.floor(r() * row.length)), 'truncated');
    check(layout, Buffer.concat([row, encodeRow([{ Int64Value: '1' }])]), 'one value too many');
  }
});

test('renderBinaryRow on the benchmark row: one pass, the values PostgreSQL expects', () => {
  const layout = layoutOf(['int8', 'timestamp', 'text', 'float8', 'text']);
  const row = encodeRow([{ Int64Value: '123456789012' }, { TimeStampValue: { seconds: 1767225600, nanos: 123456789 } }, { StringValue: 'device-7' }, { Float64Value: 0.5 }, { StringValue: 'é-payload' }]);
  assert.equal(check(layout, row, 'benchmark row'), true);
  const out = new ct.CopyTextBuffer(8);
  renderBinaryRow(row, 0, row.length, Uint8Array.from(layout.binKinds), out);
  const b = out.buf.subarray(0, out.pos);
  assert.equal(b.readInt16BE(0), 5);
  assert.equal(b.readInt32BE(2), 8);
  assert.equal(b.readBigInt64BE(6), 123456789012n);
  assert.equal(b.readInt32BE(14), 8);
  assert.equal(b.readBigInt64BE(18), (1767225600n - 946684800n) * 1000000n + 123456n, 'µs since 2000-01-01, nanos truncated');
  assert.equal(b.readInt32BE(26), 8);
  assert.equal(b.toString('utf8', 30, 38), 'device-7');
  assert.equal(b.readDoubleBE(42), 0.5);
  assert.equal(b.readInt32BE(50), Buffer.byteLength('é-payload'));
  assert.equal(b.toString('utf8', 54), 'é-payload');
});

test('renderBinaryRow declines, for the general path to decide: NUL, invalid UTF-8, out-of-range integers, wrong widths, mismatched members', () => {
  const kinds = (types) => Uint8Array.from(layoutOf(types).binKinds);
  const declines = (types, row) => {
    const out = new ct.CopyTextBuffer(8);
    assert.equal(renderBinaryRow(row, 0, row.length, kinds(types), out), false, row.toString('hex'));
    assert.equal(out.pos, 0);
  };
  declines(['text'], encodeRow([{ BytesValue: Buffer.from([0x61, 0, 0x62]) }]));
  declines(['text'], encodeRow([{ BytesValue: Buffer.from([0x61, 0x62, 0x63, 0x64, 0xff]) }]));
  declines(['int4'], encodeRow([{ Int64Value: '2147483648' }]));
  declines(['int2'], encodeRow([{ Int32Value: 32768 }]));
  declines(['int8'], encodeRow([{ StringValue: '1' }]));
  declines(['float4'], encodeRow([{ Float64Value: 1 }]));
  declines(['bytea'], encodeRow([{ StringValue: 'x' }]));
  declines(['int8', 'int8'], encodeRow([{ Int64Value: '1' }]));
  declines(['int8'], encodeRow([{ Int64Value: '1' }, { Int64Value: '2' }]));
  // A Timestamp beyond ±285 years of 2000 (the general path computes those µs with BigInt).
  declines(['timestamp'], encodeRow([{ TimeStampValue: { seconds: 946684800 + 9e9, nanos: 0 } }]));
  // NaN bit patterns are copied exactly.
  const nan = Buffer.from('0a093100000000deadf87f', 'hex');
  const out = new ct.CopyTextBuffer(8);
  assert.equal(renderBinaryRow(nan, 0, nan.length, kinds(['float8']), out), true);
  assert.equal(out.buf.toString('hex', 6, 14), '7ff8adde00000000');
});

test('renderBinaryRow on Timestamp varints of every length: 6-byte seconds and 5-byte nanos in one step, longer or overlong ones through the general reader', () => {
  const cols = ['timestamp', 'date', 'time', 'timestamptz'];
  const varint = (v) => {
    const bytes = [];
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      bytes.push(x ? b | 0x80 : b);
    } while (x);
    return bytes;
  };
  const overlong = (v, n) => {
    const b = varint(v);
    while (b.length < n) {
      b[b.length - 1] |= 0x80;
      b.push(0);
    }
    return b;
  };
  // A Row of one DBValue { TimeStampValue { seconds, nanos } } with the given varint bytes.
  const rowOf = (sec, nan) => {
    const ts = [...(sec ? [0x08, ...sec] : []), ...(nan ? [0x10, ...nan] : [])];
    const dbv = [0x52, ts.length, ...ts];
    return Buffer.from([0x0a, dbv.length, ...dbv]);
  };
  const seconds = [0, 1, 127, 128, 2 ** 35 - 1, 2 ** 35, 253402300799, 2 ** 42 - 1, 2 ** 42, -1, -62135596800, 1767225600];
  const nanos = [0, 1, 999999999, 1000000000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, -1];
  let accepted = 0;
  for (const type of cols) {
    const layout = layoutOf([type]);
    for (const s of seconds) {
      for (const n of nanos) {
        for (const [sb, nb] of [
          [varint(s), varint(n)],
          [overlong(s, 7), varint(n)],
          [varint(s), overlong(n, 6)],
          [overlong(s, 6), overlong(n, 5)],
          [varint(s), null],
          [null, varint(n)],
        ]) {
          if (check(layout, rowOf(sb, nb), `${type} seconds ${s} (${sb?.length} bytes) nanos ${n} (${nb?.length} bytes)`)) accepted++;
        }
      }
    }
  }
  assert.ok(accepted > 300, `one-pass path took ${accepted} rows`);
});
