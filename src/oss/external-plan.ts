// The SQL an export or import runs in external mode (Greenplum with oss_ext), as pure functions so the
// exact statements are unit-tested without a Greenplum cluster: create the oss:// external
// table, move the rows with INSERT … SELECT, drop the table in `finally`. Only `redacted`
// texts (id=XXX key=XXX) may reach logs, status or errors. The external table is TEMP: its
// LOCATION carries the AccessKey, and a TEMP table leaves the catalog with its session even
// when the DROP cannot run.
import {
  buildCreateExternalTable,
  buildDropExternalTable,
  buildExternalExportSql,
  buildExternalImportSql,
  externalTableName,
} from './external-table';
import { quoteIdent, resolveFormat, type FormatOptions } from './format';
import { objectSelection } from './object-selection';

export interface LocationParts {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
}

export interface ExternalPlan {
  /** The external table's generated name (it also appears in oss_ext's object names). */
  name: string;
  /** Statements before the CREATE (e.g. the shape table of a query). */
  before: string[];
  create: { sql: string; redacted: string };
  /** The statements moving the rows, in order. */
  run: string[];
  /** Index in `run` of the INSERT whose rowCount is the number of rows moved. */
  countIndex: number;
  /** Run in `finally`, whatever happened. */
  drop: string[];
  /**
   * Import with a reject limit: reads the rows the segments rejected (Greenplum's error log,
   * LOG ERRORS), run right after the counting INSERT, before the table and its log are dropped.
   */
  rejectedSql?: string;
}

/** A row an external import's reject limit skipped, from gp_read_error_log. */
export interface RejectedRow {
  /** Line in its object (oss_ext reports no object name without the credentials). */
  line: number | null;
  error: string;
  data: string | null;
}

/** The rejected rows of an external import: their total and the first ones. */
export interface RejectedRows {
  count: number;
  rows: RejectedRow[];
}

/** How many rejected rows an import reports in full (the count is always complete). */
const REJECTED_ROWS_REPORTED = 100;

/**
 * FORMAT options for the DDL. `header` and a CR/CRLF `newline` are passed on as set: the
 * builder writes them for readable tables and refuses them for writable ones (never dropped).
 */
function formatDef(format: FormatOptions) {
  const f = resolveFormat(format);
  return {
    format: f.format,
    delimiter: f.delimiter,
    nullString: f.nullString,
    ...(f.format === 'csv' ? { quote: f.quote, escape: f.escape } : {}),
    ...(f.header ? { header: true } : {}),
    // LF is the dialog's default and means "any": client-mode COPY detects the row terminator,
    // and so does Greenplum when NEWLINE is absent. CR and CRLF are passed on as set.
    ...(f.newline !== 'LF' ? { newline: f.newline } : {}),
  };
}

/** oss_ext rejects an empty prefix=/dir=. */
function requirePrefix(prefix: string): void {
  if (!prefix) throw new Error('external mode needs a non-empty prefix (oss_ext reads and writes under prefix= or dir=)');
}

/**
 * Why an export cannot run as a writable oss:// table, or null. Greenplum's writable external
 * tables take no HEADER and no NEWLINE (their writer ends rows with LF), so these settings need
 * client mode: `auto` switches to it, `external` fails with this text.
 */
export function externalExportObstacle(format: FormatOptions): string | null {
  const f = resolveFormat(format);
  if (f.header) return 'header is not supported by oss_ext writable tables (Greenplum writes no header line); use client mode';
  if (f.newline !== 'LF') return `newline ${f.newline} is not supported by oss_ext writable tables (Greenplum ends every row with LF); use client mode`;
  return null;
}

export interface SniffedObject {
  key: string;
  size: number;
  /** Starts with the gzip magic 1f 8b. */
  gzip: boolean;
}

