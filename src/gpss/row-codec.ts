// Hand-written protobuf wire codec for the GPSS `Row` message (`RowData.Data`).
//
// Row encoding is the hot path of every streaming load, so rows are written straight into a
// reusable scratch buffer (no per-value wrapper objects, no protobufjs Writer fork/ldelim
// chain) and copied out once per row. The wire format is the one of proto/gpss.proto:
//
//   Row     { repeated DBValue Columns = 1; }
//   DBValue { oneof DBType { int32 Int32Value = 1; int64 Int64Value = 2; float Float32Value = 5;
//             double Float64Value = 6; string StringValue = 7; bytes BytesValue = 8;
//             google.protobuf.Timestamp TimeStampValue = 10; NullValue NullValue = 11;
//             string OtherValue = 12; } }
//   Timestamp { int64 seconds = 1; int32 nanos = 2; }
//
// A oneof member is always written, even when it holds its default (`Int32Value 0` is `08 00`,
// `NullValue` is `58 00`); Timestamp fields follow plain proto3 rules (zero is omitted).

export type Timestamp = { seconds: string; nanos: number }; // seconds as decimal string (int64), nanos 0..999999999
export type DBValue =
  | { Int32Value: number }
  | { Int64Value: string }
  | { Float32Value: number }
  | { Float64Value: number }
  | { StringValue: string }
  | { BytesValue: Buffer }
  | { TimeStampValue: Timestamp }
  | { NullValue: 0 }
  | { OtherValue: string }
  | Record<string, never>; // {} = no member set (treated as NULL)

/** Malformed `Row` bytes. The message says what is wrong and at which byte offset. */
export class RowDecodeError extends Error {
  readonly code = 'ROW_DECODE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'RowDecodeError';
  }
}

/** A value that cannot be represented in its DBValue member (wrong type, out of range). */
export class RowEncodeError extends Error {
  readonly code = 'ROW_ENCODE' as const;
  /** Zero-based position of the offending value in the row, or -1 when not known. */
  readonly index: number;
  constructor(message: string, index = -1) {
    super(message);
    this.name = 'RowEncodeError';
    this.index = index;
  }
}

import { PackedRows } from './packed-rows';

// ---- limits -------------------------------------------------------------------------------

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
/** google.protobuf.Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z */
export const TIMESTAMP_MIN_SECONDS = -62135596800;
export const TIMESTAMP_MAX_SECONDS = 253402300799;
const TWO32 = 4294967296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// Tags (field << 3 | wire type).
const TAG_ROW_COLUMN = 0x0a; // 1, length-delimited
const TAG_INT32 = 0x08; // 1, varint
const TAG_INT64 = 0x10; // 2, varint
const TAG_FLOAT32 = 0x2d; // 5, fixed32
const TAG_FLOAT64 = 0x31; // 6, fixed64
const TAG_STRING = 0x3a; // 7, length-delimited
const TAG_BYTES = 0x42; // 8, length-delimited
const TAG_TIMESTAMP = 0x52; // 10, length-delimited
const TAG_NULL = 0x58; // 11, varint
const TAG_OTHER = 0x62; // 12, length-delimited
const TAG_TS_SECONDS = 0x08; // Timestamp.seconds = 1, varint
const TAG_TS_NANOS = 0x10; // Timestamp.nanos = 2, varint

// Strings of at most this many UTF-16 units encode to at most 3·41 = 123 bytes, so both of
// their length prefixes are one byte whatever the content: they are written straight into
// place (no measuring pass) and the prefixes filled in afterwards.
const ONE_BYTE_PREFIX_CHARS = 41;
// Up to this many characters a JS loop (pure ASCII assumed, checked per char) beats the native
// UTF-8 writer's call overhead; longer strings go through `utf8Write` (measured: node 20, x64).
const JS_LOOP_CHARS = 16;

/** Rows are encoded in place into slabs of this size and handed out as views (see RowWriter). */
export const ROW_SLAB_BYTES = 64 * 1024;

