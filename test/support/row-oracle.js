'use strict';
// Test oracle: a DBValue-object encoder and an independent decoder of GPSS `Row` bytes.
// Production code encodes through RowWriter (value-mapping.ts) and gpss-pg decodes with its
// row renderer; tests check both against these (and these against protobufjs).
//
//   Row     { repeated DBValue Columns = 1; }
//   DBValue { oneof DBType { int32 Int32Value = 1; int64 Int64Value = 2; float Float32Value = 5;
//             double Float64Value = 6; string StringValue = 7; bytes BytesValue = 8;
//             google.protobuf.Timestamp TimeStampValue = 10; NullValue NullValue = 11;
//             string OtherValue = 12; } }
const { RowWriter, RowEncodeError, RowDecodeError, INT32_MIN, INT32_MAX, TIMESTAMP_MIN_SECONDS, TIMESTAMP_MAX_SECONDS } = require('../../dist/gpss/row-codec');

const FLOAT32_MAX = 3.4028234663852886e38;
const TWO32 = 4294967296;
const TAG_ROW_COLUMN = 0x0a; // Row.Columns = 1, length-delimited
const TAG_TS_SECONDS = 0x08; // Timestamp.seconds = 1, varint
const TAG_TS_NANOS = 0x10; // Timestamp.nanos = 2, varint

/** Split of the last parsed varint into two uint32 halves. */
let LO = 0;
let HI = 0;

/** Decimal text of the signed int64 lo/hi (uint32 halves). */

