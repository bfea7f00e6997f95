// The common case of COPY BINARY in one pass: a Row whose values map one to one, in order,
// onto the COPY columns, each value of the exact kind its column takes in binary (Int32/Int64
// into integers, Float64 into float8, Float32 into float4, text, bytes into bytea, Timestamp
// into timestamp/date/time, nulls). The wire bytes are read and the tuple written in the
// same loop, with one space check per row and no per-value calls or stores outside locals.
//
// Anything else — another width or order, a value that needs PostgreSQL's text input, a value
// to be rejected (NUL, invalid UTF-8, a Timestamp out of range), malformed or unusual protobuf
// (a third varint byte in a length, several members in one DBValue) — returns false with
// nothing committed to `out`, and RowRenderer's general path decides: it is the reference,
// and it stays the only place that knows the errors. So this path only has to be exact on the
// rows it accepts (test/gpss-server-binary-row.test.js compares both on random and mutated rows).
//
// Why: rendering was two thirds of gpss-pg's CPU per row; the general path's parse-then-render
// with a call and a space check per value cost ~400 ns for a five-column row (bench/gpss-server).
import { isUtf8 } from 'node:buffer';
import { BinaryKind, TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS, type CopyTextBuffer } from './copy-values';

const PG_EPOCH_SECONDS = 946684800; // 2000-01-01T00:00:00Z
const PG_EPOCH_DAYS = 10957;
const TWO32 = 4294967296;

// DataViews over the memory of the current source and output buffers: 4- and 8-byte loads and
// big-endian stores in one operation each (byte loops over Buffers cost ~2 ns a byte here).
// Kept per ArrayBuffer, not per Buffer: rows that are views of one request or one slab share it.
// The identity check on the Buffer comes first: reading `.buffer` costs more than a row's work.
let srcOf: Uint8Array | null = null;
let srcMemory: ArrayBufferLike | null = null;
let srcView: DataView = new DataView(new ArrayBuffer(0));
let srcBase = 0;
let outOf: Uint8Array | null = null;
let outMemory: ArrayBufferLike | null = null;
let outView: DataView = srcView;
let outBase = 0;

/** Low and high 32 bits (signed) of the varint readVarint64 read last: no allocation per value. */
const VARINT = new Int32Array(2);

/** Reads a varint of at most 10 bytes before `end` into VARINT; the position after it, or -1. */
function readVarint64(src: Uint8Array, pos: number, end: number): number {
  let lo = 0;
  let hi = 0;
  let b = 0x80;
  for (let shift = 0; b >= 0x80; shift += 7) {
    if (pos >= end || shift > 63) return -1;
    b = src[pos++];
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x7f) << 28;
      hi = (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
  }
  VARINT[0] = lo;
  VARINT[1] = hi;
  return pos;
}

/** The value of the varint readShortVarint read last. */
let SHORT = 0;

/**
 * Reads a varint of at most `max` ≤ 7 bytes before `end` (exact as a double); the position
 * after it, or -1 (longer, or truncated: the caller's general reader decides).
 */
function readShortVarint(src: Uint8Array, pos: number, end: number, max: number): number {
  let v = 0;
  let mul = 1;
  const stop = Math.min(end, pos + max);
  while (pos < stop) {
    const b = src[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      SHORT = v;
      return pos;
    }
    mul *= 128;
  }
  return -1;
}

/**
 * Appends the row src[start, end) as one COPY BINARY tuple of `kinds.length` values (the
 * kinds per COPY column, in COPY order) and returns true; or returns false, `out.pos`
 * unchanged, when the row is not one this path handles (see the file comment).
 */