/**
 * Why the listed objects cannot be read by one readable oss:// table, or null:
 *  - oss_ext decides compression for the whole table (`compressiontype=gzip|none`: every
 *    object inflated, or none), so a set mixing gzip and plain objects is refused, naming one
 *    of each (empty objects fit either);
 *  - Greenplum skips a HEADER line once per segment's data stream (the COPY parser drops the
 *    line at cur_lineno 0 of the scan), and oss_ext knows nothing of headers and feeds the
 *    objects a segment reads (round robin by listing position) as one stream, so with a header
 *    every segment may read at most one object. Measured on Greenplum 6.24.3 + oss_ext with 2
 *    segments (test/greenplum/external-header.test.js): 1 or 2 objects with a header line
 *    each load every data row and no header; with 3 or 5 objects the extra header lines reach
 *    the COPY parser as data rows.
 */
export function externalImportObstacle(p: { objects: readonly SniffedObject[]; segments: number; header: boolean }): string | null {
  const gz = p.objects.find((o) => o.size > 0 && o.gzip);
  const plain = p.objects.find((o) => o.size > 0 && !o.gzip);
  if (gz && plain) {
    return `the objects mix gzip and plain data (e.g. "${gz.key}" is gzip, "${plain.key}" is not); oss_ext reads all objects of one table with the same compression: import them separately or use client mode`;
  }
  if (p.header && p.objects.length > p.segments) {
    return `header is set and there are ${p.objects.length} objects for ${p.segments} segment(s): Greenplum skips the header only in the first object each segment reads, so the other header lines would load as rows; use client mode or at most one object per segment`;
  }
  return null;
}

/** The table's compressiontype: gzip when the (non-empty) objects are gzip. */
export function isGzipSet(objects: readonly SniffedObject[]): boolean {
  return objects.some((o) => o.size > 0 && o.gzip);
}

function stemOf(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
}

export interface ExportPlanInput {
  /** A table with its resolved schema (see resolveTable), or a query. */
  source: { schema: string; table: string } | { query: string };
  stem: string;
  prefix: string;
  format: FormatOptions;
  level: number; // 0 = no gzip
  workers: number;
  objectSizeMB: number;
  location: LocationParts;
  /** For tests: a fixed table name instead of a random one. */
  name?: string;
}

/** Writable external table + INSERT … SELECT: every segment writes its own objects. */
export function externalExportPlan(p: ExportPlanInput): ExternalPlan {
  const name = p.name ?? externalTableName(stemOf(p.stem) || 'export');
  const before: string[] = [];
  const drop = [buildDropExternalTable(name)];
  let like: { schema: string; table: string };
  if ('query' in p.source) {
    // LIKE needs a relation: an empty temporary table with the query's columns.
    const shape = `${name}_shape`;
    before.push(`CREATE TEMP TABLE ${quoteIdent(shape)} AS SELECT * FROM (${p.source.query}) AS q LIMIT 0`);
    drop.push(`DROP TABLE IF EXISTS pg_temp.${quoteIdent(shape)}`);
    like = { schema: 'pg_temp', table: shape };
  } else {
    like = { schema: p.source.schema, table: p.source.table };
  }
  const gzip = p.level > 0;
  const fileMax = Math.min(4000, Math.max(8, p.objectSizeMB));
  requirePrefix(p.prefix);
  const create = buildCreateExternalTable(
    { direction: 'writable', name, like, ...formatDef(p.format), distributedBy: 'RANDOMLY' },
    {
      ...p.location,
      // oss_ext turns a writable dir= into prefix= (oss_ext.c), so prefix= says what happens.
      mode: 'prefix',
      path: p.prefix,
      compression: gzip ? 'gzip' : 'none',
      ...(gzip ? { compressionLevel: p.level, parallelWorkers: Math.min(8, Math.max(1, p.workers)) } : {}),
      fileMaxMB: fileMax,
      flushBlockMB: Math.min(32, fileMax),
    },
  );
  return { name, before, create, run: [buildExternalExportSql(name, p.source)], countIndex: 0, drop };
}

