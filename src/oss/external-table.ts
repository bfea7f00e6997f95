import crypto from 'node:crypto';
import { quoteIdent, resolveFormat, sqlLiteral, FormatOptionError } from './format';

/**
 * DDL builder for gpossext `oss://` external tables (spec/oss.md §1.2, §1.3, §1.7). Pure
 * functions: each returns `{ sql, redacted }` — `sql` to execute, `redacted` (id=XXX key=XXX)
 * for logs, status and errors — and throws `ExternalTableError` naming the invalid field.
 */
export interface OssLocation {
  /** Host only, e.g. `oss-cn-hangzhou-internal.aliyuncs.com` (an http(s):// scheme is stripped). */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  mode: 'prefix' | 'dir' | 'filepath';
  path: string;
  compression: 'none' | 'gzip';
  /** readable only */
  async?: boolean;
  /** writable + gzip: 1–9 */
  compressionLevel?: number;
  /** writable + gzip: 1–8 */
  parallelWorkers?: number;
  /** writable: MB per request, 1–128, ≤ fileMaxMB */
  flushBlockMB?: number;
  /** writable: MB per object, 8–4000 */
  fileMaxMB?: number;
  connectTimeoutS?: number;
  dnsCacheTimeoutS?: number;
  speedLimitBps?: number;
  speedTimeS?: number;
}

export interface ExternalTableDef {
  direction: 'readable' | 'writable';
  /** Generated name `^[a-z_][a-z0-9_]{0,62}$` (see `externalTableName`). */
  name: string;
  like: { schema: string; table: string };
  format: 'csv' | 'text';
  delimiter?: string;
  nullString?: string;
  quote?: string;
  escape?: string;
  /**
   * readable only: skip the first line. Greenplum skips it once per segment's data stream and
   * oss_ext concatenates the objects a segment reads, so it is right only when every segment
   * reads at most one object (the import plan checks that).
   */
  header?: boolean;
  /** readable only: row terminator; omitted = Greenplum detects it from the first row. */
  newline?: 'LF' | 'CR' | 'CRLF';
  /** readable only: FILL MISSING FIELDS (short rows get NULLs in the trailing columns). */
  fillMissingFields?: boolean;
  /** readable only */
  reject?: { limit: number; unit: 'ROWS' | 'PERCENT'; logErrors: boolean };
  /** writable only */
  distributedBy?: string[] | 'RANDOMLY';
  /**
   * TEMP (default true): the table, and with it the LOCATION holding the AccessKey, lives only
   * in the session that created it and leaves the catalog when that session ends, even when
   * the DROP never runs (crash, lost connection). Greenplum 5/6 syntax: `CREATE [READABLE |
   * WRITABLE] EXTERNAL [TEMPORARY | TEMP] TABLE` — TEMP after EXTERNAL (`CREATE TEMP EXTERNAL
   * TABLE` is a syntax error, measured on Greenplum 6).
   */
  temporary?: boolean;
}

export interface BuiltSql {
  sql: string;
  redacted: string;
}

export class ExternalTableError extends Error {
  readonly code = 'OSS_DDL';
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'ExternalTableError';
  }
}

const NAME_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const PATH_RE = /^[A-Za-z0-9._/-]+$/;
// Whitespace separates options and `=` could fake a `name=` match (oss_ext finds an option by
// the first `name=` anywhere after the endpoint); quotes and backslash excluded as defence in depth.
const VALUE_RE = /^[^\s'"\\=]+$/;

function fail(field: string, message: string): never {
  throw new ExternalTableError(field, message);
}

/** Endpoint host: scheme stripped, lower-cased, no port or path. */
function normaliseOssEndpoint(endpoint: string): string {
  const host = String(endpoint ?? '').trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '').toLowerCase();
  if (!/^[a-z0-9.-]+$/.test(host) || host.startsWith('.') || host.startsWith('-')) {
    fail('endpoint', 'endpoint must be a host name such as oss-cn-hangzhou-internal.aliyuncs.com (letters, digits, "." and "-"; no port, path or spaces)');
  }
  return host;
}

function checkInt(field: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) fail(field, `${field} must be an integer from ${min} to ${max}, got ${String(v).slice(0, 20)}`);
  return v;
}

function checkCredential(field: 'accessKeyId' | 'accessKeySecret', v: string): string {
  // Never echo the value: it is (part of) a credential.
  if (typeof v !== 'string' || !VALUE_RE.test(v)) fail(field, `${field} is missing or contains whitespace, quotes, backslash or "="`);
  return v;
}