export function renderBinaryRow(src: Uint8Array, start: number, end: number, kinds: Uint8Array, out: CopyTextBuffer): boolean {
  const n = kinds.length;
  // Per value at most 4 length bytes + max(8 fixed bytes, its wire bytes): one check per row.
  out.ensure(2 + 12 * n + (end - start));
  const buf = out.buf;
  if (srcOf !== src) {
    srcOf = src;
    if (srcMemory !== src.buffer) {
      srcMemory = src.buffer;
      srcView = new DataView(src.buffer);
    }
    srcBase = src.byteOffset;
  }
  if (outOf !== buf) {
    outOf = buf;
    if (outMemory !== buf.buffer) {
      outMemory = buf.buffer;
      outView = new DataView(buf.buffer);
    }
    outBase = buf.byteOffset;
  }
  const sv = srcView;
  const ov = outView;
  // DataView offsets are into the whole ArrayBuffer.
  const sb = srcBase;
  const ob = outBase;
  let o = out.pos;
  ov.setInt16(ob + o, n);
  o += 2;
  let pos = start;
  for (let p = 0; p < n; p++) {
    // Row.Columns (field 1, length-delimited), length in one or two bytes.
    if (pos + 1 >= end || src[pos] !== 0x0a) return false;
    let len = src[pos + 1];
    pos += 2;
    if (len >= 0x80) {
      if (pos >= end || src[pos] >= 0x80) return false;
      len = (len & 0x7f) | (src[pos++] << 7);
    }
    const vEnd = pos + len;
    if (vEnd > end) return false;
    if (len === 0) {
      // A DBValue without a member: NULL.
      ov.setInt32(ob + o, -1);
      o += 4;
      continue;
    }
    const tag = src[pos++];
    const kind = kinds[p];
    if (tag === 0x08 || tag === 0x10 || tag === 0x58) {
      // Int32Value (1), Int64Value (2), NullValue (11): one varint that ends the DBValue.
      pos = readVarint64(src, pos, vEnd);
      if (pos !== vEnd) return false;
      const lo = VARINT[0];
      let hi = VARINT[1];
      if (tag === 0x58) {
        ov.setInt32(ob + o, -1);
        o += 4;
        continue;
      }
      if (tag === 0x08) hi = (lo | 0) < 0 ? -1 : 0; // an int32 is its low 32 bits, sign-extended
      if (kind === BinaryKind.Int8) {
        ov.setInt32(ob + o, 8);
        ov.setInt32(ob + o + 4, hi);
        ov.setInt32(ob + o + 8, lo);
        o += 12;
        continue;
      }
      // int4/int2 only when the value fits (otherwise PostgreSQL's text input reports it).
      const v = lo | 0;
      if (hi !== (v < 0 ? -1 : 0)) return false;
      if (kind === BinaryKind.Int4) {
        ov.setInt32(ob + o, 4);
        ov.setInt32(ob + o + 4, v);
        o += 8;
        continue;
      }
      if (kind !== BinaryKind.Int2 || v < -32768 || v > 32767) return false;
      ov.setInt32(ob + o, 2);
      ov.setInt16(ob + o + 4, v);
      o += 6;
      continue;
    }
    if (tag === 0x31 || tag === 0x2d) {
      // Float64Value (6) into float8, Float32Value (5) into float4: the IEEE bits, big-endian.
      const size = tag === 0x31 ? 8 : 4;
      if (kind !== (size === 8 ? BinaryKind.Float8 : BinaryKind.Float4) || vEnd - pos !== size) return false;
      ov.setInt32(ob + o, size);
      // Through integers, not getFloat64: a NaN's payload is copied bit for bit, as PostgreSQL got it.
      if (size === 8) {
        ov.setInt32(ob + o + 4, sv.getInt32(sb + pos + 4, true));
        ov.setInt32(ob + o + 8, sv.getInt32(sb + pos, true));
      } else ov.setInt32(ob + o + 4, sv.getInt32(sb + pos, true));
      o += 4 + size;
      pos = vEnd;
      continue;
    }
    if (tag === 0x3a || tag === 0x62 || tag === 0x42) {
      // StringValue (7), OtherValue (12), BytesValue (8): length in one or two bytes.
      if (pos >= vEnd) return false;
      let slen = src[pos++];
      if (slen >= 0x80) {
        if (pos >= vEnd || src[pos] >= 0x80) return false;
        slen = (slen & 0x7f) | (src[pos++] << 7);
      }
      if (pos + slen !== vEnd) return false;
      ov.setInt32(ob + o, slen);
      o += 4;
      if (kind === BinaryKind.Bytea) {
        if (tag !== 0x42) return false;
        buf.set(src.subarray(pos, vEnd), o);
        o += slen;
        pos = vEnd;
        continue;
      }
      if (kind !== BinaryKind.Text) return false;
      // ASCII without NUL is copied 8, then 4 bytes at a time (a word with a zero byte or a
      // high bit set stops these loops); the rest byte by byte: NUL goes to the general path
      // (a row error), anything else non-ASCII is checked as UTF-8.
      const from = pos;
      let high = false;
      for (; pos + 8 <= vEnd; pos += 8) {
        const w = sv.getInt32(sb + pos, true);
        const x = sv.getInt32(sb + pos + 4, true);
        if ((((w - 0x01010101) & ~w) | w | ((x - 0x01010101) & ~x) | x) & 0x80808080) break;
        ov.setInt32(ob + o, w, true);
        ov.setInt32(ob + o + 4, x, true);
        o += 8;
      }
      for (; pos + 4 <= vEnd; pos += 4) {
        const w = sv.getInt32(sb + pos, true);
        if ((((w - 0x01010101) & ~w) | w) & 0x80808080) break;
        ov.setInt32(ob + o, w, true);
        o += 4;
      }
      for (; pos < vEnd; pos++) {
        const c = src[pos];
        if (((c - 1) & 0xff) >= 0x7f) {
          if (c === 0) return false;
          high = true;
        }
        buf[o++] = c;
      }
      if (high && !isUtf8(src.subarray(from, vEnd))) return false;
      continue;
    }
    if (tag === 0x52) {
      // TimeStampValue (10): google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; }.
      if (kind !== BinaryKind.Timestamp && kind !== BinaryKind.Date && kind !== BinaryKind.Time) return false;
      if (pos >= vEnd) return false;
      const tlen = src[pos++];
      if (tlen >= 0x80 || pos + tlen !== vEnd) return false;
      let seconds = 0;
      let nanos = 0;
      while (pos < vEnd) {
        const t = src[pos++];
        if (t !== 0x08 && t !== 0x10) return false;
        // Seconds of years 1970–9999 fit 6 varint bytes, nanos 5: read as exact doubles.
        const q = readShortVarint(src, pos, vEnd, t === 0x08 ? 6 : 5);
        if (q >= 0) {
          pos = q;
          if (t === 0x08) seconds = SHORT;
          else nanos = SHORT;
          continue;
        }
        pos = readVarint64(src, pos, vEnd);
        if (pos < 0) return false;
        if (t === 0x08) seconds = VARINT[1] * TWO32 + (VARINT[0] >>> 0);
        else nanos = VARINT[0];
      }
      // Out of range: the general path rejects the row with its message.
      if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS || nanos < 0 || nanos > 999999999) return false;
      const us = Math.floor(nanos / 1000);
      if (kind === BinaryKind.Date) {
        ov.setInt32(ob + o, 4);
        ov.setInt32(ob + o + 4, Math.floor(seconds / 86400) - PG_EPOCH_DAYS);
        o += 8;
        continue;
      }
      let total: number;
      if (kind === BinaryKind.Time) total = (seconds - Math.floor(seconds / 86400) * 86400) * 1e6 + us;
      else {
        const rel = seconds - PG_EPOCH_SECONDS;
        if (rel >= 9e9 || rel <= -9e9) return false; // µs past 2^53: the general path's BigInt
        total = rel * 1e6 + us;
      }
      const th = Math.floor(total / TWO32);
      const tl = total - th * TWO32;
      ov.setInt32(ob + o, 8);
      ov.setInt32(ob + o + 4, th);
      ov.setUint32(ob + o + 8, tl);
      o += 12;
      continue;
    }
    return false;
  }
  if (pos !== end) return false; // more values than columns: the general path decides
  out.pos = o;
  return true;
}
