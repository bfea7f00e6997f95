/**
 * COPY format options shared by the codec, the export/import pipelines and the external-table
 * DDL builder. Defaults follow PostgreSQL/Greenplum COPY:
 *   text: delimiter TAB, null `\N`, escape `\` (COPY TEXT always escapes with backslash)
 *   csv : delimiter `,`, quote `"`, escape = quote, null = unquoted empty string
 */
export type CopyFormat = 'csv' | 'text';
export type Newline = 'LF' | 'CR' | 'CRLF';

export interface FormatOptions {
  format: CopyFormat;
  /** One single-byte character. Default TAB (text) or `,` (csv). */
  delimiter?: string;
  /** csv only: one single-byte character. Default `"`. */
  quote?: string;
  /** csv only: one single-byte character. Default = quote. (TEXT always uses backslash.) */
  escape?: string;
  /** Default `\N` (text) or `` (csv). */
  nullString?: string;
  /** First line of every object holds the column names. Default false. */
  header?: boolean;
  /** Row terminator written on export; import accepts any of them (COPY detects it). Default LF. */
  newline?: Newline;
  /** Only UTF-8 is supported. */
  encoding?: 'UTF8' | 'UTF-8' | 'utf8' | 'utf-8';
}

export interface ResolvedFormat {
  format: CopyFormat;
  delimiter: string;
  quote: string;
  escape: string;
  nullString: string;
  header: boolean;
  newline: Newline;
}

/** A format option was invalid. `option` names it; the message says what is allowed. */
export class FormatOptionError extends Error {
  readonly code = 'OSS_FORMAT';
  constructor(readonly option: string, message: string) {
    super(message);
    this.name = 'FormatOptionError';
  }
}

function singleByte(option: string, v: string): string {
  if (Buffer.byteLength(v, 'utf8') !== 1) {
    throw new FormatOptionError(option, `${option} must be one single-byte character, got ${JSON.stringify(v).slice(0, 20)}`);
  }
  if (v === '\r' || v === '\n') throw new FormatOptionError(option, `${option} cannot be a newline character`);
  return v;
}

/** Applies defaults and validates the way PostgreSQL's COPY does (same-char conflicts rejected). */
export function resolveFormat(o: FormatOptions): ResolvedFormat {
  if (o.format !== 'csv' && o.format !== 'text') {
    throw new FormatOptionError('format', `format must be 'csv' or 'text', got ${JSON.stringify(o.format)}`);
  }
  if (o.encoding !== undefined && !/^utf-?8$/i.test(o.encoding)) {
    throw new FormatOptionError('encoding', `only UTF8 encoding is supported, got ${JSON.stringify(o.encoding)}`);
  }
  const newline = o.newline ?? 'LF';
  if (newline !== 'LF' && newline !== 'CR' && newline !== 'CRLF') {
    throw new FormatOptionError('newline', `newline must be LF, CR or CRLF, got ${JSON.stringify(newline)}`);
  }
  const header = o.header ?? false;
  if (o.format === 'text') {
    if (o.quote !== undefined) throw new FormatOptionError('quote', 'quote is available only in CSV format');
    if (o.escape !== undefined && o.escape !== '\\') {
      throw new FormatOptionError('escape', 'TEXT format always escapes with backslash; escape is available only in CSV format');
    }
    const delimiter = singleByte('delimiter', o.delimiter ?? '\t');
    if (delimiter === '\\') throw new FormatOptionError('delimiter', 'delimiter cannot be backslash');
    const nullString = o.nullString ?? '\\N';
    if (/[\r\n]/.test(nullString)) throw new FormatOptionError('nullString', 'null string cannot contain newlines');
    if (nullString.includes(delimiter)) throw new FormatOptionError('nullString', 'null string cannot contain the delimiter');
    return { format: 'text', delimiter, quote: '', escape: '\\', nullString, header, newline };
  }
  const delimiter = singleByte('delimiter', o.delimiter ?? ',');
  const quote = singleByte('quote', o.quote ?? '"');
  const escape = singleByte('escape', o.escape ?? quote);
  if (delimiter === quote) throw new FormatOptionError('quote', 'delimiter and quote must be different');
  const nullString = o.nullString ?? '';
  if (/[\r\n]/.test(nullString)) throw new FormatOptionError('nullString', 'null string cannot contain newlines');
  if (nullString.includes(delimiter)) throw new FormatOptionError('nullString', 'null string cannot contain the delimiter');
  if (nullString.includes(quote)) throw new FormatOptionError('nullString', 'null string cannot contain the quote character');
  return { format: 'csv', delimiter, quote, escape, nullString, header, newline };
}

/** A standard SQL string literal: `'` doubled; E'' with doubled backslashes when needed. */
export function sqlLiteral(v: string): string {
  if (v.includes('\\')) return `E'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return `'${v.replace(/'/g, "''")}'`;
}

/** `"name"` with `"` doubled; rejects NUL. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new FormatOptionError('identifier', 'identifier must be non-empty and contain no NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The WITH (...) option list for PostgreSQL COPY. COPY itself always writes LF; other
 * newlines are produced by the export pipeline, and COPY FROM detects them on import.
 * `header` is passed only when asked (the pipelines decide per object).
 */
export function copyWithOptions(f: ResolvedFormat, header = false): string {
  const parts = [`FORMAT ${f.format}`, `DELIMITER ${sqlLiteral(f.delimiter)}`, `NULL ${sqlLiteral(f.nullString)}`];
  if (f.format === 'csv') parts.push(`QUOTE ${sqlLiteral(f.quote)}`, `ESCAPE ${sqlLiteral(f.escape)}`);
  if (header) parts.push('HEADER true');
  parts.push(`ENCODING 'UTF8'`);
  return `(${parts.join(', ')})`;
}

/** Bytes of the row terminator. */
export function newlineBytes(n: Newline): Buffer {
  return Buffer.from(n === 'LF' ? '\n' : n === 'CR' ? '\r' : '\r\n');
}
