/**
 * Greenplum/PostgreSQL COPY CSV and TEXT codec (UTF-8).
 *
 * - `createLineEncoder` turns JS row arrays into text exactly as `COPY … TO` would write them,
 *   so `COPY … FROM` reads back the same values (NULL vs '' preserved).
 * - `RowParser` is a streaming Transform: bytes in, rows of `(string | null)[]` out. It works
 *   on bytes because every control character is single-byte ASCII, which never occurs inside a
 *   UTF-8 multi-byte sequence; values are decoded only once complete, so a character split
 *   across chunks is handled for free.
 * - `RowBoundaryScanner` finds row terminators (tracking CSV quote state) and is shared by the
 *   parser and by the export pipeline, which cuts objects only on row boundaries.
 */
import { Transform, TransformCallback } from 'node:stream';
import { FormatOptions, ResolvedFormat, resolveFormat } from './format';

/** A value the encoder accepts. Buffer = bytea (written as `\x<hex>`), Date = ISO 8601 text. */
export type CodecValue = string | number | bigint | boolean | Date | Buffer | Uint8Array | null | undefined;
/** A parsed row: text of each field, or null for SQL NULL. */
export type ParsedRow = (string | null)[];

export class CodecError extends Error {
  readonly code = 'OSS_CODEC';
  constructor(message: string, readonly row?: number) {
    super(message);
    this.name = 'CodecError';
  }
}

function valueText(v: Exclude<CodecValue, null | undefined>): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return '\\x' + v.toString('hex');
  if (v instanceof Uint8Array) return '\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  return JSON.stringify(v);
}

export interface LineEncoder {
  readonly format: ResolvedFormat;
  /** One row with its terminator. */
  encodeRow(values: readonly CodecValue[]): string;
  /** The header line (column names, quoted like values) with its terminator. */
  encodeHeader(names: readonly string[]): string;
}

export function createLineEncoder(options: FormatOptions | ResolvedFormat): LineEncoder {
  const f = 'newline' in options && 'quote' in options && typeof options.header === 'boolean' && options.escape !== undefined
    ? (options as ResolvedFormat) : resolveFormat(options as FormatOptions);
  const nl = f.newline === 'LF' ? '\n' : f.newline === 'CR' ? '\r' : '\r\n';
  const d = f.delimiter;
  let encodeValue: (s: string) => string;
  if (f.format === 'text') {
    // COPY TEXT escapes backslash, the delimiter and the control characters it would otherwise misread.
    const special = new RegExp(`[\\\\\\n\\r\\t\\b\\f\\v${d.replace(/[\\\]^-]/g, '\\$&')}]`, 'g');
    const map: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
    encodeValue = (s) => s.replace(special, (c) => map[c] ?? '\\' + c);
  } else {
    const q = f.quote;
    const e = f.escape;
    const needs = (s: string) =>
      s === f.nullString || s.includes(d) || s.includes(q) || s.includes('\n') || s.includes('\r') || (e !== q && s.includes(e)) || s === '\\.';
    const inner = e === q ? (s: string) => s.split(q).join(q + q) : (s: string) => s.split(e).join(e + e).split(q).join(e + q);
    encodeValue = (s) => (needs(s) ? q + inner(s) + q : s);
  }
  const encodeRow = (values: readonly CodecValue[]): string => {
    let out = '';
    for (let i = 0; i < values.length; i++) {
      if (i > 0) out += d;
      const v = values[i];
      out += v === null || v === undefined ? f.nullString : encodeValue(valueText(v));
    }
    return out + nl;
  };
  const encodeHeader = (names: readonly string[]): string => {
    if (f.format === 'text') return names.map((n) => encodeValue(n)).join(d) + nl;
    // A header name equal to the null string must still be quoted so it reads as text.
    return names.map((n) => encodeValue(n)).join(d) + nl;
  };
  return { format: f, encodeRow, encodeHeader };
}

/** Encodes a whole array of rows (convenience for tests and small outputs). */
export function encodeRows(rows: readonly (readonly CodecValue[])[], options: FormatOptions, columns?: readonly string[]): string {
  const enc = createLineEncoder(options);
  let out = enc.format.header && columns ? enc.encodeHeader(columns) : '';
  for (const r of rows) out += enc.encodeRow(r);
  return out;
}

