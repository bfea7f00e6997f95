/**
 * A table or query export in the transfer mode that fits (oss-export's table/query source):
 *  - client mode: exportQueryToOss (COPY TO STDOUT → parallel gzip → multipart upload, objects
 *    rolled by size); on Greenplum one stripe per primary segment, so the object count is a
 *    multiple of the segment count (stripes.ts);
 *  - external mode (Greenplum with oss_ext): a writable oss:// external table and
 *    INSERT … SELECT, so the segments upload; the table is dropped in `finally`, and what the
 *    segments wrote is listed and checked (external-plan.ts).
 * `auto` takes external mode when oss_ext is installed and the settings allow it.
 */
import type { ClientBase } from 'pg';
import { chooseTransferMode, hasOssExt, primarySegmentCount, type TransferMode } from './detect';
import { exportQueryToOss, type OssTransferStats, type TransferProgress } from './export';
import { checkExternalExportWrote, dropFailureReporter, externalExportObstacle, externalExportPlan, runExternalPlan, type LocationParts } from './external-plan';
import type { FormatOptions } from './format';
import { listObjects } from './download';
import type { GzipPool } from './parallel-gzip';
import type { OssClientLike } from './oss-client';
import { exportStripePlan } from './stripes';
import { resolveTable, tableColumns, type TableName } from './tables';

const MB = 1048576;

/** Where a transfer reports what the user should know, and how it keeps secrets out of it. */
export interface TransferLog {
  /** A choice worth a log line (e.g. the mode `auto` fell back to). */
  info(text: string): void;
  debug(text: string): void;
  /** Something that did not fail the transfer but must not go unseen. */
  warn(text: string): void;
  /** Removes the caller's secrets (AccessKey, database password) from a text. */
  redact(text: string): string;
}

/** The database side of a transfer: one session, how to cancel its statement, how to drop it. */
export interface TransferSession {
  /** A connected session; a failed or cancelled COPY leaves it unusable (discard it). */
  pg: ClientBase;
  /** The database's name, for errors. */
  database: string;
  /** A function cancelling the statement running on `pg` from another connection. */
  canceller(): Promise<() => Promise<unknown>>;
  /** Close the session instead of pooling it (a TEMP external table whose DROP failed lives on in it). */
  discard(): void;
}

/** What every table transfer runs with, besides its own options. */
export interface TransferContext {
  session: TransferSession;
  newClient(): OssClientLike;
  /** The account's parts of an oss:// LOCATION (external mode). */
  location(): LocationParts;
  signal: AbortSignal;
  log: TransferLog;
  onProgress?(p: TransferProgress): void;
}

/** External mode was asked for (or chosen): the database must have oss_ext installed. */
export async function requireOssExt(session: TransferSession): Promise<void> {
  if (!(await hasOssExt(session.pg))) {
    throw new Error(`mode "external" needs the oss_ext extension in database "${session.database}" (CREATE EXTENSION oss_ext); use mode auto or client`);
  }
}

export interface ModeExportOptions extends TransferContext {
  source: { table: TableName } | { query: string };
  /** Key prefix of the objects. */
  prefix: string;
  /** Object-name stem. */
  stem: string;
  mode: TransferMode;
  format: FormatOptions;
  /** 0 = no gzip, 1–9 = gzip level. */
  gzipLevel: number;
  gzipWorkers: number;
  /** The gzip pool to share (client mode with gzip). */
  gzipPool(): GzipPool;
  objectSizeMB: number;
  partSize: number;
  /** Multipart parts in flight, shared out over the stripes. */
  parallelParts: number;
}

export async function exportInMode(o: ModeExportOptions): Promise<OssTransferStats> {
  const { pg } = o.session;
  const table = 'table' in o.source ? o.source.table : null;
  if (table) await tableColumns(pg, table); // clear "does not exist" before any upload
  let chosen = await chooseTransferMode(pg, o.mode);
  // Writable oss:// tables write no header and only LF: those settings need client mode.
  const obstacle = chosen === 'external' ? externalExportObstacle(o.format) : null;
  if (obstacle) {
    if (o.mode === 'external') throw new Error(`external mode cannot export with these settings: ${obstacle}`);
    o.log.info(`external mode not used: ${obstacle}; exporting in client mode`);
    chosen = 'client';
  }
  if (chosen === 'external') {
    await requireOssExt(o.session);
    return exportExternal(o, table);
  }
  // Greenplum: as many objects side by side as primary segments (1 on PostgreSQL).
  const plan = exportStripePlan(await primarySegmentCount(pg), o.parallelParts);
  if (plan.stripes > 1) o.log.debug(`${plan.stripes} stripes (one per primary segment), ${plan.parallelParts} part(s) in flight each`);
  return exportQueryToOss({
    pgClient: pg,
    ...('query' in o.source ? { query: o.source.query } : { table: o.source.table }),
    oss: o.newClient(),
    prefix: o.prefix,
    name: o.stem,
    format: o.format,
    gzipLevel: o.gzipLevel,
    rolloverBytes: o.objectSizeMB * MB,
    upload: { partSize: o.partSize, parallel: plan.parallelParts },
    stripes: plan.stripes,
    gzipPool: o.gzipLevel > 0 ? o.gzipPool() : undefined,
    signal: o.signal,
    onProgress: o.onProgress,
  });
}

/** Greenplum + oss_ext: the segments write the objects themselves. */
async function exportExternal(o: ModeExportOptions, table: TableName | null): Promise<OssTransferStats> {
  const { pg } = o.session;
  const t0 = Date.now();
  const plan = externalExportPlan({
    source: table ? await resolveTable(pg, table) : { query: (o.source as { query: string }).query },
    stem: o.stem,
    prefix: o.prefix,
    format: o.format,
    level: o.gzipLevel,
    workers: o.gzipWorkers,
    objectSizeMB: o.objectSizeMB,
    location: o.location(),
  });
  o.log.debug(plan.create.redacted);
  const drops = dropFailureReporter({ warn: o.log.warn, redact: o.log.redact, discard: o.session.discard });
  const rows = await runExternalPlan(pg, plan, o.signal, await o.session.canceller(), { onDropFailed: drops.onDropFailed });
  const where = `${o.prefix}${plan.name}`;
  const listed = await listObjects(o.newClient(), where);
  // oss_ext can report success when its appends failed: never trust the INSERT's count alone.
  checkExternalExportWrote({ rows, objects: listed, gzip: o.gzipLevel > 0, where: `${where}*` });
  const bytesOut = listed.reduce((a, x) => a + x.size, 0);
  // Per-object row counts are not reported by the segments.
  return {
    objects: listed.map((x) => ({ key: x.key, bytes: x.size, rows: 0 })), rows, bytesIn: 0, bytesOut, ms: Date.now() - t0,
    ...(drops.warnings.length ? { warnings: drops.warnings } : {}),
  };
}