function int64ToString(lo, hi) {
  if (hi < 0x200000)
    return String(hi * TWO32 + lo); // 0 .. 2^53-1
  if (hi >= 0x80000000) {
    // Negative: magnitude = two's complement.
    const mlo = (~lo + 1) >>> 0;
    const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
    if (mhi < 0x200000)
      return '-' + String(mhi * TWO32 + mlo);
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

// ---- encodeRow ------------------------------------------------------------------------------

const DECIMAL_INT = /^-?\d+$/;

/** Validates Timestamp fields; returns seconds as a number. Throws RowEncodeError. */

function checkTimestamp(ts, index = -1) {
  if (ts === null || typeof ts !== 'object')
    throw new RowEncodeError(`value ${index}: TimeStampValue must be {seconds, nanos}`, index);
  const { seconds, nanos } = ts;
  let s;
  if (typeof seconds === 'string' && DECIMAL_INT.test(seconds) && seconds.length <= 13)
    s = Number(seconds);
  else if (typeof seconds === 'number' && Number.isSafeInteger(seconds))
    s = seconds;
  else if (seconds === undefined)
    s = 0;
  else
    throw new RowEncodeError(`value ${index}: TimeStampValue.seconds must be an integer (decimal string), got ${preview(seconds)}`, index);
  if (s < TIMESTAMP_MIN_SECONDS || s > TIMESTAMP_MAX_SECONDS || !Number.isFinite(s)) {
    throw new RowEncodeError(`value ${index}: TimeStampValue.seconds ${String(seconds)} is outside years 1..9999 ([${TIMESTAMP_MIN_SECONDS}, ${TIMESTAMP_MAX_SECONDS}])`, index);
  }
  const n = nanos === undefined ? 0 : nanos;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 999999999) {
    throw new RowEncodeError(`value ${index}: TimeStampValue.nanos must be an integer in 0..999999999, got ${preview(nanos)}`, index);
  }
  return s === 0 ? 0 : s; // normalise -0
}

function preview(v) {
  if (typeof v === 'string')
    return JSON.stringify(v.length > 40 ? v.slice40 + '…' : v);
  if (typeof v === 'bigint')
    return `${v}n`;
  if (v === null || typeof v !== 'object')
    return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

const defaultWriter = new RowWriter();

/** Encodes one `Row` message (the bytes that go into `RowData.Data`). Throws RowEncodeError. */

function encodeRow(values) {
  const w = defaultWriter.busy ? new RowWriter(256) : defaultWriter;
  w.begin();
  try {
    for (let i = 0, n = values.length; i < n; i++)
      writeDBValue(w, values[i], i);
    return w.finish();
  }
  catch (err) {
    w.abort();
    throw err;
  }
}

function writeDBValue(w, v, i) {
  if (v === null || typeof v !== 'object')
    throw new RowEncodeError(`value ${i}: expected a DBValue object, got ${preview(v)}`, i);
  let key;
  for (const k in v) {
    // proto-loader's `oneofs: true` adds a virtual DBType key naming the member: not a member.
    if (k === 'DBType')
      continue;
    if (key !== undefined)
      throw new RowEncodeError(`value ${i}: a DBValue must set exactly one member, got ${key} and ${k}`, i);
    key = k;
  }
  if (key === undefined) {
    w.empty();
    return;
  }
  const x = v[key];
  switch (key) {
    case 'StringValue':
      if (typeof x !== 'string')
        break;
      w.string(x);
      return;
    case 'Int32Value':
      if (typeof x !== 'number')
        break;
      if (!Number.isInteger(x) || x < INT32_MIN || x > INT32_MAX) {
        throw new RowEncodeError(`value ${i}: Int32Value ${preview(x)} is not an integer in int32 range`, i);
      }
      w.int32(x);
      return;
    case 'Int64Value':
      if (typeof x !== 'string')
        break;
      if (!w.int64String(x))
        throw new RowEncodeError(`value ${i}: Int64Value ${preview(x)} is not a decimal integer in int64 range`, i);
      return;
    case 'Float64Value':
      if (typeof x !== 'number')
        break;
      w.float64(x);
      return;
    case 'Float32Value':
      if (typeof x !== 'number')
        break;
      if (Number.isFinite(x) && !Number.isFinite(Math.fround(x))) {
        throw new RowEncodeError(`value ${i}: Float32Value ${x} overflows float32 (max ±${FLOAT32_MAX})`, i);
      }
      w.float32(x);
      return;
    case 'TimeStampValue': {
      const s = checkTimestamp(x, i);
      w.timestamp(s, x.nanos ?? 0);
      return;
    }
    case 'NullValue':
      if (x !== 0 && x !== null && x !== 'NULL_VALUE')
        break;
      w.null();
      return;
    case 'BytesValue':
      if (!(x instanceof Uint8Array))
        break;
      w.bytes(x);
      return;
    case 'OtherValue':
      if (typeof x !== 'string')
        break;
      w.other(x);
      return;
    default:
      throw new RowEncodeError(`value ${i}: unknown DBValue member ${JSON.stringify(key)}`, i);
  }
  throw new RowEncodeError(`value ${i}: ${key} cannot hold ${preview(x)}`, i);
}

// ---- decodeRow ------------------------------------------------------------------------------

/** Reads protobuf wire data with bounds checks; every failure is a RowDecodeError. */

class Reader {
  buf;
  end;
  pos;
  constructor(buf, start, end) {
    this.buf = buf;
    this.end = end;
    this.pos = start;
  }
  fail(what) {
    throw new RowDecodeError(`malformed Row: ${what} at byte ${this.pos}`);
  }
  /** Varint as uint32 (upper bits discarded). */
  varint32() {
    const buf = this.buf;
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end)
        this.fail('truncated varint');
      const b = buf[this.pos++];
      if (shift < 32)
        v |= (b & 0x7f) << shift;
      if (b < 0x80)
        return v >>> 0;
    }
    return this.fail('varint longer than 10 bytes');
  }
  /** Varint into LO/HI. */
  varint64() {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let b;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end)
        this.fail('truncated varint');
      b = buf[this.pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        LO = lo >>> 0;
        HI = 0;
        return;
      }
    }
    if (this.pos >= this.end)
      this.fail('truncated varint');
    b = buf[this.pos++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      return;
    }
    for (let shift = 3; shift <= 31; shift += 7) {
      if (this.pos >= this.end)
        this.fail('truncated varint');
      b = buf[this.pos++];
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        LO = lo >>> 0;
        HI = hi >>> 0;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }
  /** Length prefix; returns the end offset of the delimited payload. */
  delimited() {
    const at = this.pos;
    this.varint64();
    const len = LO;
    if (HI !== 0 || len > this.end - this.pos) {
      this.pos = at;
      this.fail(`length ${HI !== 0 ? 'over 4 GiB' : len} runs past the end (${this.end - at} bytes left)`);
    }
    return this.pos + len;
  }
}

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'wire type 6', 'wire type 7'];
// Expected wire type for DBValue field numbers 0..12 (-1 = not a member).
const DBVALUE_WIRE = [-1, 0, 0, -1, -1, 5, 1, 2, 2, -1, 2, 0, 2];