function checkPath(loc: OssLocation, direction: 'readable' | 'writable'): string {
  const p = loc.path;
  if (typeof p !== 'string' || p.length === 0) fail('path', `${loc.mode} must not be empty`);
  if (!PATH_RE.test(p)) fail('path', `${loc.mode} may contain only letters, digits, ".", "_", "-" and "/" (no spaces, quotes or "="), got ${JSON.stringify(p).slice(0, 80)}`);
  if (p.startsWith('/')) fail('path', `${loc.mode} must not start with "/"`);
  if (p.includes('//')) fail('path', `${loc.mode} must not contain "//"`);
  if (p.split('/').includes('..')) fail('path', `${loc.mode} must not contain ".." segments`);
  if (loc.mode === 'dir' && !p.endsWith('/')) fail('path', 'dir must end with "/"');
  if (loc.mode === 'filepath' && direction === 'writable') fail('mode', 'filepath works only for readable tables; use dir or prefix to export');
  return p;
}

/** The `oss://…` LOCATION text (unquoted) and its redacted form. */
export function buildOssLocation(loc: OssLocation, direction: 'readable' | 'writable'): BuiltSql {
  const endpoint = normaliseOssEndpoint(loc.endpoint);
  if (typeof loc.bucket !== 'string' || !BUCKET_RE.test(loc.bucket)) fail('bucket', 'bucket must be 3–63 characters of lower-case letters, digits and "-", starting and ending with a letter or digit');
  if (loc.mode !== 'prefix' && loc.mode !== 'dir' && loc.mode !== 'filepath') fail('mode', `mode must be prefix, dir or filepath, got ${JSON.stringify(loc.mode)}`);
  const path = checkPath(loc, direction);
  const id = checkCredential('accessKeyId', loc.accessKeyId);
  const key = checkCredential('accessKeySecret', loc.accessKeySecret);
  if (loc.compression !== 'none' && loc.compression !== 'gzip') fail('compression', `compression must be none or gzip, got ${JSON.stringify(loc.compression)}`);
  const writable = direction === 'writable';
  const gzipOut = writable && loc.compression === 'gzip';
  if (loc.async !== undefined && writable) fail('async', 'async applies to readable tables only');
  if (loc.async !== undefined && typeof loc.async !== 'boolean') fail('async', 'async must be true or false');
  if (loc.compressionLevel !== undefined && !gzipOut) fail('compressionLevel', 'compressionLevel applies to writable gzip tables only');
  if (loc.parallelWorkers !== undefined && !gzipOut) fail('parallelWorkers', 'parallelWorkers applies to writable gzip tables only');
  if (loc.flushBlockMB !== undefined && !writable) fail('flushBlockMB', 'flushBlockMB applies to writable tables only');
  if (loc.fileMaxMB !== undefined && !writable) fail('fileMaxMB', 'fileMaxMB applies to writable tables only');
  const level = checkInt('compressionLevel', loc.compressionLevel, 1, 9);
  const workers = checkInt('parallelWorkers', loc.parallelWorkers, 1, 8);
  const fileMax = checkInt('fileMaxMB', loc.fileMaxMB, 8, 4000);
  const flush = checkInt('flushBlockMB', loc.flushBlockMB, 1, 128);
  if (flush !== undefined && flush > (fileMax ?? 1024)) fail('flushBlockMB', `flushBlockMB (${flush}) must not exceed fileMaxMB (${fileMax ?? 1024})`);
  const connect = checkInt('connectTimeoutS', loc.connectTimeoutS, 1, 86400);
  const dns = checkInt('dnsCacheTimeoutS', loc.dnsCacheTimeoutS, 1, 86400);
  const speed = checkInt('speedLimitBps', loc.speedLimitBps, 1, 2 ** 31 - 1);
  const speedTime = checkInt('speedTimeS', loc.speedTimeS, 1, 86400);

  const head = [`oss://${endpoint}`, `${loc.mode}=${path}`];
  // No compressiontype for uncompressed data: the default is none everywhere, but the value
  // differs — Alibaba's docs write `none`, the archived oss_ext 2.0 (alibaba-archive/aliyun_oss_ext,
  // str_oss_compression[] in decompress_reader.c) accepts only `text` and refuses `none` with
  // "unknown compression type none" when a segment opens the table.
  const tail = [`bucket=${loc.bucket}`, ...(loc.compression === 'gzip' ? ['compressiontype=gzip'] : [])];
  if (loc.async !== undefined) tail.push(`async=${loc.async}`);
  if (level !== undefined) tail.push(`compressionlevel=${level}`);
  if (workers !== undefined) tail.push(`num_parallel_worker=${workers}`);
  if (fileMax !== undefined) tail.push(`oss_file_max_size=${fileMax}`);
  if (flush !== undefined) tail.push(`oss_flush_block_size=${flush}`);
  if (connect !== undefined) tail.push(`oss_connect_timeout=${connect}`);
  if (dns !== undefined) tail.push(`oss_dns_cache_timeout=${dns}`);
  if (speed !== undefined) tail.push(`oss_speed_limit=${speed}`);
  if (speedTime !== undefined) tail.push(`oss_speed_time=${speedTime}`);
  return {
    sql: [...head, `id=${id}`, `key=${key}`, ...tail].join(' '),
    redacted: [...head, 'id=XXX', 'key=XXX', ...tail].join(' '),
  };
}

