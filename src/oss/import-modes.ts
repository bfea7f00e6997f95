/**
 * Imports in the form oss-import offers them:
 *  - into a table, in the transfer mode that fits (importIntoTable):
 *    client mode: importFromOss (parallel downloads, gunzip by magic bytes, COPY FROM STDIN,
 *    all objects in one transaction; with `truncate`, TRUNCATE runs in that same transaction, so
 *    readers never see an empty table); external mode (Greenplum with oss_ext): a readable
 *    oss:// external table with optional SEGMENT REJECT LIMIT and INSERT … SELECT, the table
 *    dropped in `finally`. `auto` takes external mode when oss_ext is installed and the objects
 *    allow it (one compression for the set; with a header, at most one object per segment);
 *  - as batches of rows (importAsBatches): readRowsFromOss re-batched into batches of N rows,
 *    every row exactly once, in object order, the last batch flagged.
 */
import { chooseTransferMode, primarySegmentCount, type TransferMode } from './detect';
import type { OssTransferStats } from './export';
import {
  dropFailureReporter,
  externalImportObstacle,
  externalImportPlan,
  isGzipSet,
  runExternalPlan,
  type RejectedRows,
  type SniffedObject,
} from './external-plan';
import { resolveFormat, type FormatOptions } from './format';
import { listObjects, sniffGzip } from './download';
import { importFromOss, readRowsFromOss } from './import';
import type { ParsedRow } from './codec';
import type { ObjectSelection } from './object-selection';
import type { OssClientLike } from './oss-client';
import { qualifiedName, resolveTable, tableColumns, type TableName } from './tables';
import { optionError } from './transfer-options';
import { requireOssExt, type TransferContext } from './export-modes';

/** Import stats; an external import under a reject limit also reports the rows it skipped. */
export type ImportStats = OssTransferStats & { rejected?: RejectedRows };

/** What an import reads: explicit keys (client mode only), or the objects a selection names. */
export interface ImportSource {
  keys: string[] | null;
  /** The prefix as given (external mode's LOCATION path). */
  prefix: string;
  sel: ObjectSelection;
}

export interface TableImportOptions extends TransferContext {
  table: TableName;
  /** Field order in the objects when it differs from the table's. */
  columns: readonly string[] | null;
  source: ImportSource;
  mode: TransferMode;
  format: FormatOptions;
  /** External mode: FILL MISSING FIELDS (client-mode COPY has no such option). */
  fillMissing: boolean;
  /** Objects downloading at once (client mode). */
  parallel: number;
  /** Empty the table first, in the load's transaction. */
  truncate: boolean;
  /** External mode: SEGMENT REJECT LIMIT (0 = none). */
  rejectLimit: number;
  rejectUnit: 'ROWS' | 'PERCENT';
  /** The account, for errors ("no objects under … in oss://bucket @ …"). */
  describeAccount(): string;
}

export async function importIntoTable(o: TableImportOptions): Promise<ImportStats> {
  const { pg } = o.session;
  const { table, source: src } = o;
  const tableCols = await tableColumns(pg, table); // "table … does not exist" before any download
  let chosen = await chooseTransferMode(pg, o.mode);
  if (chosen === 'external' && src.keys) {
    if (o.mode === 'external') throw optionError('keys', 'external mode reads a prefix; msg.keys needs client mode');
    chosen = 'client';
  }
  if (chosen === 'external') {
    await requireOssExt(o.session);
    for (const c of o.columns ?? []) {
      if (!tableCols.includes(c)) throw optionError('columns', `column ${JSON.stringify(c)} is not a column of ${qualifiedName(table)}`);
    }
    // Everything oss_ext will read, checked before any DDL (compression, header).
    const client = o.newClient();
    const listed = await listObjects(client, src.sel.list.prefix, { directOnly: src.sel.list.directOnly, signal: o.signal });
    if (!listed.length) throw new Error(`no ${src.sel.describe} in ${o.describeAccount()}`);
    const objects = await sniffGzip(client, listed, { signal: o.signal });
    const obstacle = externalImportObstacle({ objects, segments: await primarySegmentCount(pg), header: resolveFormat(o.format).header });
    if (!obstacle) return importExternal(o, objects);
    if (o.mode === 'external') throw new Error(`external mode cannot import these objects: ${obstacle}`);
    o.log.info(`external mode not used: ${obstacle}; importing in client mode`);
    chosen = 'client';
  }
  if (o.fillMissing) {
    throw optionError('fillMissing', '"fill missing fields" needs external mode (Greenplum with oss_ext): COPY in client mode rejects rows with missing fields');
  }
  const common = {
    pgClient: pg,
    table,
    ...(o.columns ? { columns: o.columns } : {}),
    format: o.format,
    oss: o.newClient(),
    ...(src.keys ? { keys: src.keys } : { prefix: src.sel.list.prefix, directOnly: src.sel.list.directOnly }),
    parallel: o.parallel,
    signal: o.signal,
    onProgress: o.onProgress,
  };
  if (!o.truncate) return importFromOss(common);
  // TRUNCATE and the load in one transaction: readers never see an empty table.
  await pg.query('BEGIN');
  await pg.query(`TRUNCATE ${qualifiedName(table)}`);
  const stats = await importFromOss({ ...common, transaction: false });
  await pg.query('COMMIT');
  return stats;
}

