// The server's hot path: GPSS `Row` bytes (RowData.Data) rendered straight into PostgreSQL
// COPY data — text format, or COPY BINARY when every value maps exactly onto its column —
// without building DBValue objects or JS strings for text values.
//
// Why not decodeRow() (test/support/row-oracle.js) + a formatter: it allocates an object and a string per value and
// a Buffer per bytea value; here a string value's UTF-8 bytes are copied (escaped for text)
// byte by byte from the request buffer into the output buffer. bench/gpss-server.bench.js
// compares both (3-5× here) and measures the whole path; test/gpss-server-units.test.js
// checks this decoder against decodeRow, test/gpss-server-values.test.js checks that the
// binary and text forms store identical values.
//
// Rendering rules (spec §7 "Our rule (server)"):
//  * integers as decimal text, int64 never through a JS number above 2^53;
//  * Float32Value as the shortest decimal that survives a float32 round trip; NaN/±Infinity;
//  * StringValue / OtherValue unchanged; BytesValue as \x<hex> for bytea, UTF-8 text otherwise;
//  * TimeStampValue in UTC as YYYY-MM-DD HH:MM:SS.ffffff (µs, truncated); date/time columns
//    take their part, timestamptz/timetz get +00; out of range is a format error;
//  * NullValue or no member → \N; backslash, tab, LF, CR escaped.
// A NUL byte or invalid UTF-8 is a per-row format error (PostgreSQL would reject the whole COPY).
//
// renderBinary first tries binary-row.ts's one-pass renderer (the common row: values in COPY
// column order, each of its column's binary kind); whatever it declines comes here, and this
// general path is the reference both are tested against.
import { isUtf8 } from 'node:buffer';
import {
  BinaryKind,
  ColumnKind,
  CopyTextBuffer,
  renderFloat32,
  renderFloat64,
  renderTimestamp,
  RowProtocolError,
  TIMESTAMP_MAX_SECONDS,
  TIMESTAMP_MIN_SECONDS,
  ValueFormatError,
} from './copy-values';
import { renderBinaryRow } from './binary-row';

const PG_EPOCH_SECONDS = 946684800; // 2000-01-01T00:00:00Z
const PG_EPOCH_DAYS = 10957;

// ---- protobuf reading -----------------------------------------------------------------

// Results of readVarint: low and high 32 bits (module-level to avoid allocating per value).
let LO = 0;
let HI = 0;
/** readTimestamp's results (see LO/HI). */
let TS_SECONDS = 0;
let TS_NANOS = 0;

function readVarint(src: Uint8Array, pos: number, end: number): number {
  // Tags, lengths and small numbers are one byte: the common case, kept short to inline.
  if (pos < end && src[pos] < 0x80) {
    LO = src[pos];
    HI = 0;
    return pos + 1;
  }
  return readVarintSlow(src, pos, end);
}

function readVarintSlow(src: Uint8Array, pos: number, end: number): number {
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw new RowProtocolError('truncated varint');
    b = src[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = 0;
      return pos;
    }
  }
  if (pos >= end) throw new RowProtocolError('truncated varint');
  b = src[pos++];
  lo |= (b & 0x7f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) {
    LO = lo >>> 0;
    HI = hi;
    return pos;
  }
  for (let shift = 3; shift < 32; shift += 7) {
    if (pos >= end) throw new RowProtocolError('truncated varint');
    b = src[pos++];
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      return pos;
    }
  }
  throw new RowProtocolError('varint longer than 10 bytes');
}