/** Buffer's UTF-8 writer without `write()`'s argument juggling (a Buffer method since Node 0.x). */
interface Utf8Writable {
  utf8Write(s: string, offset: number, length?: number): number;
}

// ---- int64 helpers --------------------------------------------------------------------------

/** Split of the last parsed int64 into two uint32 halves (module scratch: no allocation). */
let LO = 0;
let HI = 0;

function setFromSafeInteger(n: number): void {
  LO = n >>> 0;
  HI = Math.floor(n / TWO32) >>> 0;
}

function setFromBigInt(b: bigint): void {
  const u = BigInt.asUintN(64, b);
  LO = Number(u & 0xffffffffn);
  HI = Number(u >> 32n);
}

/**
 * Parses a decimal int64 ("-123", "9223372036854775807") into LO/HI. Returns false when the
 * text is not an optionally negative run of ASCII digits or is outside the int64 range.
 */
function parseInt64(s: string): boolean {
  const len = s.length;
  let i = 0;
  let neg = false;
  if (len === 0) return false;
  if (s.charCodeAt(0) === 45 /* - */) {
    neg = true;
    i = 1;
    if (len === 1) return false;
  }
  if (len - i <= 15) {
    // ≤ 15 digits is always below 2^53: exact in a double.
    let n = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return false;
      n = n * 10 + c;
    }
    setFromSafeInteger(neg ? -n : n);
    return true;
  }
  for (let j = i; j < len; j++) {
    const c = s.charCodeAt(j) - 48;
    if (c < 0 || c > 9) return false;
  }
  const b = BigInt(s);
  if (b < INT64_MIN || b > INT64_MAX) return false;
  setFromBigInt(b);
  return true;
}

// ---- sizes ----------------------------------------------------------------------------------

function varint32Size(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  // 32 + bitlength(hi) bits in 7-bit groups; the 5th byte holds hi's lowest 3 bits.
  const part = hi >>> 3;
  if (part === 0) return 5;
  return part < 0x80 ? 6 : part < 0x4000 ? 7 : part < 0x200000 ? 8 : part < 0x10000000 ? 9 : 10;
}

// ---- writer ---------------------------------------------------------------------------------

const NO_SLAB = Buffer.alloc(0);
const NO_ENDS = new Uint32Array(0);

/**
 * Appends DBValues of one Row. `begin()` starts a row, `finish()` returns it. One writer
 * encodes one row at a time; the row encoders in value-mapping.ts write through it directly,
 * so no DBValue objects are built on that path.
 *
 * Rows are written in place into a slab (a 64 KiB Buffer) one after another, and `finish()`
 * returns a view of the row's bytes: no copy and no allocation but the view. A slab is never
 * written again below its fill mark, so every returned row stays valid and independent for as
 * long as the caller keeps it (callers keep rows until commit for retries). A row that does
 * not fit the rest of the slab moves to a fresh one; the old slab lives while any of its rows
 * is referenced (at most 64 KiB per kept row, like Node's own 8 KiB Buffer pool).
 */
export class RowWriter {
  private buf: Buffer;
  /** Where the row being written starts in `buf`. */
  private start = 0;
  private pos = 0;
  private readonly slabBytes: number;
  /** True between begin() and finish()/abort(): callers use it to detect re-entrancy. */
  busy = false;
  /** Start of the open run in `buf` (see beginRun), or -1; its rows' ends relative to it. */
  private runStart = -1;
  /** Ends of the open run's rows (scratch, reused), relative to runStart; runRows of them. */
  private runEnds = NO_ENDS;
  private runRows = 0;
  /** Bytes per row of the last run (sizes the buffer of a large run, see beginRun). */
  private rowBytesEstimate = 64;

  constructor(slabBytes = ROW_SLAB_BYTES) {
    this.slabBytes = slabBytes;
    // The first slab comes with the first value: an encoder that never encodes costs nothing.
    this.buf = NO_SLAB;
  }

  begin(): void {
    this.start = this.pos;
    this.busy = true;
  }

