// Values as PostgreSQL COPY input: column kinds, the growable output buffer, and the pure
// renderings of spec §7 "Our rule (server)" shared by the text and binary row renderers:
//  * integers as decimal text, int64 never through a JS number above 2^53;
//  * Float32Value as the shortest decimal that survives a float32 round trip; NaN/±Infinity;
//  * TimeStampValue in UTC as YYYY-MM-DD HH:MM:SS.ffffff (µs, truncated); date/time columns
//    take their part, timestamptz/timetz get +00; out of range is a format error.
import { isUtf8 } from 'node:buffer';
import { rawLineProblem, rawLineSyntax, type RawLineSyntax } from './raw-line-check';

/** How a target column wants a value rendered (by the column's base type). */
export const enum ColumnKind {
  Text = 0, // everything that is not special below
  Bytea = 1,
  Date = 2,
  Time = 3,
  TimeTz = 4,
  Timestamp = 5,
  TimestampTz = 6,
}

const OID_KIND: Record<number, ColumnKind> = { 17: ColumnKind.Bytea, 1082: ColumnKind.Date, 1083: ColumnKind.Time, 1266: ColumnKind.TimeTz, 1114: ColumnKind.Timestamp, 1184: ColumnKind.TimestampTz };

/** Column kind from the base type OID of a column (domains resolved to their base type). */
export function columnKindForOid(oid: number): ColumnKind {
  return OID_KIND[oid] ?? ColumnKind.Text;
}

/**
 * How a column is written in COPY BINARY, or None when the load must use text. Binary input
 * costs PostgreSQL about half the CPU of text input for numbers and timestamps, and
 * PostgreSQL's CPU is what limits a load on a small machine.
 */
export const enum BinaryKind {
  None = 0,
  Int2 = 1,
  Int4 = 2,
  Int8 = 3,
  Float4 = 4,
  Float8 = 5,
  Text = 6, // text, varchar, bpchar: the value's text, unescaped
  Bytea = 7,
  Timestamp = 8, // timestamp and timestamptz: µs since 2000-01-01 UTC
  Date = 9,
  Time = 10,
}

const OID_BINARY: Record<number, BinaryKind> = {
  21: BinaryKind.Int2,
  23: BinaryKind.Int4,
  20: BinaryKind.Int8,
  700: BinaryKind.Float4,
  701: BinaryKind.Float8,
  25: BinaryKind.Text,
  1043: BinaryKind.Text,
  1042: BinaryKind.Text,
  17: BinaryKind.Bytea,
  1114: BinaryKind.Timestamp,
  1184: BinaryKind.Timestamp,
  1082: BinaryKind.Date,
  1083: BinaryKind.Time,
};

export function binaryKindForOid(oid: number): BinaryKind {
  return OID_BINARY[oid] ?? BinaryKind.None;
}

/** COPY BINARY file header (signature, flags, no extension) and trailer. */
export const BINARY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
export const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** Malformed protobuf bytes or a wrong row width: a protocol error (INVALID_ARGUMENT). */
export class RowProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowProtocolError';
  }
}

/** A value PostgreSQL could not accept (NUL, invalid UTF-8, Timestamp out of range): rejects one row. */
export class ValueFormatError extends Error {
  constructor(readonly column: string, message: string) {
    super(message);
    this.name = 'ValueFormatError';
  }
}

/** Growable output buffer of COPY text. Append-only between resets, so slices handed to a stream stay valid. */
export class CopyTextBuffer {
  buf: Buffer;
  pos = 0;
  /** `initial`: a size in bytes, or a buffer to write into (one no longer used elsewhere). */
  constructor(initial: number | Buffer = 1 << 20) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
  }
  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    // The old buffer may still be referenced by a pending socket write; it is not reused.
    this.buf = next;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  /** Decimal digits of a safe integer, without making a string. */
  int(n: number): void {
    this.ensure(21);
    const buf = this.buf;
    if (n < 0) {
      buf[this.pos++] = 45; // '-'
      n = -n;
    }
    if (n < 10) {
      buf[this.pos++] = 48 + n;
      return;
    }
    let digits = 0;
    for (let t = n; t >= 1; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 1) {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + (n - q * 10);
      n = q;
    }
  }
  /** Two digits, zero-padded (0..99). */
  int2(n: number): void {
    const q = (n / 10) | 0;
    this.buf[this.pos++] = 48 + q;
    this.buf[this.pos++] = 48 + n - q * 10;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  /** Forgets everything (call only when no slice of the buffer is still in flight). */
  reset(): void {
    this.pos = 0;
  }
}

