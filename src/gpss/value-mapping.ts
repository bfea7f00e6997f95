// JS values → GPSS DBValues by column type (DESIGN §3 "Rows in messages", spec §7), encoded
// straight into Row bytes through RowWriter: no DBValue objects on the hot path.
//
// | Column type                              | Accepted JS values → DBValue                         |
// |------------------------------------------|------------------------------------------------------|
// | smallint, integer (int2/int4, serial)    | integer number, bigint, decimal text → Int32 (range) |
// | bigint (int8, bigserial)                 | safe-integer number, bigint, decimal text → Int64    |
// | real / double precision (float4/float8)  | number, bigint, numeric text, 'NaN'/'Infinity'        |
// | bytea                                    | Buffer, Uint8Array, ArrayBuffer, {type:'Buffer',data},|
// |                                          | '\x…' hex text → Bytes                               |
// | timestamp / time without time zone       | Date (its UTC wall clock), ISO-8601 text, epoch      |
// |                                          | milliseconds (number) → TimeStamp{seconds, nanos}     |
// | everything else (numeric, boolean, date, | string as is; number/bigint as decimal text; boolean  |
// |  timestamptz, uuid, json, arrays, …)     | 'true'/'false'; Date → ISO text; Buffer → Bytes;     |
// |                                          | arrays → PostgreSQL array literal for array columns,  |
// |                                          | JSON otherwise; objects → JSON                       |
//
// null, undefined and missing keys → NullValue. Column names match exactly (case-sensitive).
// Timestamp text without an offset is taken as the wall clock; with an offset (Z, +08:00) it is
// converted to UTC. Fractions keep up to nanoseconds (the server truncates to microseconds).
import type { ColumnInfo } from './client';
import type { PackedRows } from './packed-rows';
import { INT32_MAX, INT32_MIN, RowWriter, TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS } from './row-codec';

/** A JS value that cannot be sent to its column. Fails one message, never the stream. */
export class RowValueError extends Error {
  readonly code = 'ROW_VALUE' as const;
  /** Column name (or the unknown key). */
  readonly column: string;
  /** A short, safe preview of the offending value. */
  readonly value: string;
  constructor(column: string, value: unknown, message: string) {
    super(message);
    this.name = 'RowValueError';
    this.column = column;
    this.value = previewValue(value);
  }
}

export interface RowEncoderOptions {
  /** Ignore object keys that name no column instead of failing the row. Default false. */
  ignoreUnknownKeys?: boolean;
}

export interface RowEncoder {
  /** Column names in table (DescribeTable) order: the order of encodeArray's values. */
  columnNames: string[];
  encodeObject(row: Record<string, unknown>): Buffer;
  encodeArray(values: unknown[]): Buffer;
  /**
   * A message's rows packed (stream mode holds them until their commit): beginRun(), then
   * placeObject/placeArray per row, then endRun() (or abortRun() when a row failed). Same bytes
   * and errors as encodeObject/encodeArray; no await between begin and end.
   */
  /** expectedRows sizes the run's buffer (default 1). */
  beginRun(expectedRows?: number): void;
  placeObject(row: Record<string, unknown>): void;
  placeArray(values: unknown[]): void;
  endRun(): PackedRows;
  abortRun(): void;
}

/** How a column's values are sent. */
export type ValueKind = 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'bytes' | 'timestamp' | 'time' | 'text' | 'json' | 'array' | 'epochText' | 'date';