export interface ImportPlanInput {
  /** The target with its resolved schema (see resolveTable). */
  target: { schema: string; table: string };
  prefix: string;
  /** Direct children of the folder `prefix` only (`dir=`); default: recursive (`prefix=`). */
  folderOnly?: boolean;
  /** Field order in the files when it differs from the table's (the dialog's columns). */
  columns?: readonly string[] | null;
  format: FormatOptions;
  /** FILL MISSING FIELDS: short rows get NULL in their missing trailing columns. */
  fillMissingFields?: boolean;
  gzip: boolean;
  rejectLimit: number; // 0 = none
  rejectUnit: 'ROWS' | 'PERCENT';
  truncate: boolean;
  location: LocationParts;
  name?: string;
}

/** Readable external table + INSERT … SELECT in one transaction (with an optional TRUNCATE). */
export function externalImportPlan(p: ImportPlanInput): ExternalPlan {
  const name = p.name ?? externalTableName(stemOf(p.target.table) || 'import');
  requirePrefix(p.prefix);
  const sel = objectSelection(p.prefix, p.folderOnly === true);
  const before: string[] = [];
  const drop: string[] = [];
  const columns = p.columns && p.columns.length ? p.columns : null;
  let like: { schema: string; table: string } = p.target;
  if (columns) {
    // The files hold these columns in this order: an empty temporary table of exactly that
    // shape gives the external table its columns (types from the target), and the INSERT
    // names them; the other target columns get their defaults, as with COPY t (columns).
    const shape = `${name}_shape`;
    const cols = columns.map(quoteIdent).join(', ');
    before.push(`CREATE TEMP TABLE ${quoteIdent(shape)} AS SELECT ${cols} FROM ${quoteIdent(p.target.schema)}.${quoteIdent(p.target.table)} LIMIT 0`);
    like = { schema: 'pg_temp', table: shape };
    drop.push(`DROP TABLE IF EXISTS pg_temp.${quoteIdent(shape)}`);
  }
  const create = buildCreateExternalTable(
    {
      direction: 'readable',
      name,
      like,
      ...formatDef(p.format),
      ...(p.fillMissingFields ? { fillMissingFields: true } : {}),
      ...(p.rejectLimit > 0 ? { reject: { limit: p.rejectLimit, unit: p.rejectUnit, logErrors: true } } : {}),
    },
    { ...p.location, mode: sel.location.mode, path: sel.location.path, compression: p.gzip ? 'gzip' : 'none', async: true },
  );
  const target = `${quoteIdent(p.target.schema)}.${quoteIdent(p.target.table)}`;
  const run = ['BEGIN', ...(p.truncate ? [`TRUNCATE ${target}`] : []), buildExternalImportSql(p.target, name, columns ?? undefined), 'COMMIT'];
  // Not the filename column: for oss:// tables it is the LOCATION, credentials included.
  const rejectedSql = p.rejectLimit > 0
    ? `SELECT linenum, errmsg, rawdata, count(*) OVER () AS total FROM gp_read_error_log('${name}') ORDER BY linenum LIMIT ${REJECTED_ROWS_REPORTED}`
    : undefined;
  return { name, before, create, run, countIndex: run.length - 2, drop: [buildDropExternalTable(name), ...drop], ...(rejectedSql ? { rejectedSql } : {}) };
}

/** A DROP in `finally` that failed: the external table (and its LOCATION) may remain. */
export interface DropFailure {
  /** The DROP statement (it names the table, never the key). */
  statement: string;
  error: Error;
}

/**
 * Runs a plan on one connection: `before`, CREATE, `run`; DROP in `finally`. The CREATE and
 * the DROP must run on the same session: the external table is TEMP and exists only there.
 * When `signal` fires, `cancel` is called — it must cancel the running statement from ANOTHER
 * connection (pg_cancel_backend), since this one is busy. A DROP that fails does not fail the
 * transfer (the rows have moved) but is reported to `onDropFailed`, never swallowed. Returns
 * the rows moved.
 */
