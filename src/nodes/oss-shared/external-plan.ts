// The SQL an OSS node runs in external mode (Greenplum with oss_ext), as pure functions so the
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
  quoteIdent,
  resolveFormat,
  type FormatOptions,
} from '../../oss';
import type { PoolClient } from 'pg';
import { discardAfterUse } from './db';
import { redact } from './errors';

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
}

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
  return { name, before: [], create, run, countIndex: run.length - 2, drop: [buildDropExternalTable(name)] };
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
  pg: { query(sql: string): Promise<{ rowCount: number | null }> },
  plan: ExternalPlan,
  signal: AbortSignal,
  cancel?: () => Promise<unknown>,
  onDropFailed?: (failure: DropFailure) => void,
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
      if (i === plan.countIndex) rows = r.rowCount ?? 0;
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
 * The warning for a failed DROP: names the statement and the cause with every secret removed
 * (`redact` is the node's redaction, e.g. errors.ts `redact` with the account's secrets).
 */
export function dropFailureWarning(f: DropFailure, redact: (text: string) => string): string {
  return redact(
    `external table cleanup failed: ${f.statement}: ${f.error.message}. ` +
      'The connection is closed instead of returned to the pool, so the TEMP table (and the key in its LOCATION) ends with its session.',
  );
}

/**
 * What a node does with failed DROPs: warn at once (secrets removed), close the session rather
 * than pool it, and keep the warnings for the node's status and `msg.payload.warnings`.
 */
export function dropFailureReporter(
  pg: PoolClient,
  warn: (text: string) => void,
  secrets: () => readonly string[],
): { warnings: string[]; onDropFailed: (f: DropFailure) => void } {
  const warnings: string[] = [];
  return {
    warnings,
    onDropFailed: (f) => {
      discardAfterUse(pg);
      const text = dropFailureWarning(f, (t) => redact(t, secrets()));
      warnings.push(text);
      warn(text);
    },
  };
}