function int64Text(lo: number, hi: number): string {
  if (hi === 0) return String(lo);
  if (hi < 0x200000) return String(hi * 4294967296 + lo); // < 2^53: exact as a number
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function int64Number(lo: number, hi: number): number {
  // Exact for |value| < 2^53, which covers every valid Timestamp second.
  return (hi | 0) * 4294967296 + lo;
}

const WIRE = [-1, 0, 0, -1, -1, 5, 1, 2, 2, -1, 2, 0, 2]; // expected wire type per DBValue field

function skipLen(src: Uint8Array, pos: number, end: number): number {
  pos = readVarint(src, pos, end);
  if (HI !== 0 || LO > end - pos) throw new RowProtocolError('length runs past the end of the row');
  return pos + LO;
}

// Big-endian stores without Buffer's argument checks (the hot path ensured the space).
function w32(buf: Buffer, pos: number, v: number): void {
  buf[pos] = v >>> 24;
  buf[pos + 1] = v >>> 16;
  buf[pos + 2] = v >>> 8;
  buf[pos + 3] = v;
}

function w16(buf: Buffer, pos: number, v: number): void {
  buf[pos] = v >>> 8;
  buf[pos + 1] = v;
}

// ---- the row renderer -------------------------------------------------------------------

/** COPY position → value index of a row of `width` values, from a value → COPY position map. */
function orderOf(map: Int32Array, width: number, copyColumns: number): Int32Array {
  const order = new Int32Array(copyColumns).fill(-1);
  for (let i = 0; i < width; i++) {
    const p = map[i];
    if (p >= 0) order[p] = i;
  }
  return order;
}

const BS = 92; // backslash

/**
 * Renders rows of one load. Columns are the COPY column list (the load columns) in order;
 * `tableMap[i]` gives the COPY position of value i of a table-width row (-1 = not loaded),
 * `insertMap` the same for InsertColumns-width rows (null when there is no such width).
 */
export interface RowLayout {
  names: string[]; // COPY column names, in COPY order
  kinds: ColumnKind[]; // per COPY column
  binKinds?: BinaryKind[]; // per COPY column; absent = text only
  tableWidth: number;
  tableMap: Int32Array;
  insertWidth: number; // -1 when InsertColumns is empty or equal to the table width
  insertMap: Int32Array | null;
}

export class RowRenderer {
  private fieldNo: Int32Array;
  private vStart: Int32Array;
  private vEnd: Int32Array;
  // COPY position → row value index (-1 = not in the row), for each accepted row width: it
  // depends on the width only, so it is computed once, not per row.
  private readonly tableOrder: Int32Array;
  private readonly insertOrder: Int32Array | null;
  // Binary kinds per COPY column when a row of COPY width maps onto the columns in order (the
  // one-pass renderBinaryRow applies); null otherwise.
  private readonly directKinds: Uint8Array | null;

  /** `onePass: false` keeps every row on the general path (tests compare both paths). */
  constructor(
    private readonly layout: RowLayout,
    { onePass = true }: { onePass?: boolean } = {},
  ) {
    const cap = Math.max(layout.tableWidth, layout.insertWidth, 1) + 1;
    this.fieldNo = new Int32Array(cap);
    this.vStart = new Int32Array(cap);
    this.vEnd = new Int32Array(cap);
    this.tableOrder = orderOf(layout.tableMap, layout.tableWidth, layout.names.length);
    this.insertOrder = layout.insertMap ? orderOf(layout.insertMap, layout.insertWidth, layout.names.length) : null;
    const w = layout.names.length;
    const inOrder = (order: Int32Array) => order.every((i, p) => i === p);
    const direct = w === layout.tableWidth ? inOrder(this.tableOrder) : w === layout.insertWidth && inOrder(this.insertOrder!);
    this.directKinds = onePass && direct && layout.binKinds ? Uint8Array.from(layout.binKinds) : null;
  }

  /**
   * Appends one row (bytes src[start, end)) as a COPY text line to `out`.
   * Throws RowProtocolError (malformed / wrong width) or ValueFormatError (row rejected);
   * on a throw `out.pos` is restored to where it was.
   */
  render(src: Buffer, start: number, end: number, out: CopyTextBuffer): void {
    const order = this.orderFor(src, start, end);
    const rowStart = out.pos;
    try {
      const n = order.length;
      for (let p = 0; p < n; p++) {
        if (p > 0) out.byte(9);
        const i = order[p];
        if (i < 0) out.ascii('\\N');
        else this.value(src, i, p, out);
      }
      out.byte(10);
    } catch (err) {
      out.pos = rowStart;
      throw err;
    }
  }

  /** Parses a row and maps COPY positions to its values (throws on a wrong width). */
  private orderFor(src: Buffer, start: number, end: number): Int32Array {
    const width = this.parse(src, start, end);
    const L = this.layout;
    if (width === L.tableWidth) return this.tableOrder;
    if (this.insertOrder && width === L.insertWidth) return this.insertOrder;
    const want = L.insertMap ? `${L.tableWidth} (all table columns) or ${L.insertWidth} (InsertColumns)` : `${L.tableWidth} (all table columns)`;
    throw new RowProtocolError(`row has ${width} values; expected ${want}`);
  }

  /** True when every loaded column has a binary form (the load may start in COPY BINARY). */
  get binaryCapable(): boolean {
    const b = this.layout.binKinds;
    return !!b && b.length > 0 && b.every((k) => k !== BinaryKind.None);
  }

  /**
   * Appends one row as a COPY BINARY tuple when every value maps onto its column exactly as
   * the text path would store it; returns false (nothing written) when some value needs
   * PostgreSQL's text input (e.g. a StringValue into an integer column, an out-of-range
   * integer): the load then continues in text format. Throws like render().
   */
  renderBinary(src: Buffer, start: number, end: number, out: CopyTextBuffer): boolean {
    if (this.directKinds && renderBinaryRow(src, start, end, this.directKinds, out)) return true;
    const order = this.orderFor(src, start, end);
    const bk = this.layout.binKinds!;
    const n = order.length;
    const rowStart = out.pos;
    try {
      out.ensure(2 + 12 * n);
      w16(out.buf, out.pos, n);
      out.pos += 2;
      for (let p = 0; p < n; p++) {
        const i = order[p];
        const f = i < 0 ? 0 : this.fieldNo[i];
        if (f === 0 || f === 11) {
          out.ensure(4);
          w32(out.buf, out.pos, -1);
          out.pos += 4;
        } else if (!this.binaryValue(src, i, p, f, bk[p], out)) {
          out.pos = rowStart;
          return false;
        }
      }
    } catch (err) {
      out.pos = rowStart;
      throw err;
    }
    return true;
  }

  /** Writes one non-null value in binary; false when it needs text input (nothing useful written). */
  private binaryValue(src: Buffer, i: number, p: number, f: number, kind: BinaryKind, out: CopyTextBuffer): boolean {
    const s = this.vStart[i];
    const e = this.vEnd[i];
    out.ensure(16);
    const buf = out.buf;
    const at = out.pos;
    switch (kind) {
      case BinaryKind.Int2:
      case BinaryKind.Int4:
      case BinaryKind.Int8: {
        if (f !== 1 && f !== 2) return false;
        readVarint(src, s, e);
        let lo = LO;
        let hi = HI;
        if (f === 1) {
          lo = LO | 0;
          hi = lo < 0 ? -1 : 0;
        } else if (kind !== BinaryKind.Int8) {
          // An Int64 must fit the column; out-of-range values go through text so that
          // PostgreSQL reports them as it always does.
          if (HI === 0 && LO <= 0x7fffffff) lo = LO;
          else if (HI === 0xffffffff && LO >= 0x80000000) lo = LO | 0;
          else return false;
        }
        if (kind === BinaryKind.Int2) {
          if (lo < -32768 || lo > 32767) return false;
          w32(buf, at, 2);
          w16(buf, at + 4, lo);
          out.pos = at + 6;
        } else if (kind === BinaryKind.Int4) {
          w32(buf, at, 4);
          w32(buf, at + 4, lo);
          out.pos = at + 8;
        } else {
          w32(buf, at, 8);
          w32(buf, at + 4, hi);
          w32(buf, at + 8, lo);
          out.pos = at + 12;
        }
        return true;
      }
      case BinaryKind.Float4:
      case BinaryKind.Float8: {
        // Float32 into float4, Float64 into float8 only: other pairs round differently than
        // PostgreSQL's text input would. Same IEEE bits, big-endian on the wire.
        if (f !== (kind === BinaryKind.Float4 ? 5 : 6)) return false;
        const len = e - s;
        w32(buf, at, len);
        if (len === 8) {
          // Unrolled byte reversal (the common float8 case).
          buf[at + 4] = src[s + 7];
          buf[at + 5] = src[s + 6];
          buf[at + 6] = src[s + 5];
          buf[at + 7] = src[s + 4];
          buf[at + 8] = src[s + 3];
          buf[at + 9] = src[s + 2];
          buf[at + 10] = src[s + 1];
          buf[at + 11] = src[s];
        } else for (let k = 0; k < len; k++) buf[at + 4 + k] = src[e - 1 - k];
        out.pos = at + 4 + len;
        return true;
      }
      case BinaryKind.Bytea: {
        if (f !== 8) return false;
        out.ensure(4 + e - s);
        w32(out.buf, at, e - s);
        src.copy(out.buf, at + 4, s, e);
        out.pos = at + 4 + e - s;
        return true;
      }
      case BinaryKind.Text: {
        out.pos = at + 4;
        if (f === 7 || f === 12 || f === 8) this.rawText(src, s, e, p, out);
        else this.value(src, i, p, out); // digits, floats, timestamps: no escapes needed
        w32(out.buf, at, out.pos - at - 4);
        return true;
      }
      case BinaryKind.Timestamp:
      case BinaryKind.Date:
      case BinaryKind.Time:
        if (f !== 10) return false;
        this.binaryTime(src, s, e, p, kind, out);
        return true;
      default:
        return false;
    }
  }

  /**
   * Parses the google.protobuf.Timestamp in src[s, e) into TS_SECONDS / TS_NANOS (module
   * variables, like LO/HI: no object per value on the hot path) and rejects values out of
   * range with renderTimestamp's descriptive message for `kind`.
   */
  private readTimestamp(src: Buffer, s: number, e: number, p: number, kind: ColumnKind): void {
    let seconds = 0;
    let nanos = 0;
    let q = s;
    while (q < e) {
      q = readVarint(src, q, e);
      const tag = LO;
      if (HI === 0 && tag === 0x08) {
        q = readVarint(src, q, e);
        seconds = int64Number(LO, HI);
      } else if (HI === 0 && tag === 0x10) {
        q = readVarint(src, q, e);
        nanos = LO | 0;
      } else {
        throw new RowProtocolError(`unexpected Timestamp field ${tag >>> 3} (wire type ${tag & 7})`);
      }
    }
    if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS || nanos < 0 || nanos > 999999999) {
      try {
        renderTimestamp(seconds, nanos, kind); // throws the descriptive message
      } catch (err) {
        throw new ValueFormatError(this.layout.names[p], (err as Error).message);
      }
    }
    TS_SECONDS = seconds;
    TS_NANOS = nanos;
  }

  private binaryTime(src: Buffer, s: number, e: number, p: number, kind: BinaryKind, out: CopyTextBuffer): void {
    this.readTimestamp(src, s, e, p, ColumnKind.Timestamp);
    const seconds = TS_SECONDS;
    const nanos = TS_NANOS;
    const buf = out.buf;
    const us = Math.floor(nanos / 1000);
    if (kind === BinaryKind.Date) {
      w32(buf, out.pos, 4);
      w32(buf, out.pos + 4, Math.floor(seconds / 86400) - PG_EPOCH_DAYS);
      out.pos += 8;
      return;
    }
    let total: number;
    if (kind === BinaryKind.Time) {
      total = (seconds - Math.floor(seconds / 86400) * 86400) * 1e6 + us;
    } else {
      const rel = seconds - PG_EPOCH_SECONDS;
      if (Math.abs(rel) >= 9e9) {
        // Beyond ±285 years of 2000 the µs count passes 2^53: compute it exactly.
        const big = BigInt.asUintN(64, BigInt(rel) * 1000000n + BigInt(us));
        w32(buf, out.pos, 8);
        buf.writeBigUInt64BE(big, out.pos + 4);
        out.pos += 12;
        return;
      }
      total = rel * 1e6 + us;
    }
    const hi = Math.floor(total / 4294967296);
    w32(buf, out.pos, 8);
    w32(buf, out.pos + 4, hi | 0);
    w32(buf, out.pos + 8, total - hi * 4294967296);
    out.pos += 12;
  }

  /** UTF-8 text copied as is (binary format needs no escapes); NUL or invalid UTF-8 rejects the row. */
  private rawText(src: Buffer, s: number, e: number, p: number, out: CopyTextBuffer): void {
    out.ensure(e - s);
    const buf = out.buf;
    let o = out.pos;
    let high = false;
    let k = s;
    // Bytes 1..127 (one test per byte: (c - 1) & 0xff is ≥ 127 exactly for NUL and ≥ 0x80);
    // the first other byte continues in the checking loop below.
    for (; k < e; k++) {
      const c = src[k];
      if (((c - 1) & 0xff) >= 0x7f) break;
      buf[o++] = c;
    }
    for (; k < e; k++) {
      const c = src[k];
      if (c === 0) throw new ValueFormatError(this.layout.names[p], 'invalid byte sequence for encoding "UTF8": 0x00 (NUL byte)');
      if (c >= 0x80) high = true;
      buf[o++] = c;
    }
    if (high && !isUtf8(src.subarray(s, e))) throw new ValueFormatError(this.layout.names[p], 'invalid byte sequence for encoding "UTF8"');
    out.pos = o;
  }

  /** Splits a Row into its DBValues (field number + payload span); returns the width. */
  private parse(src: Buffer, pos: number, end: number): number {
    let n = 0;
    while (pos < end) {
      pos = readVarint(src, pos, end);
      if (HI !== 0 || LO !== 0x0a) {
        throw new RowProtocolError(LO >>> 3 === 1 && HI === 0 ? `Row.Columns with wire type ${LO & 7}` : `unknown Row field ${LO >>> 3}`);
      }
      const vEnd = skipLen(src, pos, end);
      if (n >= this.fieldNo.length) this.grow();
      let field = 0;
      let s = 0;
      let e = 0;
      let p = vEnd - LO;
      while (p < vEnd) {
        p = readVarint(src, p, vEnd);
        const f = LO >>> 3;
        const wire = LO & 7;
        if (HI !== 0 || f >= WIRE.length || WIRE[f] < 0) throw new RowProtocolError(`unknown DBValue field ${HI !== 0 ? 'over 2^29' : f}`);
        if (WIRE[f] !== wire) throw new RowProtocolError(`DBValue field ${f} with wire type ${wire}`);
        if (field !== 0) throw new RowProtocolError('DBValue with more than one member set');
        field = f;
        if (wire === 0) {
          // Only its extent is needed here (the value is decoded when rendered): skip it.
          s = p;
          while (p < vEnd && src[p] >= 0x80) p++;
          if (p >= vEnd) throw new RowProtocolError('truncated varint');
          if (p - s >= 10) throw new RowProtocolError('varint longer than 10 bytes');
          e = ++p;
        } else if (wire === 5) {
          if (vEnd - p < 4) throw new RowProtocolError('truncated Float32Value');
          s = p;
          p += 4;
          e = p;
        } else if (wire === 1) {
          if (vEnd - p < 8) throw new RowProtocolError('truncated Float64Value');
          s = p;
          p += 8;
          e = p;
        } else {
          const q = skipLen(src, p, vEnd);
          s = q - LO;
          e = q;
          p = q;
        }
      }
      this.fieldNo[n] = field;
      this.vStart[n] = s;
      this.vEnd[n] = e;
      n++;
      pos = vEnd;
    }
    return n;
  }

  private grow(): void {
    const cap = this.fieldNo.length * 2;
    const f = new Int32Array(cap);
    f.set(this.fieldNo);
    const s = new Int32Array(cap);
    s.set(this.vStart);
    const e = new Int32Array(cap);
    e.set(this.vEnd);
    this.fieldNo = f;
    this.vStart = s;
    this.vEnd = e;
  }

  private value(src: Buffer, i: number, p: number, out: CopyTextBuffer): void {
    const s = this.vStart[i];
    const e = this.vEnd[i];
    switch (this.fieldNo[i]) {
      case 0:
      case 11:
        out.ascii('\\N');
        return;
      case 1:
        readVarint(src, s, e);
        out.int(LO | 0);
        return;
      case 2:
        readVarint(src, s, e);
        if (HI < 0x200000) out.int(HI * 4294967296 + LO);
        else out.ascii(int64Text(LO, HI));
        return;
      case 5:
        out.ascii(renderFloat32(src.readFloatLE(s)));
        return;
      case 6: {
        const d = src.readDoubleLE(s);
        // Integral values print as integers in JS too; skip making a string for them.
        if (Number.isSafeInteger(d) && !(d === 0 && 1 / d < 0)) out.int(d);
        else out.ascii(renderFloat64(d));
        return;
      }
      case 7:
      case 12:
        this.text(src, s, e, p, out);
        return;
      case 8:
        if (this.layout.kinds[p] === ColumnKind.Bytea) {
          out.ensure(3 + 2 * (e - s));
          out.buf[out.pos++] = BS;
          out.buf[out.pos++] = BS;
          out.buf[out.pos++] = 120; // x
          out.pos += out.buf.write(src.toString('hex', s, e), out.pos, 'latin1');
        } else {
          this.text(src, s, e, p, out);
        }
        return;
      case 10:
        this.timestamp(src, s, e, p, out);
        return;
    }
  }

  private timestamp(src: Buffer, s: number, e: number, p: number, out: CopyTextBuffer): void {
    const kind = this.layout.kinds[p];
    this.readTimestamp(src, s, e, p, kind);
    const seconds = TS_SECONDS;
    const nanos = TS_NANOS;
    // Same arithmetic as renderTimestamp, written straight into the buffer; the date part of
    // the previous value is reused (loads tend to carry many timestamps of the same day).
    const days = Math.floor(seconds / 86400);
    const sod = seconds - days * 86400;
    out.ensure(40);
    if (kind !== ColumnKind.Time && kind !== ColumnKind.TimeTz) {
      if (days !== this.lastDays) {
        this.lastDays = days;
        this.lastDate = renderTimestamp(days * 86400, 0, ColumnKind.Date);
      }
      out.ascii(this.lastDate);
      if (kind === ColumnKind.Date) return;
      out.buf[out.pos++] = 32; // ' '
    }
    const hh = Math.floor(sod / 3600);
    const mi = Math.floor((sod - hh * 3600) / 60);
    out.int2(hh);
    out.buf[out.pos++] = 58;
    out.int2(mi);
    out.buf[out.pos++] = 58;
    out.int2(sod - hh * 3600 - mi * 60);
    out.buf[out.pos++] = 46; // '.'
    let us = Math.floor(nanos / 1000);
    for (let i = 5; i >= 0; i--) {
      const q = Math.floor(us / 10);
      out.buf[out.pos + i] = 48 + us - q * 10;
      us = q;
    }
    out.pos += 6;
    if (kind === ColumnKind.TimestampTz || kind === ColumnKind.TimeTz) out.ascii('+00');
  }

  private lastDays = NaN;
  private lastDate = '';

  /** Copies UTF-8 text with COPY escaping; NUL or invalid UTF-8 rejects the row. */
  private text(src: Buffer, s: number, e: number, p: number, out: CopyTextBuffer): void {
    out.ensure(2 * (e - s));
    const buf = out.buf;
    let o = out.pos;
    let high = false;
    for (let i = s; i < e; i++) {
      const c = src[i];
      if (c >= 0x20) {
        if (c === BS) {
          buf[o++] = BS;
          buf[o++] = BS;
        } else {
          if (c >= 0x80) high = true;
          buf[o++] = c;
        }
      } else if (c === 9) {
        buf[o++] = BS;
        buf[o++] = 116; // t
      } else if (c === 10) {
        buf[o++] = BS;
        buf[o++] = 110; // n
      } else if (c === 13) {
        buf[o++] = BS;
        buf[o++] = 114; // r
      } else if (c === 0) {
        throw new ValueFormatError(this.layout.names[p], 'invalid byte sequence for encoding "UTF8": 0x00 (NUL byte)');
      } else {
        buf[o++] = c;
      }
    }
    if (high && !isUtf8(src.subarray(s, e))) {
      throw new ValueFormatError(this.layout.names[p], 'invalid byte sequence for encoding "UTF8"');
    }
    out.pos = o;
  }
}