  /** Returns the encoded row (a Buffer view the caller may keep: never written again) and ends it. */
  finish(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    this.busy = false;
    return out;
  }

  abort(): void {
    this.busy = false;
    this.pos = this.start;
  }

  /**
   * Starts a run: the rows finished (finishInRun) until endRun() stay one contiguous range of
   * one buffer, returned as PackedRows (a message's rows, held without a view per row). Runs do
   * not nest and must not span an await (another message could write in between).
   */
  beginRun(expectedRows = 1): void {
    if (this.runStart >= 0 || this.busy) throw new Error('RowWriter: a run is already open');
    // A run of half a slab or more that will not fit the slab's rest gets a buffer of its own,
    // sized by the last run's bytes per row: moving it at the slab's end would leave the part
    // already written dead in the old slab (a third more memory for 1,000-row messages).
    const estimate = expectedRows * this.rowBytesEstimate;
    if (estimate >= this.slabBytes / 2 && this.pos + estimate > this.buf.length) {
      this.buf = Buffer.allocUnsafeSlow(Math.ceil(estimate * 1.0625) + 256);
      this.start = this.pos = 0;
    }
    this.runStart = this.pos;
    this.runRows = 0;
  }

  /** Ends the row like finish(), without a view: it is the run's next row. */
  finishInRun(): void {
    if (this.runRows === this.runEnds.length) {
      const grown = new Uint32Array(Math.max(64, this.runEnds.length * 2));
      grown.set(this.runEnds);
      this.runEnds = grown;
    }
    this.runEnds[this.runRows++] = this.pos - this.runStart;
    this.start = this.pos;
    this.busy = false;
  }

  /** Ends the run and returns its rows. */
  endRun(): PackedRows {
    const n = this.runRows;
    if (n > 0) this.rowBytesEstimate = (this.pos - this.runStart) / n;
    // One row (the common stream message) needs no ends; more get a copy of the scratch's.
    const rows = new PackedRows(this.buf, this.runStart, this.pos, n === 1 ? null : this.runEnds.slice(0, n));
    this.runStart = -1;
    this.runRows = 0;
    if (this.runEnds.length > 65536) this.runEnds = NO_ENDS; // a huge payload's scratch is not kept
    return rows;
  }