/** Short, safe description of a value for error messages (never a whole payload). */
function previewValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 32 ? v.slice(0, 32) + '…' : v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'an invalid Date' : `Date ${v.toISOString()}`;
  if (v instanceof Uint8Array) return `${Buffer.isBuffer(v) ? 'a Buffer' : 'a Uint8Array'} of ${v.length} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

/**
 * Classifies a DescribeTable type name. Accepts lib/pq style (`INT4`, `_INT4`, `VARCHAR`) and
 * PostgreSQL style (`integer`, `integer[]`, `timestamp(3) without time zone`), any case.
 */
export function valueKind(databaseType: string): ValueKind {
  let t = String(databaseType ?? '').trim().toLowerCase();
  if (t.startsWith('_') || t.endsWith('[]') || t === 'array') return 'array';
  t = t.replace(/\(\s*\d+\s*(,\s*\d+\s*)?\)/g, '').replace(/\s+/g, ' ').trim();
  switch (t) {
    case 'int2':
    case 'smallint':
    case 'smallserial':
    case 'serial2':
      return 'int16';
    case 'int':
    case 'int4':
    case 'integer':
    case 'serial':
    case 'serial4':
      return 'int32';
    case 'int8':
    case 'bigint':
    case 'bigserial':
    case 'serial8':
      return 'int64';
    case 'float4':
    case 'real':
      return 'float32';
    case 'float8':
    case 'double precision':
    case 'float':
      return 'float64';
    case 'bytea':
      return 'bytes';
    case 'timestamp':
    case 'timestamp without time zone':
      return 'timestamp';
    case 'time':
    case 'time without time zone':
      return 'time';
    case 'json':
    case 'jsonb':
      return 'json';
    case 'timestamptz':
    case 'timestamp with time zone':
      return 'epochText';
    case 'date':
      return 'date';
    default:
      return 'text';
  }
}

const EXPECTED: Record<ValueKind, string> = {
  int16: 'an integer in -32768..32767 (number, bigint or decimal text)',
  int32: 'an integer in -2147483648..2147483647 (number, bigint or decimal text)',
  int64: 'a 64-bit integer (safe-integer number, bigint or decimal text)',
  float32: 'a number (or numeric text)',
  float64: 'a number (or numeric text)',
  bytes: "a Buffer, Uint8Array or '\\x' hex text",
  timestamp: 'a Date, ISO-8601 text or epoch milliseconds (years 1..9999)',
  time: "a time of day 'HH:MM[:SS[.fraction]]', a Date, ISO-8601 text or epoch milliseconds",
  text: 'text (or a number, bigint, boolean, Date, object)',
  json: 'a JSON-serialisable value',
  array: 'an array (or array literal text)',
  epochText: 'a Date, text or epoch milliseconds',
  date: 'a Date, text or epoch milliseconds',
};

type ValueWriter = (w: RowWriter, v: unknown, col: Column) => void;

interface Column {
  name: string;
  databaseType: string;
  kind: ValueKind;
  write: ValueWriter;
}

function fail(col: Column, v: unknown, why?: string): never {
  throw new RowValueError(
    col.name,
    v,
    `column "${col.name}" (${col.databaseType}): expected ${EXPECTED[col.kind]}, got ${previewValue(v)}${why ? ` (${why})` : ''}`,
  );
}

// ---- integers -------------------------------------------------------------------------------

const DECIMAL = /^\s*[-+]?\d+\s*$/;

function intWriter(min: number, max: number): ValueWriter {
  return (w, v, col) => {
    let n: number;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) fail(col, v, 'not an integer');
      n = v;
    } else if (typeof v === 'bigint') {
      if (v < BigInt(min) || v > BigInt(max)) fail(col, v, 'out of range');
      n = Number(v);
    } else if (typeof v === 'string' && DECIMAL.test(v)) {
      n = Number(v);
    } else return fail(col, v);
    if (n < min || n > max) fail(col, v, 'out of range');
    w.int32(n);
  };
}

const writeInt64: ValueWriter = (w, v, col) => {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) fail(col, v, Number.isInteger(v) ? 'above 2^53: pass a string or bigint' : 'not an integer');
    w.int64Number(v);
  } else if (typeof v === 'string') {
    if (w.int64String(v)) return;
    const t = v.trim().replace(/^\+/, '');
    if (t === v || !w.int64String(t)) fail(col, v, DECIMAL.test(v) ? 'out of range' : undefined);
  } else if (typeof v === 'bigint') {
    if (!w.int64BigInt(v)) fail(col, v, 'out of range');
  } else fail(col, v);
};

// ---- floats ---------------------------------------------------------------------------------

const FLOAT_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

function toFloat(v: unknown, col: Column): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    if (FLOAT_TEXT.test(v)) return Number(v);
    const t = v.trim().toLowerCase();
    if (t === 'nan') return NaN;
    if (t === 'infinity' || t === '+infinity' || t === 'inf') return Infinity;
    if (t === '-infinity' || t === '-inf') return -Infinity;
  }
  return fail(col, v);
}

const writeFloat64: ValueWriter = (w, v, col) => w.float64(toFloat(v, col));

const writeFloat32: ValueWriter = (w, v, col) => {
  const f = toFloat(v, col);
  if (Number.isFinite(f) && !Number.isFinite(Math.fround(f))) fail(col, v, 'overflows real (float4)');
  w.float32(f);
};

// ---- bytes ----------------------------------------------------------------------------------

function asBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (typeof v === 'object' && v !== null) {
    // A Buffer that went through JSON (Node-RED link/JSON nodes): {type: 'Buffer', data: [...]}.
    const o = v as { type?: unknown; data?: unknown };
    if (o.type === 'Buffer' && Array.isArray(o.data) && o.data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      return Buffer.from(o.data as number[]);
    }
  }
  return undefined;
}

const HEX = /^\\x([0-9a-fA-F]{2})*$/;

const writeBytes: ValueWriter = (w, v, col) => {
  const b = asBytes(v);
  if (b) return w.bytes(b);
  if (typeof v === 'string' && HEX.test(v)) return w.bytes(Buffer.from(v.slice(2), 'hex'));
  fail(col, v);
};

// ---- timestamps -----------------------------------------------------------------------------

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

const ISO_TS = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?\s*$/;
const TIME_OF_DAY = /^\s*(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*$/;

/** Scratch result of the timestamp parsers (no allocation per value). */
let TS_SECONDS = 0;
let TS_NANOS = 0;

function fractionToNanos(f: string | undefined): number {
  return f ? Number(f.padEnd(9, '0')) : 0;
}

/** Parses ISO-8601 / PostgreSQL timestamp text into TS_SECONDS/TS_NANOS; false if invalid. */
export function parseTimestampText(s: string): boolean {
  const m = ISO_TS.exec(s);
  if (!m) return false;
  const y = +m[1];
  const mo = +m[2];
  const d = +m[3];
  const hh = m[4] === undefined ? 0 : +m[4];
  const mi = m[5] === undefined ? 0 : +m[5];
  const ss = m[6] === undefined ? 0 : +m[6];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || hh > 23 || mi > 59 || ss > 59) return false;
  let seconds = daysFromCivil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
  const zone = m[8];
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2);
    const om = digits.length > 2 ? +digits.slice(2, 4) : 0;
    if (oh > 15 || om > 59) return false;
    seconds -= sign * (oh * 3600 + om * 60);
  }
  TS_SECONDS = seconds;
  TS_NANOS = fractionToNanos(m[7]);
  return seconds >= TIMESTAMP_MIN_SECONDS && seconds <= TIMESTAMP_MAX_SECONDS;
}

function setFromEpochMs(ms: number): boolean {
  if (!Number.isFinite(ms)) return false;
  const s = Math.floor(ms / 1000);
  // Round to whole nanoseconds: ms fractions (e.g. 0.001 = 1 µs) are allowed.
  let nanos = Math.round((ms - s * 1000) * 1e6);
  let seconds = s;
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  TS_SECONDS = seconds === 0 ? 0 : seconds;
  TS_NANOS = nanos;
  return seconds >= TIMESTAMP_MIN_SECONDS && seconds <= TIMESTAMP_MAX_SECONDS;
}

/** Date / epoch ms / ISO text → TS_SECONDS/TS_NANOS; false if not a valid in-range timestamp. */
function toTimestamp(v: unknown): boolean {
  if (v instanceof Date) return setFromEpochMs(v.getTime());
  if (typeof v === 'number') return setFromEpochMs(v);
  if (typeof v === 'string') return parseTimestampText(v);
  return false;
}

const writeTimestamp: ValueWriter = (w, v, col) => {
  if (!toTimestamp(v)) fail(col, v);
  w.timestamp(TS_SECONDS, TS_NANOS);
};

const writeTime: ValueWriter = (w, v, col) => {
  if (typeof v === 'string') {
    const m = TIME_OF_DAY.exec(v);
    if (m) {
      const hh = +m[1];
      const mi = +m[2];
      const ss = m[3] === undefined ? 0 : +m[3];
      if (hh > 23 || mi > 59 || ss > 59) fail(col, v);
      // The server renders the UTC time part of the timestamp (spec §7): 1970-01-01 + time.
      return w.timestamp(hh * 3600 + mi * 60 + ss, fractionToNanos(m[4]));
    }
  }
  writeTimestamp(w, v, col);
};

// ---- text kinds -----------------------------------------------------------------------------

function toJson(v: unknown, col: Column): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (err) {
    fail(col, v, `not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (s === undefined) fail(col, v, 'not JSON-serialisable');
  return s;
}

