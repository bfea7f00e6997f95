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

// ---- limits -------------------------------------------------------------------------------

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
/** google.protobuf.Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z */
export const TIMESTAMP_MIN_SECONDS = -62135596800;
export const TIMESTAMP_MAX_SECONDS = 253402300799;
const FLOAT32_MAX = 3.4028234663852886e38;
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

/** Decimal text of the signed int64 lo/hi (uint32 halves). */
function int64ToString(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO32 + lo); // 0 .. 2^53-1
  if (hi >= 0x80000000) {
    // Negative: magnitude = two's complement.
    const mlo = (~lo + 1) >>> 0;
    const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
    if (mhi < 0x200000) return '-' + String(mhi * TWO32 + mlo);
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
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

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    // Move the partial row to a fresh slab (a bigger one for a row larger than a slab).
    const used = this.pos - this.start;
    let size = this.slabBytes;
    while (size < used + extra) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
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

// ---- encodeRow ------------------------------------------------------------------------------

const DECIMAL_INT = /^-?\d+$/;

/** Validates Timestamp fields; returns seconds as a number. Throws RowEncodeError. */
export function checkTimestamp(ts: unknown, index = -1): number {
  if (ts === null || typeof ts !== 'object') throw new RowEncodeError(`value ${index}: TimeStampValue must be {seconds, nanos}`, index);
  const { seconds, nanos } = ts as { seconds?: unknown; nanos?: unknown };
  let s: number;
  if (typeof seconds === 'string' && DECIMAL_INT.test(seconds) && seconds.length <= 13) s = Number(seconds);
  else if (typeof seconds === 'number' && Number.isSafeInteger(seconds)) s = seconds;
  else if (seconds === undefined) s = 0;
  else throw new RowEncodeError(`value ${index}: TimeStampValue.seconds must be an integer (decimal string), got ${preview(seconds)}`, index);
  if (s < TIMESTAMP_MIN_SECONDS || s > TIMESTAMP_MAX_SECONDS || !Number.isFinite(s)) {
    throw new RowEncodeError(
      `value ${index}: TimeStampValue.seconds ${String(seconds)} is outside years 1..9999 ([${TIMESTAMP_MIN_SECONDS}, ${TIMESTAMP_MAX_SECONDS}])`,
      index,
    );
  }
  const n = nanos === undefined ? 0 : nanos;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 999999999) {
    throw new RowEncodeError(`value ${index}: TimeStampValue.nanos must be an integer in 0..999999999, got ${preview(nanos)}`, index);
  }
  return s === 0 ? 0 : s; // normalise -0
}

function preview(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

const defaultWriter = new RowWriter();

/** Encodes one `Row` message (the bytes that go into `RowData.Data`). Throws RowEncodeError. */
export function encodeRow(values: readonly DBValue[]): Buffer {
  const w = defaultWriter.busy ? new RowWriter(256) : defaultWriter;
  w.begin();
  try {
    for (let i = 0, n = values.length; i < n; i++) writeDBValue(w, values[i], i);
    return w.finish();
  } catch (err) {
    w.abort();
    throw err;
  }
}

function writeDBValue(w: RowWriter, v: DBValue, i: number): void {
  if (v === null || typeof v !== 'object') throw new RowEncodeError(`value ${i}: expected a DBValue object, got ${preview(v)}`, i);
  let key: string | undefined;
  for (const k in v) {
    // proto-loader's `oneofs: true` adds a virtual DBType key naming the member: not a member.
    if (k === 'DBType') continue;
    if (key !== undefined) throw new RowEncodeError(`value ${i}: a DBValue must set exactly one member, got ${key} and ${k}`, i);
    key = k;
  }
  if (key === undefined) {
    w.empty();
    return;
  }
  const x = (v as Record<string, unknown>)[key];
  switch (key) {
    case 'StringValue':
      if (typeof x !== 'string') break;
      w.string(x);
      return;
    case 'Int32Value':
      if (typeof x !== 'number') break;
      if (!Number.isInteger(x) || x < INT32_MIN || x > INT32_MAX) {
        throw new RowEncodeError(`value ${i}: Int32Value ${preview(x)} is not an integer in int32 range`, i);
      }
      w.int32(x);
      return;
    case 'Int64Value':
      if (typeof x !== 'string') break;
      if (!w.int64String(x)) throw new RowEncodeError(`value ${i}: Int64Value ${preview(x)} is not a decimal integer in int64 range`, i);
      return;
    case 'Float64Value':
      if (typeof x !== 'number') break;
      w.float64(x);
      return;
    case 'Float32Value':
      if (typeof x !== 'number') break;
      if (Number.isFinite(x) && !Number.isFinite(Math.fround(x))) {
        throw new RowEncodeError(`value ${i}: Float32Value ${x} overflows float32 (max ±${FLOAT32_MAX})`, i);
      }
      w.float32(x);
      return;
    case 'TimeStampValue': {
      const s = checkTimestamp(x, i);
      w.timestamp(s, (x as Timestamp).nanos ?? 0);
      return;
    }
    case 'NullValue':
      if (x !== 0 && x !== null && x !== 'NULL_VALUE') break;
      w.null();
      return;
    case 'BytesValue':
      if (!(x instanceof Uint8Array)) break;
      w.bytes(x);
      return;
    case 'OtherValue':
      if (typeof x !== 'string') break;
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
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new RowDecodeError(`malformed Row: ${what} at byte ${this.pos}`);
  }

  /** Varint as uint32 (upper bits discarded). */
  varint32(): number {
    const buf = this.buf;
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++];
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) return v >>> 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Varint into LO/HI. */
  varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
      b = buf[this.pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        LO = lo >>> 0;
        HI = 0;
        return;
      }
    }
    if (this.pos >= this.end) this.fail('truncated varint');
    b = buf[this.pos++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      return;
    }
    for (let shift = 3; shift <= 31; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint');
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
  delimited(): number {
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
export function decodeRow(data: Uint8Array): DBValue[] {
  if (!(data instanceof Uint8Array)) throw new RowDecodeError('malformed Row: expected bytes');
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const r = new Reader(buf, 0, buf.length);
  const out: DBValue[] = [];
  while (r.pos < r.end) {
    const tag = r.varint32();
    if (tag !== TAG_ROW_COLUMN) {
      if (tag >>> 3 === 1) r.fail(`Row.Columns with wire type ${WIRE_NAMES[tag & 7]}`);
      r.fail(`unknown Row field ${tag >>> 3}`);
    }
    const end = r.delimited();
    out.push(decodeDBValue(r, end));
  }
  return out;
}

function decodeDBValue(r: Reader, end: number): DBValue {
  const outerEnd = r.end;
  r.end = end;
  let result: DBValue | undefined;
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
        if (end - r.pos < 4) r.fail('truncated Float32Value');
        result = { Float32Value: buf.readFloatLE(r.pos) };
        r.pos += 4;
        break;
      case 6:
        if (end - r.pos < 8) r.fail('truncated Float64Value');
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

function decodeTimestamp(r: Reader, end: number): Timestamp {
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
    } else if (tag === TAG_TS_NANOS) {
      nanos = r.varint32() | 0;
    } else {
      r.pos = tagAt;
      r.fail(`unexpected Timestamp field ${tag >>> 3} (wire type ${WIRE_NAMES[tag & 7]})`);
    }
  }
  r.end = outerEnd;
  // Range is not checked here: an out-of-range Timestamp is a per-row format error for the
  // server to count, not a malformed message.
  return { seconds, nanos };
}