function formatClause(def: ExternalTableDef): string {
  let f;
  try {
    f = resolveFormat({ format: def.format, delimiter: def.delimiter, nullString: def.nullString, quote: def.quote, escape: def.escape });
  } catch (err) {
    if (err instanceof FormatOptionError) fail(err.option, err.message);
    throw err;
  }
  // HEADER, NEWLINE and FILL MISSING FIELDS exist for readable tables only: Greenplum's
  // ProcessCopyOptions (src/backend/commands/copy.c) rejects them when unloading ("HEADER is
  // not yet supported for writable external tables", "newline currently available for data
  // loading only, not unloading", "fill missing fields only available for data loading"), so we
  // refuse them with a clear error before any SQL. Unlike PostgreSQL, GPDB allows HEADER in TEXT.
  const writable = def.direction === 'writable';
  if (def.header !== undefined && typeof def.header !== 'boolean') fail('header', 'header must be true or false');
  if (def.header && writable) fail('header', 'header is not supported by oss_ext writable tables (Greenplum writes no header line); use client mode');
  if (def.newline !== undefined && def.newline !== 'LF' && def.newline !== 'CR' && def.newline !== 'CRLF') fail('newline', `newline must be LF, CR or CRLF, got ${JSON.stringify(def.newline).slice(0, 20)}`);
  if (def.newline !== undefined && writable) fail('newline', 'newline is not supported by oss_ext writable tables (Greenplum ends every row with LF); use client mode');
  if (def.fillMissingFields !== undefined && typeof def.fillMissingFields !== 'boolean') fail('fillMissingFields', 'fillMissingFields must be true or false');
  if (def.fillMissingFields && writable) fail('fillMissingFields', 'FILL MISSING FIELDS applies to readable tables only');
  const head = def.header ? ['HEADER'] : [];
  const tail: string[] = [];
  if (def.newline !== undefined) tail.push(`NEWLINE ${sqlLiteral(def.newline)}`);
  if (def.fillMissingFields) tail.push('FILL MISSING FIELDS');
  if (f.format === 'csv') {
    const opts = [...head, `DELIMITER ${sqlLiteral(f.delimiter)}`, `QUOTE ${sqlLiteral(f.quote)}`, `ESCAPE ${sqlLiteral(f.escape)}`, `NULL ${sqlLiteral(f.nullString)}`, ...tail];
    return `FORMAT 'csv' (${opts.join(' ')})`;
  }
  const opts: string[] = [...head];
  if (f.delimiter !== '\t') opts.push(`DELIMITER ${sqlLiteral(f.delimiter)}`);
  // sqlLiteral writes E'\\N' for a backslash: '\N' would change meaning with standard_conforming_strings off.
  if (f.nullString !== '\\N') opts.push(`NULL ${sqlLiteral(f.nullString)}`);
  opts.push(...tail);
  return opts.length ? `FORMAT 'text' (${opts.join(' ')})` : `FORMAT 'text'`;
}