/** Common conversions to text; returns undefined for objects/arrays (kind-specific). */
function scalarText(v: unknown, col: Column): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'function':
    case 'symbol':
      return fail(col, v);
  }
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) fail(col, v);
    return v.toISOString();
  }
  return undefined;
}

const writeText: ValueWriter = (w, v, col) => {
  const s = scalarText(v, col);
  if (s !== undefined) return w.string(s);
  const b = asBytes(v);
  // Bytes go as BytesValue: the server stores their UTF-8 text in non-bytea columns (spec §7).
  if (b) return w.bytes(b);
  w.string(toJson(v, col));
};

const writeJson: ValueWriter = (w, v, col) => {
  if (typeof v === 'string') return w.string(v); // already JSON text
  w.string(toJson(v, col));
};

/** Epoch-ms numbers become ISO text for timestamptz and date columns; all else as text. */
const writeEpochText: ValueWriter = (w, v, col) => {
  if (typeof v === 'number') {
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) fail(col, v);
    const iso = d.toISOString();
    return w.string(col.kind === 'date' ? iso.slice(0, 10) : iso);
  }
  if (col.kind === 'date' && v instanceof Date) {
    if (Number.isNaN(v.getTime())) fail(col, v);
    return w.string(v.toISOString().slice(0, 10));
  }
  writeText(w, v, col);
};