/**
 * Object-mode in (row arrays), bytes out, in chunks of about `chunkBytes` (default 64 KiB:
 * COPY and gzip are much faster with large writes than with one row per write).
 */
export class RowEncoderStream extends Transform {
  private readonly enc: LineEncoder;
  private pending = '';
  private readonly chunkChars: number;
  rows = 0;
  constructor(options: FormatOptions, opts: { columns?: readonly string[]; chunkBytes?: number } = {}) {
    super({ writableObjectMode: true, readableObjectMode: false });
    this.enc = createLineEncoder(options);
    this.chunkChars = opts.chunkBytes ?? 65536;
    if (this.enc.format.header) {
      if (!opts.columns) throw new CodecError('header: true needs the column names');
      this.pending = this.enc.encodeHeader(opts.columns);
    }
  }
  override _transform(row: readonly CodecValue[], _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (!Array.isArray(row)) throw new CodecError(`row ${this.rows + 1} is not an array`, this.rows + 1);
      this.pending += this.enc.encodeRow(row);
      this.rows++;
      if (this.pending.length >= this.chunkChars) {
        this.push(Buffer.from(this.pending, 'utf8'));
        this.pending = '';
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    if (this.pending) this.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
    cb();
  }
}

/**
 * Finds row terminators in a byte stream. For CSV it tracks quote state (a quoted value may
 * contain newlines); in TEXT every raw terminator ends a row because COPY writes a newline
 * inside a value as `\n`. For CRLF the terminator byte is the LF (the CR is stripped by the
 * row parser; export passes it through).
 */
export class RowBoundaryScanner {
  private inQuote = false;
  private pendingEscape = false;
  readonly term: number;
  private readonly quote: number;
  private readonly escape: number;
  private readonly csv: boolean;
  constructor(f: ResolvedFormat) {
    this.term = f.newline === 'CR' ? 0x0d : 0x0a;
    this.csv = f.format === 'csv';
    this.quote = this.csv ? f.quote.charCodeAt(0) : -1;
    this.escape = this.csv ? f.escape.charCodeAt(0) : -1;
  }
  // Cache of the next quote position in the current chunk: without it every row of a chunk
  // with no quotes would rescan the rest of the chunk (quadratic in rows per chunk).
  private qBuf: Uint8Array | null = null;
  private qFrom = 0;
  private qAt = -1;
  private nextQuote(buf: Uint8Array, i: number): number {
    if (buf === this.qBuf && i >= this.qFrom && (this.qAt === -1 || this.qAt >= i)) return this.qAt;
    this.qBuf = buf;
    this.qFrom = i;
    this.qAt = buf.indexOf(this.quote, i);
    return this.qAt;
  }

  /** Index of the next row terminator at or after `from`, or -1 (state carried to the next chunk). */
  next(buf: Uint8Array, from: number): number {
    const len = buf.length;
    let i = from;
    if (!this.csv) return i < len ? buf.indexOf(this.term, i) : -1;
    const q = this.quote;
    const e = this.escape;
    while (i < len) {
      if (!this.inQuote) {
        const t = buf.indexOf(this.term, i);
        const qi = this.nextQuote(buf, i);
        if (qi === -1 || (t !== -1 && t < qi)) return t;
        this.inQuote = true;
        i = qi + 1;
        continue;
      }
      if (this.pendingEscape) {
        this.pendingEscape = false;
        i++;
        continue;
      }
      if (e === q) {
        const qi = buf.indexOf(q, i);
        if (qi === -1) return -1;
        this.inQuote = false;
        i = qi + 1;
        continue;
      }
      const c = buf[i];
      if (c === e) this.pendingEscape = true;
      else if (c === q) this.inQuote = false;
      i++;
    }
    return -1;
  }
  /** True when the bytes seen so far end outside a quoted value. */
  get atRowBoundaryState(): boolean {
    return !this.inQuote && !this.pendingEscape;
  }
}

const TEXT_ESCAPES: Record<number, number> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x76: 11 };