export async function runExternalPlan(
  pg: { query(sql: string): Promise<{ rowCount: number | null; rows?: Array<Record<string, unknown>> }> },
  plan: ExternalPlan,
  signal: AbortSignal,
  cancel?: () => Promise<unknown>,
  hooks: {
    /** With plan.rejectedSql: the rows the reject limit skipped, read before the DROP. */
    onRejected?: (rejected: RejectedRows) => void;
    onDropFailed?: (failure: DropFailure) => void;
  } = {},
): Promise<number> {
  const { onRejected, onDropFailed } = hooks;
  const onAbort = () => void cancel?.().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  let rows = 0;
  try {
    for (const s of plan.before) await pg.query(s);
    await pg.query(plan.create.sql);
    for (let i = 0; i < plan.run.length; i++) {
      if (signal.aborted) throw new Error('cancelled');
      const r = await pg.query(plan.run[i]);
      if (i === plan.countIndex) {
        rows = r.rowCount ?? 0;
        if (plan.rejectedSql) onRejected?.(rejectedRowsFrom((await pg.query(plan.rejectedSql)).rows ?? []));
      }
    }
    return rows;
  } catch (err) {
    // Outside a transaction this is a no-op; its own failure adds nothing to `err`.
    await pg.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    for (const d of plan.drop) {
      try {
        await pg.query(d);
      } catch (err) {
        onDropFailed?.({ statement: d, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  }
}

/**
 * oss_ext can report an INSERT into a writable external table as a success when its
 * AppendObject requests failed (seen with a server that refused them: `INSERT 0 1000`, nothing
 * written). After every external export, what the INSERT created is listed and checked here:
 * it throws when a non-empty result left no object, or fewer bytes than the rows could take
 * (each row is at least its newline; DEFLATE compresses at most about 1032:1, and every gzip
 * member has an 18-byte frame).
 */
export function checkExternalExportWrote(p: { rows: number; objects: readonly { key: string; size: number }[]; gzip: boolean; where: string }): void {
  if (p.rows <= 0) return;
  const bytes = p.objects.reduce((a, o) => a + o.size, 0);
  if (p.objects.length === 0) {
    throw new Error(`oss_ext reported ${p.rows} row(s) exported but no object exists under ${p.where}: its uploads failed (see the OSS server's logs); nothing was written`);
  }
  const minimum = p.gzip ? Math.ceil(p.rows / 1032) + 18 * p.objects.length : p.rows;
  if (bytes < minimum) {
    throw new Error(`oss_ext reported ${p.rows} row(s) exported but the ${p.objects.length} object(s) under ${p.where} hold only ${bytes} byte(s), fewer than ${p.rows} row(s) can take: the upload is incomplete`);
  }
}

/** gp_read_error_log rows (linenum, errmsg, rawdata, total) → RejectedRows. */
function rejectedRowsFrom(rows: ReadonlyArray<Record<string, unknown>>): RejectedRows {
  return {
    count: rows.length ? Number(rows[0].total) : 0,
    rows: rows.map((r) => ({
      line: r.linenum === null || r.linenum === undefined ? null : Number(r.linenum),
      error: String(r.errmsg ?? ''),
      data: r.rawdata === null || r.rawdata === undefined ? null : String(r.rawdata),
    })),
  };
}

/**
 * The warning for a failed DROP: names the statement and the cause with every secret removed
 * (`redact` removes the caller's secrets: the AccessKey, the database password).
 */
export function dropFailureWarning(f: DropFailure, redact: (text: string) => string): string {
  return redact(
    `external table cleanup failed: ${f.statement}: ${f.error.message}. ` +
      'The connection is closed instead of returned to the pool, so the TEMP table (and the key in its LOCATION) ends with its session.',
  );
}

/**
 * What a transfer does with failed DROPs: `discard` the session (close it rather than pool it,
 * so the TEMP table ends with it), warn at once (secrets removed), and keep the warnings for
 * the stats (`warnings`).
 */
export function dropFailureReporter(p: {
  warn: (text: string) => void;
  redact: (text: string) => string;
  discard: () => void;
}): { warnings: string[]; onDropFailed: (f: DropFailure) => void } {
  const warnings: string[] = [];
  return {
    warnings,
    onDropFailed: (f) => {
      p.discard();
      const text = dropFailureWarning(f, p.redact);
      warnings.push(text);
      p.warn(text);
    },
  };
}