/** PostgreSQL array literal: {1,2,NULL,"a \"b\""} (nested arrays for multi-dimensional). */
export function pgArrayLiteral(values: readonly unknown[], elementText: (v: unknown) => string): string {
  const parts: string[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (Array.isArray(v)) parts[i] = pgArrayLiteral(v, elementText);
    else parts[i] = '"' + elementText(v).replace(/[\\"]/g, '\\$&') + '"';
  }
  return '{' + parts.join(',') + '}';
}

const writeArray: ValueWriter = (w, v, col) => {
  if (Array.isArray(v)) {
    const text = pgArrayLiteral(v, (e) => {
      const s = scalarText(e, col);
      if (s !== undefined) return s;
      if (asBytes(e)) fail(col, v, 'bytes inside an array: use \\x hex text');
      return toJson(e, col);
    });
    return w.string(text);
  }
  writeText(w, v, col);
};

function writerFor(kind: ValueKind): ValueWriter {
  switch (kind) {
    case 'int16':
      return intWriter(-32768, 32767);
    case 'int32':
      return intWriter(INT32_MIN, INT32_MAX);
    case 'int64':
      return writeInt64;
    case 'float32':
      return writeFloat32;
    case 'float64':
      return writeFloat64;
    case 'bytes':
      return writeBytes;
    case 'timestamp':
      return writeTimestamp;
    case 'time':
      return writeTime;
    case 'json':
      return writeJson;
    case 'array':
      return writeArray;
    case 'epochText':
    case 'date':
      return writeEpochText;
    default:
      return writeText;
  }
}

// ---- the encoder ----------------------------------------------------------------------------

/**
 * Builds a row encoder for the columns DescribeTable returned. Every row carries all columns
 * in table order (spec §3.4): missing and null values are sent as NullValue.
 */
export function createRowEncoder(columns: readonly ColumnInfo[], options: RowEncoderOptions = {}): RowEncoder {
  if (!Array.isArray(columns) || columns.length === 0) throw new TypeError('createRowEncoder: the table has no columns');
  const cols: Column[] = columns.map((c) => {
    const kind = valueKind(c.databaseType);
    return { name: c.name, databaseType: c.databaseType, kind, write: writerFor(kind) };
  });
  const index = new Map<string, number>();
  cols.forEach((c, i) => {
    if (index.has(c.name)) throw new TypeError(`createRowEncoder: duplicate column name "${c.name}"`);
    index.set(c.name, i);
  });
  const n = cols.length;
  const ignoreUnknown = options.ignoreUnknownKeys === true;
  const writer = new RowWriter();
  const scratch: unknown[] = new Array(n).fill(undefined);

  /** Encodes one row: returns its view, or (inRun) adds it to the writer's open run and returns null. */
  function encodeValues(values: ArrayLike<unknown>, count: number, inRun: boolean): Buffer | null {
    // A toJSON() that encodes another row with this encoder would re-enter: use a fresh writer
    // (a run cannot: its rows must stay contiguous in this writer).
    if (inRun && writer.busy) throw new Error('row encoder re-entered while encoding a message');
    const w = writer.busy ? new RowWriter(256) : writer;
    w.begin();
    try {
      for (let i = 0; i < n; i++) {
        const v = i < count ? values[i] : undefined;
        if (v === null || v === undefined) w.null();
        else {
          const col = cols[i];
          col.write(w, v, col);
        }
      }
      if (!inRun) return w.finish();
      w.finishInRun();
      return null;
    } catch (err) {
      w.abort();
      throw err;
    }
  }

  return {
    columnNames: cols.map((c) => c.name),

    encodeObject(row: Record<string, unknown>): Buffer {
      return encodeObjectRow(row, false) as Buffer;
    },

    encodeArray(values: unknown[]): Buffer {
      return encodeArrayRow(values, false) as Buffer;
    },

    beginRun: (expectedRows?: number) => writer.beginRun(expectedRows),
    placeObject(row: Record<string, unknown>): void {
      encodeObjectRow(row, true);
    },
    placeArray(values: unknown[]): void {
      encodeArrayRow(values, true);
    },
    endRun: () => writer.endRun(),
    abortRun: () => writer.abortRun(),
  };

  function encodeObjectRow(row: Record<string, unknown>, inRun: boolean): Buffer | null {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new RowValueError('', row, `a row must be an object keyed by column name, got ${previewValue(row)}`);
    }
    // Re-entered (a toJSON encoding another row): the scratch array is in use.
    const values = writer.busy ? new Array<unknown>(n) : scratch;
    try {
      for (const key in row) {
        const i = index.get(key);
        if (i === undefined) {
          if (ignoreUnknown || !Object.prototype.hasOwnProperty.call(row, key)) continue;
          throw new RowValueError(key, row[key], `unknown column "${key}": the table has ${describeColumns(cols)}`);
        }
        values[i] = row[key];
      }
      return encodeValues(values, n, inRun);
    } finally {
      values.fill(undefined);
    }
  }

  function encodeArrayRow(values: unknown[], inRun: boolean): Buffer | null {
    if (!Array.isArray(values)) throw new RowValueError('', values, `a row must be an array of values, got ${previewValue(values)}`);
    if (values.length > n) {
      throw new RowValueError('', values, `the row has ${values.length} values but the table has ${n} columns (${describeColumns(cols)})`);
    }
    return encodeValues(values, values.length, inRun);
  }
}

function describeColumns(cols: readonly Column[]): string {
  const names = cols.slice(0, 12).map((c) => `"${c.name}"`);
  return `columns ${names.join(', ')}${cols.length > 12 ? `, … (${cols.length} in all)` : ''}`;
}