function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}
function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Whether the raw (still escaped) field row[start, start+len) is the NULL string, as COPY decides it. */
function isNullText(row: Uint8Array, start: number, len: number, nullBytes: Buffer): boolean {
  return len === nullBytes.length && Buffer.from(row.buffer, row.byteOffset + start, len).equals(nullBytes);
}

/** Parses one TEXT row (without its terminator) like PostgreSQL's CopyReadAttributesText. */
function parseTextRow(row: Uint8Array, f: ResolvedFormat): ParsedRow {
  const out: ParsedRow = [];
  const d = f.delimiter.charCodeAt(0);
  const nullBytes = Buffer.from(f.nullString, 'utf8');
  const bytes = Buffer.allocUnsafe(row.length);
  let i = 0;
  for (;;) {
    let n = 0;
    const start = i;
    let sawEscape = false;
    while (i < row.length && row[i] !== d) {
      const c = row[i];
      if (c === 0x5c && i + 1 < row.length) {
        sawEscape = true;
        const c2 = row[i + 1];
        i += 2;
        if (isOctal(c2)) {
          let v = c2 - 0x30;
          if (i < row.length && isOctal(row[i])) {
            v = v * 8 + (row[i++] - 0x30);
            if (i < row.length && isOctal(row[i])) v = v * 8 + (row[i++] - 0x30);
          }
          bytes[n++] = v & 0xff;
        } else if (c2 === 0x78 && i < row.length && hexVal(row[i]) >= 0) {
          let v = hexVal(row[i++]);
          if (i < row.length && hexVal(row[i]) >= 0) v = v * 16 + hexVal(row[i++]);
          bytes[n++] = v;
        } else {
          bytes[n++] = TEXT_ESCAPES[c2] ?? c2;
        }
        continue;
      }
      bytes[n++] = c;
      i++;
    }
    const rawLen = i - start;
    // NULL is recognised on the raw (still escaped) text, as PostgreSQL does.
    if (isNullText(row, start, rawLen, nullBytes)) {
      out.push(null);
    } else {
      out.push(sawEscape || n !== rawLen ? bytes.toString('utf8', 0, n) : Buffer.from(row.buffer, row.byteOffset + start, rawLen).toString('utf8'));
    }
    if (i >= row.length) break;
    i++; // delimiter
  }
  return out;
}

/** Parses one CSV row (complete, without its terminator) like PostgreSQL's CopyReadAttributesCSV. */
function parseCsvRow(row: Uint8Array, f: ResolvedFormat): ParsedRow {
  const out: ParsedRow = [];
  const d = f.delimiter.charCodeAt(0);
  const q = f.quote.charCodeAt(0);
  const e = f.escape.charCodeAt(0);
  const nullBytes = Buffer.from(f.nullString, 'utf8');
  const bytes = Buffer.allocUnsafe(row.length);
  let i = 0;
  for (;;) {
    let n = 0;
    const start = i;
    let quoted = false;
    let inQuote = false;
    while (i < row.length) {
      const c = row[i];
      if (inQuote) {
        if (c === e && i + 1 < row.length && (row[i + 1] === q || row[i + 1] === e) && (e !== q || row[i + 1] === q)) {
          bytes[n++] = row[i + 1];
          i += 2;
          continue;
        }
        if (c === q) {
          inQuote = false;
          i++;
          continue;
        }
        bytes[n++] = c;
        i++;
        continue;
      }
      if (c === d) break;
      if (c === q) {
        inQuote = true;
        quoted = true;
        i++;
        continue;
      }
      bytes[n++] = c;
      i++;
    }
    if (inQuote) throw new CodecError('unterminated CSV quoted field');
    const rawLen = i - start;
    if (!quoted && isNullText(row, start, rawLen, nullBytes)) {
      out.push(null);
    } else {
      out.push(bytes.toString('utf8', 0, n));
    }
    if (i >= row.length) break;
    i++; // delimiter
  }
  return out;
}