/** Decodes one `Row` message. Throws RowDecodeError on malformed bytes; never reads out of bounds. */

function decodeRow(data) {
  if (!(data instanceof Uint8Array))
    throw new RowDecodeError('malformed Row: expected bytes');
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const r = new Reader(buf, 0, buf.length);
  const out = [];
  while (r.pos < r.end) {
    const tag = r.varint32();
    if (tag !== TAG_ROW_COLUMN) {
      if (tag >>> 3 === 1)
        r.fail(`Row.Columns with wire type ${WIRE_NAMES[tag & 7]}`);
      r.fail(`unknown Row field ${tag >>> 3}`);
    }
    const end = r.delimited();
    out.push(decodeDBValue(r, end));
  }
  return out;
}

function decodeDBValue(r, end) {
  const outerEnd = r.end;
  r.end = end;
  let result;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field >= DBVALUE_WIRE.length || DBVALUE_WIRE[field] < 0) {
      r.pos = tagAt;
      r.fail(`unknown DBValue field ${field}`);
    }
    if (DBVALUE_WIRE[field] !== wire) {
      r.pos = tagAt;
      r.fail(`DBValue field ${field} with wire type ${WIRE_NAMES[wire]}`);
    }
    if (result !== undefined) {
      r.pos = tagAt;
      r.fail('DBValue with more than one member set');
    }
    const buf = r.buf;
    switch (field) {
      case 1:
        result = { Int32Value: r.varint32() | 0 };
        break;
      case 2:
        r.varint64();
        result = { Int64Value: int64ToString(LO, HI) };
        break;
      case 5:
        if (end - r.pos < 4)
          r.fail('truncated Float32Value');
        result = { Float32Value: buf.readFloatLE(r.pos) };
        r.pos += 4;
        break;
      case 6:
        if (end - r.pos < 8)
          r.fail('truncated Float64Value');
        result = { Float64Value: buf.readDoubleLE(r.pos) };
        r.pos += 8;
        break;
      case 7: {
        const e = r.delimited();
        result = { StringValue: buf.toString('utf8', r.pos, e) };
        r.pos = e;
        break;
      }
      case 8: {
        const e = r.delimited();
        // A copy: the caller may keep values after the request buffer is gone or reused.
        result = { BytesValue: Buffer.from(buf.subarray(r.pos, e)) };
        r.pos = e;
        break;
      }
      case 10: {
        const e = r.delimited();
        result = { TimeStampValue: decodeTimestamp(r, e) };
        break;
      }
      case 11:
        r.varint32(); // any enum number is still the NullValue member
        result = { NullValue: 0 };
        break;
      case 12: {
        const e = r.delimited();
        result = { OtherValue: buf.toString('utf8', r.pos, e) };
        r.pos = e;
        break;
      }
    }
  }
  r.end = outerEnd;
  return result ?? {};
}

function decodeTimestamp(r, end) {
  const outerEnd = r.end;
  r.end = end;
  let seconds = '0';
  let nanos = 0;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.varint32();
    if (tag === TAG_TS_SECONDS) {
      r.varint64();
      seconds = int64ToString(LO, HI);
    }
    else if (tag === TAG_TS_NANOS) {
      nanos = r.varint32() | 0;
    }
    else {
      r.pos = tagAt;
      r.fail(`unexpected Timestamp field ${tag >>> 3} (wire type ${WIRE_NAMES[tag & 7]})`);
    }
  }
  r.end = outerEnd;
  // Range is not checked here: an out-of-range Timestamp is a per-row format error for the
  // server to count, not a malformed message.
  return { seconds, nanos };
}

module.exports = { encodeRow, decodeRow, checkTimestamp };