// ---- value rendering (pure, exported for unit tests) ------------------------------------

/** Shortest decimal that reads back as the same float32 (0.1f → "0.1", not "0.10000000149011612"). */
export function renderFloat32(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return 'Infinity';
  if (f === -Infinity) return '-Infinity';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  for (let p = 1; p < 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(Number(f.toPrecision(9)));
}

/** float8 text: JS's shortest round-trip form is also valid PostgreSQL float8 input. */
export function renderFloat64(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return 'Infinity';
  if (d === -Infinity) return '-Infinity';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  return String(d);
}

export const TIMESTAMP_MIN_SECONDS = -62135596800; // 0001-01-01T00:00:00Z
export const TIMESTAMP_MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/**
 * Renders a google.protobuf.Timestamp (UTC) for a column of the given kind, or throws a
 * message string's Error when out of range. Pure: civil-from-days arithmetic, no Date.
 */
export function renderTimestamp(seconds: number, nanos: number, kind: ColumnKind): string {
  if (!Number.isInteger(seconds) || seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS) {
    throw new Error(`Timestamp seconds ${seconds} out of range (years 1..9999; milliseconds in the seconds field?)`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999999999) throw new Error(`Timestamp nanos ${nanos} out of range 0..999999999`);
  let days = Math.floor(seconds / 86400);
  const sod = seconds - days * 86400;
  // Howard Hinnant's civil_from_days.
  days += 719468;
  const era = Math.floor(days / 146097);
  const doe = days - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const date = String(y).padStart(4, '0') + '-' + pad2(m) + '-' + pad2(d);
  const hh = Math.floor(sod / 3600);
  const mi = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  const time = pad2(hh) + ':' + pad2(mi) + ':' + pad2(ss) + '.' + String(Math.floor(nanos / 1000)).padStart(6, '0');
  switch (kind) {
    case ColumnKind.Date:
      return date;
    case ColumnKind.Time:
      return time;
    case ColumnKind.TimeTz:
      return time + '+00';
    case ColumnKind.TimestampTz:
      return date + ' ' + time + '+00';
    default:
      return date + ' ' + time;
  }
}

/**
 * Raw-line formats (OpenRequest `csv` / `delimited`): each RowData.Data is one line of text.
 * Appends it with a terminating newline; NUL, invalid UTF-8 or an embedded line break
 * (which would shift PostgreSQL's line numbers) reject the row, and so does anything that
 * would end the COPY early or join rows (`\.`, see raw-line-check.ts).
 */
export function appendRawLine(src: Uint8Array, start: number, end: number, out: CopyTextBuffer, syntax: RawLineSyntax | boolean): number {
  if (typeof syntax === 'boolean') syntax = rawLineSyntax({ kind: syntax ? 'csv' : 'delimited' });
  const allowQuotedNewlines = syntax.csv;
  while (end > start && (src[end - 1] === 10 || src[end - 1] === 13)) end--;
  const line = src.subarray(start, end);
  if (line.includes(0)) throw new ValueFormatError('', 'invalid byte sequence for encoding "UTF8": 0x00 (NUL byte)');
  if (!allowQuotedNewlines && (line.includes(10) || line.includes(13))) throw new ValueFormatError('', 'line break inside a delimited line');
  // PostgreSQL counts a CR inside a quoted csv field in ways that depend on the data's first
  // line ending; refusing it keeps error line numbers exact.
  if (line.includes(13)) throw new ValueFormatError('', 'carriage return inside a csv line is not supported');
  if (!isUtf8(line)) throw new ValueFormatError('', 'invalid byte sequence for encoding "UTF8"');
  const problem = rawLineProblem(line, syntax);
  if (problem) throw new ValueFormatError('', problem);
  out.ensure(line.length + 1);
  out.buf.set(line, out.pos);
  out.pos += line.length;
  out.buf[out.pos++] = 10;
  let breaks = 0;
  for (let i = line.indexOf(10); i >= 0; i = line.indexOf(10, i + 1)) breaks++;
  return breaks; // extra physical lines: PostgreSQL numbers csv errors by physical line
}