/**
 * Incremental row splitter + parser without stream machinery: `feed` bytes, get rows through
 * the callback. Skips the header line when `header` is true. A final row without a terminator
 * is accepted, as COPY does.
 */
class RowParserCore {
  readonly f: ResolvedFormat;
  private readonly scanner: RowBoundaryScanner;
  private carry: Buffer[] = [];
  private carryLen = 0;
  private skipHeader: boolean;
  private readonly parse: (row: Uint8Array, f: ResolvedFormat) => ParsedRow;
  /** Rows parsed so far (header excluded). */
  rows = 0;
  constructor(options: FormatOptions) {
    this.f = resolveFormat(options);
    this.scanner = new RowBoundaryScanner(this.f);
    this.skipHeader = this.f.header;
    this.parse = this.f.format === 'csv' ? parseCsvRow : parseTextRow;
  }
  private emitRow(raw: Uint8Array, onRow: (row: ParsedRow) => void): void {
    let end = raw.length;
    if (this.f.newline === 'CRLF' && end > 0 && raw[end - 1] === 0x0d) end--;
    const row = raw.subarray(0, end);
    if (this.skipHeader) {
      this.skipHeader = false;
      return;
    }
    let parsed: ParsedRow;
    try {
      parsed = this.parse(row, this.f);
    } catch (err) {
      throw new CodecError(`row ${this.rows + 1}: ${(err as Error).message}`, this.rows + 1);
    }
    this.rows++;
    onRow(parsed);
  }
  feed(chunk: Buffer, onRow: (row: ParsedRow) => void): void {
    let from = 0;
    // Scan only the new bytes: the scanner already consumed the carried ones.
    let t = this.scanner.next(chunk, 0);
    while (t !== -1) {
      if (this.carryLen > 0) {
        this.carry.push(chunk.subarray(from, t));
        const whole = Buffer.concat(this.carry);
        this.carry = [];
        this.carryLen = 0;
        this.emitRow(whole, onRow);
      } else {
        this.emitRow(chunk.subarray(from, t), onRow);
      }
      from = t + 1;
      t = this.scanner.next(chunk, from);
    }
    if (from < chunk.length) {
      this.carry.push(chunk.subarray(from));
      this.carryLen += chunk.length - from;
    }
  }
  end(onRow: (row: ParsedRow) => void): void {
    if (this.carryLen > 0) {
      if (!this.scanner.atRowBoundaryState) throw new CodecError(`row ${this.rows + 1}: unterminated CSV quoted field at end of data`, this.rows + 1);
      const whole = Buffer.concat(this.carry);
      this.carry = [];
      this.carryLen = 0;
      this.emitRow(whole, onRow);
    }
  }
}

/**
 * Streaming parser: bytes in, `ParsedRow` objects out (or arrays of `batchSize` rows, to cut
 * per-object stream overhead).
 */
export class RowParser extends Transform {
  private readonly core: RowParserCore;
  private batch: ParsedRow[] = [];
  private readonly batchSize: number;
  private readonly onRow: (row: ParsedRow) => void;
  constructor(options: FormatOptions, opts: { batchSize?: number } = {}) {
    super({ readableObjectMode: true, writableObjectMode: false, readableHighWaterMark: 64 });
    this.core = new RowParserCore(options);
    this.batchSize = opts.batchSize ?? 0;
    this.onRow = this.batchSize > 0
      ? (r) => {
          this.batch.push(r);
          if (this.batch.length >= this.batchSize) {
            this.push(this.batch);
            this.batch = [];
          }
        }
      : (r) => {
          this.push(r);
        };
  }
  /** Rows emitted so far (header excluded). */
  get rows(): number {
    return this.core.rows;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.core.feed(chunk, this.onRow);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.core.end(this.onRow);
      if (this.batch.length) this.push(this.batch);
      this.batch = [];
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

/** Parses a whole buffer (convenience for tests and small inputs). */
export function parseRows(data: Buffer | string, options: FormatOptions): ParsedRow[] {
  const core = new RowParserCore(options);
  const rows: ParsedRow[] = [];
  const push = (r: ParsedRow) => rows.push(r);
  core.feed(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, push);
  core.end(push);
  return rows;
}