  /** Drops the run's rows (a row of it failed: the whole message is refused). */
  abortRun(): void {
    if (this.runStart >= 0) this.pos = this.runStart;
    this.start = this.pos;
    this.busy = false;
    this.runStart = -1;
    this.runRows = 0;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    // Move the partial row (the open run, in a run) to a fresh slab (a bigger one for a row
    // larger than a slab; for a run, twice what it needs, so a long run is copied O(log n) times).
    const from = this.runStart >= 0 ? this.runStart : this.start;
    const used = this.pos - from;
    let size = this.slabBytes;
    const need = this.runStart >= 0 ? 2 * (used + extra) : used + extra;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, from, this.pos);
    this.buf = next;
    this.start -= from;
    if (this.runStart >= 0) this.runStart = 0;
    this.pos = used;
  }

  private varint32(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  private varint64(lo: number, hi: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** `int32` on the wire: negative numbers are sign-extended to 10 bytes. Caller validated range. */
  int32(n: number): void {
    this.ensure(13);
    const buf = this.buf;
    if (n >= 0) {
      const inner = 1 + varint32Size(n);
      buf[this.pos++] = TAG_ROW_COLUMN;
      buf[this.pos++] = inner;
      buf[this.pos++] = TAG_INT32;
      this.varint32(n);
    } else {
      buf[this.pos++] = TAG_ROW_COLUMN;
      buf[this.pos++] = 11;
      buf[this.pos++] = TAG_INT32;
      this.varint64(n >>> 0, 0xffffffff);
    }
  }

  /** Int64Value from the two uint32 halves of its two's complement. */
  private int64Halves(lo: number, hi: number): void {
    this.ensure(13);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    buf[this.pos++] = 1 + varint64Size(lo, hi);
    buf[this.pos++] = TAG_INT64;
    this.varint64(lo, hi);
  }

  /** Int64Value from decimal text; returns false (nothing written) if it is not a valid int64. */
  int64String(s: string): boolean {
    if (!parseInt64(s)) return false;
    this.int64Halves(LO, HI);
    return true;
  }

  /** Int64Value from a safe integer (caller checked Number.isSafeInteger). */
  int64Number(n: number): void {
    setFromSafeInteger(n);
    this.int64Halves(LO, HI);
  }

  /** Int64Value from a bigint; returns false if outside the int64 range. */
  int64BigInt(b: bigint): boolean {
    if (b < INT64_MIN || b > INT64_MAX) return false;
    setFromBigInt(b);
    this.int64Halves(LO, HI);
    return true;
  }

  float32(v: number): void {
    this.ensure(7);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    buf[this.pos++] = 5;
    buf[this.pos++] = TAG_FLOAT32;
    buf.writeFloatLE(v, this.pos);
    this.pos += 4;
  }

  float64(v: number): void {
    this.ensure(11);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    buf[this.pos++] = 9;
    buf[this.pos++] = TAG_FLOAT64;
    buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    this.text(TAG_STRING, s);
  }

  other(s: string): void {
    this.text(TAG_OTHER, s);
  }

  private text(tag: number, s: string): void {
    const chars = s.length;
    if (chars <= ONE_BYTE_PREFIX_CHARS) {
      this.ensure(4 + 3 * chars);
      const buf = this.buf;
      const p = this.pos;
      let q = p + 4;
      let i = 0;
      if (chars <= JS_LOOP_CHARS) {
        for (; i < chars; i++) {
          const c = s.charCodeAt(i);
          if (c >= 0x80) break;
          buf[q++] = c;
        }
      }
      // Longer or not pure ASCII: the native writer (lone surrogates become U+FFFD, as everywhere).
      if (i < chars) q = p + 4 + (buf as unknown as Utf8Writable).utf8Write(s, p + 4);
      const n = q - p - 4;
      buf[p] = TAG_ROW_COLUMN;
      buf[p + 1] = n + 2;
      buf[p + 2] = tag;
      buf[p + 3] = n;
      this.pos = q;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 16);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    this.varint32(1 + varint32Size(n) + n);
    buf[this.pos++] = tag;
    this.varint32(n);
    this.pos += (buf as unknown as Utf8Writable).utf8Write(s, this.pos, n);
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n + 16);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    this.varint32(1 + varint32Size(n) + n);
    buf[this.pos++] = TAG_BYTES;
    this.varint32(n);
    buf.set(b, this.pos);
    this.pos += n;
  }

  /** TimeStampValue; caller validated seconds (safe integer in range) and nanos (0..999999999). */
  timestamp(seconds: number, nanos: number): void {
    this.ensure(24);
    let inner = 0;
    if (seconds !== 0) {
      setFromSafeInteger(seconds);
      inner += 1 + varint64Size(LO, HI);
    }
    if (nanos !== 0) inner += 1 + varint32Size(nanos);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    buf[this.pos++] = 2 + inner; // ≤ 2 + 11 + 6: one byte
    buf[this.pos++] = TAG_TIMESTAMP;
    buf[this.pos++] = inner;
    if (seconds !== 0) {
      buf[this.pos++] = TAG_TS_SECONDS;
      this.varint64(LO, HI);
    }
    if (nanos !== 0) {
      buf[this.pos++] = TAG_TS_NANOS;
      this.varint32(nanos);
    }
  }

  null(): void {
    this.ensure(4);
    const buf = this.buf;
    buf[this.pos++] = TAG_ROW_COLUMN;
    buf[this.pos++] = 2;
    buf[this.pos++] = TAG_NULL;
    buf[this.pos++] = 0;
  }

  /** A DBValue with no member set (`0a 00`); servers treat it as NULL. */
  empty(): void {
    this.ensure(2);
    this.buf[this.pos++] = TAG_ROW_COLUMN;
    this.buf[this.pos++] = 0;
  }
}