/** CREATE [READABLE|WRITABLE] EXTERNAL [TEMP] TABLE … per spec §1.2/§1.7. */
export function buildCreateExternalTable(def: ExternalTableDef, loc: OssLocation): BuiltSql {
  if (def.direction !== 'readable' && def.direction !== 'writable') fail('direction', 'direction must be readable or writable');
  if (typeof def.name !== 'string' || !NAME_RE.test(def.name)) fail('name', `external table name must match ${NAME_RE.source}, got ${JSON.stringify(def.name).slice(0, 80)}`);
  if (!def.like || !def.like.table) fail('like', 'like.table is required');
  let like: string;
  try {
    like = `${def.like.schema ? quoteIdent(def.like.schema) + '.' : ''}${quoteIdent(def.like.table)}`;
  } catch {
    fail('like', 'like.schema / like.table must be non-empty and contain no NUL');
  }
  const writable = def.direction === 'writable';
  if (def.reject && writable) fail('reject', 'SEGMENT REJECT LIMIT applies to readable tables only');
  if (def.distributedBy && !writable) fail('distributedBy', 'DISTRIBUTED BY applies to writable tables only');
  const location = buildOssLocation(loc, def.direction);
  const fmt = formatClause(def);
  let trailer = ` ENCODING 'UTF8'`;
  if (def.reject) {
    const { limit, unit, logErrors } = def.reject;
    if (unit !== 'ROWS' && unit !== 'PERCENT') fail('reject', 'reject.unit must be ROWS or PERCENT');
    if (!Number.isInteger(limit) || limit < (unit === 'ROWS' ? 2 : 1) || (unit === 'PERCENT' && limit > 100)) {
      fail('reject', unit === 'ROWS' ? 'reject.limit must be an integer ≥ 2 rows' : 'reject.limit must be an integer percentage from 1 to 100');
    }
    trailer += `${logErrors ? ' LOG ERRORS' : ''} SEGMENT REJECT LIMIT ${limit} ${unit}`;
  }
  if (writable && def.distributedBy !== undefined) {
    if (def.distributedBy === 'RANDOMLY') trailer += ' DISTRIBUTED RANDOMLY';
    else if (Array.isArray(def.distributedBy) && def.distributedBy.length > 0) {
      try {
        trailer += ` DISTRIBUTED BY (${def.distributedBy.map(quoteIdent).join(', ')})`;
      } catch {
        fail('distributedBy', 'distributedBy column names must be non-empty');
      }
    } else fail('distributedBy', "distributedBy must be a non-empty column list or 'RANDOMLY'");
  }
  const kind = writable ? 'WRITABLE' : 'READABLE';
  if (def.temporary !== undefined && typeof def.temporary !== 'boolean') fail('temporary', 'temporary must be true or false');
  const temp = def.temporary === false ? '' : ' TEMP';
  const make = (l: string) => `CREATE ${kind} EXTERNAL${temp} TABLE ${quoteIdent(def.name)} (LIKE ${like}) LOCATION (${sqlLiteral(l)}) ${fmt}${trailer}`;
  return { sql: make(location.sql), redacted: make(location.redacted) };
}

/**
 * `DROP EXTERNAL TABLE IF EXISTS pg_temp."name"` for a TEMP table (qualified so it can only
 * ever drop this session's table, never a permanent one of the same name), else `… "name"`.
 */
export function buildDropExternalTable(name: string, temporary = true): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) fail('name', `external table name must match ${NAME_RE.source}`);
  return `DROP EXTERNAL TABLE IF EXISTS ${temporary ? 'pg_temp.' : ''}${quoteIdent(name)}`;
}

/** `<stem>_<6 hex>`: readable (it appears in export object names) and unique. */
export function externalTableName(stem: string): string {
  let s = String(stem ?? '').toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!/^[a-z_]/.test(s)) s = 'ext_' + s;
  s = s.slice(0, 55).replace(/_+$/, '');
  return `${s || 'ext'}_${crypto.randomBytes(3).toString('hex')}`;
}

/** INSERT INTO the writable external table from a query (export via segments). */
export function buildExternalExportSql(extName: string, source: { query: string } | { schema?: string; table: string }): string {
  if (!NAME_RE.test(extName)) fail('name', 'invalid external table name');
  const from = 'query' in source ? `(${source.query}) AS src` : `${source.schema ? quoteIdent(source.schema) + '.' : ''}${quoteIdent(source.table)}`;
  return `INSERT INTO ${quoteIdent(extName)} SELECT * FROM ${from}`;
}

/** INSERT INTO the target from the readable external table (import via segments). */
export function buildExternalImportSql(target: { schema?: string; table: string }, extName: string, columns?: readonly string[]): string {
  if (!NAME_RE.test(extName)) fail('name', 'invalid external table name');
  let list = '';
  if (columns && columns.length) {
    try {
      list = ` (${columns.map(quoteIdent).join(', ')})`;
    } catch {
      fail('columns', 'column names must be non-empty and contain no NUL');
    }
  }
  return `INSERT INTO ${target.schema ? quoteIdent(target.schema) + '.' : ''}${quoteIdent(target.table)}${list} SELECT * FROM ${quoteIdent(extName)}`;
}

// The one redaction (also the node kit's): `key=`, the `id=` before it, the given secrets.
export { redactSecrets } from '../shared/redact';