async function importExternal(o: TableImportOptions, objects: readonly SniffedObject[]): Promise<ImportStats> {
  const { pg } = o.session;
  const t0 = Date.now();
  const plan = externalImportPlan({
    target: await resolveTable(pg, o.table),
    prefix: o.source.prefix,
    folderOnly: o.source.sel.list.directOnly,
    columns: o.columns,
    format: o.format,
    fillMissingFields: o.fillMissing,
    // compressiontype for the whole set: externalImportObstacle refused a mixed one.
    gzip: isGzipSet(objects),
    rejectLimit: o.rejectLimit,
    rejectUnit: o.rejectUnit,
    truncate: o.truncate,
    location: o.location(),
  });
  o.log.debug(plan.create.redacted);
  let rejected: RejectedRows | undefined;
  const drops = dropFailureReporter({ warn: o.log.warn, redact: o.log.redact, discard: o.session.discard });
  const rows = await runExternalPlan(pg, plan, o.signal, await o.session.canceller(), {
    onRejected: (r) => {
      rejected = r;
    },
    onDropFailed: drops.onDropFailed,
  });
  const bytesIn = objects.reduce((a, x) => a + x.size, 0);
  if (rejected && rejected.count > 0) {
    // Nothing silent: the reject limit skipped these rows; they go out with the stats.
    const first = rejected.rows[0];
    o.log.warn(`${rejected.count} row(s) rejected under the reject limit and not loaded into ${qualifiedName(o.table)} (first: line ${first?.line ?? '?'}: ${first?.error ?? ''}); see msg.payload.rejected`);
  }
  // Per-object row counts are not reported by the segments.
  return {
    objects: objects.map((x) => ({ key: x.key, bytes: x.size, rows: 0 })), rows, bytesIn, bytesOut: 0, ms: Date.now() - t0,
    ...(rejected ? { rejected } : {}),
    ...(drops.warnings.length ? { warnings: drops.warnings } : {}),
  };
}

export interface BatchImportOptions {
  oss: OssClientLike;
  format: FormatOptions;
  source: ImportSource;
  /** Rows per batch (the last may hold fewer). */
  batchSize: number;
  parallel: number;
  /** Column names: rows become objects keyed by them; null: rows stay arrays. */
  columns: readonly string[] | null;
  signal: AbortSignal;
  /**
   * Takes one batch; the import reads on once it resolves (the caller's pacing). `last` is set
   * on exactly one batch, the final one (an empty import sends one empty final batch).
   */
  emit(rows: ParsedRow[] | Record<string, string | null>[], last: boolean): Promise<void>;
  onProgress?(p: { bytes: number; rows: number }): void;
}

/** Reads the objects as batches of rows: every row exactly once, in object order. */
export async function importAsBatches(o: BatchImportOptions): Promise<OssTransferStats> {
  const t0 = Date.now();
  const perObject = new Map<string, number>();
  let batch: ParsedRow[] = [];
  let sent = 0;
  let rows = 0;
  let bytes = 0;
  const emit = (out: ParsedRow[], last: boolean) => {
    sent++;
    return o.emit(o.columns ? out.map((r) => toObject(r, o.columns!)) : out, last);
  };
  // A full batch is held back until the next row shows it is not the last one, so the final
  // batch is always flagged (as the split node sets parts.count on its last message).
  let held: ParsedRow[] | null = null;
  for await (const chunk of readRowsFromOss({
    oss: o.oss,
    format: o.format,
    ...(o.source.keys ? { keys: o.source.keys } : { prefix: o.source.sel.list.prefix, directOnly: o.source.sel.list.directOnly }),
    batchSize: o.batchSize,
    parallel: o.parallel,
    signal: o.signal,
  })) {
    perObject.set(chunk.key, (perObject.get(chunk.key) ?? 0) + chunk.rows.length);
    for (const r of chunk.rows) {
      if (held) {
        const h = held;
        held = null;
        await emit(h, false);
      }
      batch.push(r);
      bytes += rowBytes(r);
      if (batch.length >= o.batchSize) {
        held = batch;
        batch = [];
      }
    }
    rows += chunk.rows.length;
    o.onProgress?.({ bytes, rows });
  }
  if (held) await emit(held, batch.length === 0);
  // An empty import still sends one (empty) final batch so sequence-aware nodes see an end.
  if (batch.length || sent === 0) await emit(batch, true);
  return {
    objects: [...perObject].map(([key, n]) => ({ key, bytes: 0, rows: n })),
    rows,
    bytesIn: 0,
    bytesOut: bytes,
    ms: Date.now() - t0,
  };
}

function toObject(row: ParsedRow, columns: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i]] = i < row.length ? row[i] : null;
  return out;
}

function rowBytes(row: ParsedRow): number {
  let n = row.length;
  for (const v of row) if (v) n += v.length;
  return n;
}
