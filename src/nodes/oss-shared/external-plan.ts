// The SQL an OSS node runs in external mode (Greenplum with oss_ext), as pure functions so the
// exact statements are unit-tested without a Greenplum cluster: create the oss:// external
// table, move the rows with INSERT … SELECT, drop the table in `finally`. Only `redacted`
// texts (id=XXX key=XXX) may reach logs, status or errors.
import {
  buildCreateExternalTable,
  buildDropExternalTable,
  buildExternalExportSql,
  buildExternalImportSql,
  externalTableName,
  quoteIdent,
  resolveFormat,
  type FormatOptions,
} from '../../oss';

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
export const REJECTED_ROWS_REPORTED = 100;

function formatDef(format: FormatOptions) {
  const f = resolveFormat(format);
  return {
    format: f.format,
    delimiter: f.delimiter,
    nullString: f.nullString,
    ...(f.format === 'csv' ? { quote: f.quote, escape: f.escape } : {}),
  };
}

/** `dir=` for a prefix ending in '/', else `prefix=` (oss_ext rejects an empty one). */
function locationMode(prefix: string): 'dir' | 'prefix' {
  if (!prefix) throw new Error('external mode needs a non-empty prefix (oss_ext reads and writes under prefix= or dir=)');
  return prefix.endsWith('/') ? 'dir' : 'prefix';
}

function stemOf(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
}

export interface ExportPlanInput {
  /** A table with its resolved schema (see db.resolveTable), or a query. */
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
  const create = buildCreateExternalTable(
    { direction: 'writable', name, like, ...formatDef(p.format), distributedBy: 'RANDOMLY' },
    {
      ...p.location,
      mode: locationMode(p.prefix),
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
  /** The target with its resolved schema (see db.resolveTable). */
  target: { schema: string; table: string };
  prefix: string;
  format: FormatOptions;
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
  const create = buildCreateExternalTable(
    {
      direction: 'readable',
      name,
      like: p.target,
      ...formatDef(p.format),
      ...(p.rejectLimit > 0 ? { reject: { limit: p.rejectLimit, unit: p.rejectUnit, logErrors: true } } : {}),
    },
    { ...p.location, mode: locationMode(p.prefix), path: p.prefix, compression: p.gzip ? 'gzip' : 'none', async: true },
  );
  const target = `${quoteIdent(p.target.schema)}.${quoteIdent(p.target.table)}`;
  const run = ['BEGIN', ...(p.truncate ? [`TRUNCATE ${target}`] : []), buildExternalImportSql(p.target, name), 'COMMIT'];
  // Not the filename column: for oss:// tables it is the LOCATION, credentials included.
  const rejectedSql = p.rejectLimit > 0
    ? `SELECT linenum, errmsg, rawdata, count(*) OVER () AS total FROM gp_read_error_log('${name}') ORDER BY linenum LIMIT ${REJECTED_ROWS_REPORTED}`
    : undefined;
  return { name, before: [], create, run, countIndex: run.length - 2, drop: [buildDropExternalTable(name)], ...(rejectedSql ? { rejectedSql } : {}) };
}

/**
 * Runs a plan on one connection: `before`, CREATE, `run`; DROP in `finally`. When `signal`
 * fires, `cancel` is called — it must cancel the running statement from ANOTHER connection
 * (pg_cancel_backend), since this one is busy. Returns the rows moved.
 */
export async function runExternalPlan(
  pg: { query(sql: string): Promise<{ rowCount: number | null; rows?: Array<Record<string, unknown>> }> },
  plan: ExternalPlan,
  signal: AbortSignal,
  cancel?: () => Promise<unknown>,
  onRejected?: (rejected: RejectedRows) => void,
): Promise<number> {
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
    await pg.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    for (const d of plan.drop) await pg.query(d).catch(() => undefined);
  }
}

/**
 * oss_ext can report an INSERT into a writable external table as a success when its
 * AppendObject requests failed (seen with a server that refused them: `INSERT 0 1000`, nothing
 * written). After every external export the node lists what the INSERT created and calls this:
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
export function rejectedRowsFrom(rows: ReadonlyArray<Record<string, unknown>>): RejectedRows {
  return {
    count: rows.length ? Number(rows[0].total) : 0,
    rows: rows.map((r) => ({
      line: r.linenum === null || r.linenum === undefined ? null : Number(r.linenum),
      error: String(r.errmsg ?? ''),
      data: r.rawdata === null || r.rawdata === undefined ? null : String(r.rawdata),
    })),
  };
}
