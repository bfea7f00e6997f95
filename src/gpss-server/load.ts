// One Open → Write* → Close unit on a session's connection: one database transaction
// (spec §4 "Our rule (server)", §5, §6).
//
// Insert without TruncateTable COPYs straight into the target (in arrival order, which is
// what `INSERT … SELECT … ORDER BY _gpss_seq` from a staging table would produce, at half the
// database work; constraint errors then surface at the Write that carries the row, statement
// triggers fire once per COPY). Update, Merge, Insert with TruncateTable (whose TRUNCATE must
// wait for Close, spec §4) and tables with row-level security or rules (which COPY refuses or
// bypasses) COPY into a typed staging table and run the mode's SQL at Close. The staging table
// is a temp table, or, when the client names a StagingSchema (where a real GPSS creates its
// external tables), an unlogged table there that Close drops and a rollback removes.
import * as crypto from 'node:crypto';
import type { Client } from 'pg';
import { checkStagingSchema, findTable, missingTableError, type TableColumn } from './catalog';
import { serverTraits } from './server-traits';
import { appendRawLine, binaryKindForOid, RowProtocolError, ValueFormatError } from './copy-values';
import { rawLineSyntax, type RawLineSyntax } from './raw-line-check';
import { RowRenderer, type RowLayout } from './row-renderer';
import { CopyLoader, LoadFailure, type RejectedRow } from './copy-loader';
import { checkErrorLimitOptions, countLimitCertain, limitBreach, type ErrorLimitOptions } from './error-limits';
import {
  buildCopy,
  buildCreateStaging,
  buildDropStaging,
  buildInsertFromStaging,
  buildMergeInsert,
  buildUpdate,
  qualifiedName,
  quoteIdent,
  resolveColumns,
  rewriteCondition,
  SEQ_COLUMN,
  SqlInputError,
  stagingSql,
  type CopyFormat,
  type StagingRef,
} from './sql';
import { aborted, describePgError, GpssStatusError, GrpcStatus, invalid, isPgError } from './status';
import type { WriteRows } from './write-request';
import { SliceClock } from '../shared/slices';
import { formatErrorRow, MAX_REASON_CHARS } from '../gpss/error-rows';

export type LoadMode = 'insert' | 'update' | 'merge';

export interface OpenSpec {
  schema: string;
  table: string;
  preSql: string;
  postSql: string;
  /** OpenRequest.StagingSchema: where the staging table goes ('' = a temp table). */
  stagingSchema: string;
  mode: LoadMode;
  insertColumns: string[];
  matchColumns: string[];
  updateColumns: string[];
  condition: string;
  truncate: boolean;
  limits: ErrorLimitOptions;
  format: CopyFormat;
  header: boolean; // csv: the first line of the load is a header
}

export interface LoadStats {
  SuccessCount: string;
  ErrorCount: string;
  ErrorRows: string[];
}

/** Error messages kept for ErrorRows; further rejected rows are only counted. */
const MAX_KEPT_ERRORS = 100000;

function sqlFailure(err: unknown, what: string): GpssStatusError {
  if (err instanceof GpssStatusError) return err;
  if (err instanceof SqlInputError) return invalid(err.message);
  if (err instanceof LoadFailure) return aborted(`${err.message}: ${describePgError(err.pgError)}`);
  if (isPgError(err)) return aborted(`${what}: ${describePgError(err)}`);
  return new GpssStatusError(GrpcStatus.INTERNAL, `${what}: ${describePgError(err)}`);
}

export class Load {
  state: 'open' | 'failed' = 'open';
  /** Why the load failed (for the error of a later Write or Close). */
  failure = '';
  readonly target: string;
  private received = 0; // rows received (n)
  private rejected = 0; // rows rejected and evaluated (k)
  private errorRows: string[] = [];
  private pending: RejectedRow[] = []; // rejected before COPY, not yet evaluated in order
  private readonly renderer: RowRenderer | null;
  private readonly loader: CopyLoader;
  private readonly startedAt = Date.now();
  private headerPending: boolean;
  private readonly rawSyntax: RawLineSyntax;

  private constructor(
    private readonly client: Client,
    readonly spec: OpenSpec,
    private readonly loadColumns: string[],
    layout: RowLayout,
    private readonly staging: StagingRef | null,
    private readonly tableColumns: TableColumn[],
    readonly description: string,
  ) {
    this.target = qualifiedName(spec.schema, spec.table);
    this.renderer = spec.format.kind === 'text' ? new RowRenderer(layout) : null;
    this.headerPending = spec.header;
    this.rawSyntax = rawLineSyntax(spec.format);
    const rel = staging === null ? spec.table : typeof staging === 'string' ? staging : staging.name;
    const into = staging === null ? this.target : typeof staging === 'string' ? `pg_temp.${quoteIdent(staging)}` : stagingSql(staging);
    const copySql = { text: buildCopy(into, loadColumns, spec.format), binary: buildCopy(into, loadColumns, { kind: 'binary' }) };
    this.loader = new CopyLoader(client, copySql, rel, loadColumns, (row) => this.rejectInOrder(row));
    // Start in COPY BINARY when every column has a binary form; the first row that needs
    // PostgreSQL's text input switches the rest of the load to text (see RowRenderer).
    this.loader.setBinary(this.renderer?.binaryCapable ?? false);
  }

  /** BEGIN → PreSQL → resolve the table and columns → staging table. Rolls back on any error. */
  static async open(client: Client, spec: OpenSpec): Promise<Load> {
    const limitProblem = checkErrorLimitOptions(spec.limits.count, spec.limits.percentage);
    if (limitProblem) throw invalid(limitProblem);
    if (!spec.table) throw invalid('TableName is empty');
    await client.query('BEGIN');
    try {
      if (spec.preSql.trim()) {
        try {
          await client.query(spec.preSql);
        } catch (err) {
          throw aborted(`PreSQL failed: ${describePgError(err)}`);
        }
      }
      // A real GPSS creates its external table in StagingSchema whatever the mode: check it
      // for every mode, so that a flow refused there is refused here too.
      if (spec.stagingSchema) await checkStagingSchema(client, spec.stagingSchema);
      const info = await findTable(client, spec.schema, spec.table);
      if (!info) throw await missingTableError(client, spec.schema, spec.table);
      if (info.relkind !== 'r' && info.relkind !== 'p') throw invalid(`${qualifiedName(info.schema, info.table)} is not a table (relkind ${info.relkind})`);
      const resolved: OpenSpec = { ...spec, schema: info.schema, table: info.table };
      const names = info.columns.map((c) => c.name);
      const insertable = info.columns.filter((c) => !c.generated).map((c) => c.name);
      const ic = resolveColumns(spec.insertColumns, names, 'InsertColumns');
      for (const c of ic) if (!insertable.includes(c)) throw invalid(`InsertColumns: column ${JSON.stringify(c)} is a generated column`);
      let match: string[] = [];
      let update: string[] = [];
      if (spec.mode !== 'insert') {
        if (!spec.matchColumns.length) throw invalid(`${spec.mode === 'merge' ? 'MergeOption' : 'UpdateOption'}: MatchColumns must not be empty`);
        if (!spec.updateColumns.length) throw invalid(`${spec.mode === 'merge' ? 'MergeOption' : 'UpdateOption'}: UpdateColumns must not be empty`);
        match = resolveColumns(spec.matchColumns, names, 'MatchColumns');
        update = resolveColumns(spec.updateColumns, names, 'UpdateColumns');
      }
      const loadColumns = ic.length ? ic : insertable;
      if (!loadColumns.length) throw invalid(`${qualifiedName(info.schema, info.table)} has no columns that can be loaded`);
      for (const c of [...match, ...update]) {
        if (!loadColumns.includes(c)) throw invalid(`column ${JSON.stringify(c)} of MatchColumns/UpdateColumns is not among the loaded columns`);
      }
      if (names.includes(SEQ_COLUMN) && (spec.mode !== 'insert' || spec.truncate || info.needsInsert)) throw invalid(`a table column named ${SEQ_COLUMN} clashes with the staging table's arrival number`);
      const layout = buildLayout(info.columns, loadColumns, ic);
      let staging: StagingRef | null = null;
      // COPY straight into the target only for a plain Insert: TRUNCATE must wait for Close,
      // COPY is refused on tables with row-level security and does not apply rules.
      if (spec.mode !== 'insert' || spec.truncate || info.needsInsert) {
        const name = 'gpss_stage_' + crypto.randomBytes(6).toString('hex');
        staging = spec.stagingSchema ? { schema: spec.stagingSchema, name } : name;
        const byName = new Map(info.columns.map((c) => [c.name, c]));
        await client.query(buildCreateStaging(staging, loadColumns.map((n) => ({ name: n, sqlType: byName.get(n)!.sqlType })), await serverTraits(client)));
      }
      const load = new Load(client, resolved, loadColumns, layout, staging, info.columns, `${spec.mode} ${qualifiedName(info.schema, info.table)}`);
      load.matchColumns = match;
      load.updateColumns = update;
      return load;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw sqlFailure(err, 'Open failed');
    }
  }

  private matchColumns: string[] = [];
  private updateColumns: string[] = [];

  /** Renders and streams one Write's rows. Throws a GpssStatusError; the caller rolls back. */
  async write(rows: WriteRows): Promise<void> {
    const { buf, starts, ends, count } = rows;
    const loader = this.loader;
    const out = loader.out;
    // A 1 MiB Write holds ~10,000 rows (~7 ms to render): embedded in Node-RED, yield every
    // millisecond so that Node-RED keeps reading its inputs (src/shared/slices.ts).
    const clock = new SliceClock();
    for (let r = 0; r < count; r++) {
      // Checked every 512 rows, awaited only when the slice is used up (an await per check was
      // a measurable part of gpss-pg's CPU per row).
      if ((r & 511) === 511 && clock.spent) await clock.pace();
      if (this.headerPending) {
        this.headerPending = false;
        continue;
      }
      const rowNo = ++this.received;
      loader.beginRow(rowNo);
      let needsText = false;
      try {
        if (!this.renderer) loader.addLines(appendRawLine(buf, starts[r], ends[r], out, this.rawSyntax));
        else if (!loader.isBinary) this.renderer.render(buf, starts[r], ends[r], out);
        else if (!this.renderer.renderBinary(buf, starts[r], ends[r], out)) {
          loader.dropRow();
          needsText = true;
        }
      } catch (err) {
        loader.dropRow();
        this.rowFailed(err, rowNo);
      }
      if (needsText) {
        // A value needs PostgreSQL's text input: complete the binary COPY, go on in text.
        try {
          await loader.finishSegment();
        } catch (err) {
          throw sqlFailure(err, 'Write failed');
        }
        this.flushPending(rowNo);
        loader.setBinary(false);
        loader.beginRow(rowNo);
        try {
          this.renderer!.render(buf, starts[r], ends[r], out);
        } catch (err) {
          loader.dropRow();
          this.rowFailed(err, rowNo);
        }
      }
    }
    if (countLimitCertain(this.spec.limits, this.rejected + this.pending.length)) {
      // The count limit is breached whatever PostgreSQL finds in rows still in flight.
      this.flushPending(Infinity);
      throw aborted('error limit reached');
    }
    try {
      await loader.push();
    } catch (err) {
      throw sqlFailure(err, 'Write failed');
    }
    if (loader.segmentRows === 0) this.flushPending(Infinity);
  }

  /** Completes the COPY in flight so that the connection can run other queries. */
  async checkpoint(): Promise<void> {
    try {
      await this.loader.finishSegment();
    } catch (err) {
      throw sqlFailure(err, 'Write failed');
    }
    this.flushPending(Infinity);
  }

  /** Commits: limits → TRUNCATE → mode SQL → PostSQL → COMMIT. Rolls back on any error. */
  async close(maxErrorRows: number): Promise<{ stats: LoadStats; log: string }> {
    let success = 0;
    try {
      await this.loader.finishSegment();
      this.flushPending(Infinity);
      if (this.staging) {
        const staging = this.staging;
        if (this.spec.truncate) await this.client.query(`TRUNCATE ${this.target}`);
        if (this.spec.mode === 'insert') {
          success = (await this.client.query(buildInsertFromStaging(this.target, staging, this.loadColumns))).rowCount ?? 0;
        } else {
          const names = this.tableColumns.map((c) => c.name);
          const cond = this.spec.condition.trim() ? rewriteCondition(this.spec.condition, names) : '';
          success = (await this.client.query(buildUpdate(this.target, staging, this.matchColumns, this.updateColumns, cond))).rowCount ?? 0;
          if (this.spec.mode === 'merge') {
            success += (await this.client.query(buildMergeInsert(this.target, staging, this.matchColumns, this.loadColumns))).rowCount ?? 0;
          }
        }
      } else {
        success = this.loader.loadedRows;
      }
      if (this.spec.postSql.trim()) {
        try {
          await this.client.query(this.spec.postSql);
        } catch (err) {
          throw aborted(`PostSQL failed: ${describePgError(err)}`);
        }
      }
      const drop = this.staging === null ? null : buildDropStaging(this.staging);
      if (drop) await this.client.query(drop);
      await this.client.query('COMMIT');
      this.loader.recycle();
    } catch (err) {
      // If even the rollback fails the connection is gone, which aborts the transaction too.
      await this.rollback().catch(() => undefined);
      throw sqlFailure(err, 'Close failed');
    }
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    const kept = maxErrorRows < 0 ? this.errorRows : this.errorRows.slice(0, maxErrorRows);
    return {
      stats: { SuccessCount: String(success), ErrorCount: String(this.rejected), ErrorRows: kept },
      log: `${this.description}: ${success} rows, ${this.rejected} errors, ${this.received} received in ${seconds.toFixed(2)} s (${Math.round(this.received / seconds)} rows/s, ${this.loader.isBinary ? 'COPY BINARY' : 'COPY text'})`,
    };
  }

  /** Ends any COPY in flight and rolls the transaction back. Throws if the connection is unusable. */
  async rollback(): Promise<void> {
    await this.loader.abort();
    await this.client.query('ROLLBACK');
  }

  /** A row that could not be rendered: a format error is counted later, in order; anything else fails the Write. */
  private rowFailed(err: unknown, rowNo: number): void {
    if (err instanceof ValueFormatError) this.pending.push({ rowNo, column: err.column, message: err.message });
    else if (err instanceof RowProtocolError) throw invalid(`row ${rowNo}: ${err.message}`);
    else throw err;
  }

  /** A row PostgreSQL rejected: first evaluate the earlier rows rejected before COPY. */
  private rejectInOrder(row: RejectedRow): void {
    this.flushPending(row.rowNo);
    this.evaluate(row);
  }

  private flushPending(beforeRowNo: number): void {
    const pending = this.pending;
    let k = 0;
    try {
      while (k < pending.length && pending[k].rowNo < beforeRowNo) this.evaluate(pending[k++]);
    } finally {
      if (k > 0) pending.splice(0, k); // one splice, not a shift per row
    }
  }

  private evaluate(row: RejectedRow): void {
    this.rejected++;
    if (this.errorRows.length < MAX_KEPT_ERRORS) {
      // The documented ErrorRows format (src/gpss/error-rows.ts): `row N: reason`, N the row's
      // 1-based position in the load in Write order.
      const reason = row.column ? `column "${row.column}": ${row.message}` : row.message;
      this.errorRows.push(formatErrorRow(row.rowNo, reason.length > MAX_REASON_CHARS ? reason.slice(0, MAX_REASON_CHARS - 1) + '…' : reason));
    }
    const breach = limitBreach(this.spec.limits, this.rejected, row.rowNo);
    if (breach) throw aborted(`${breach} (last: ${this.errorRows[this.errorRows.length - 1] ?? `row ${row.rowNo}`})`);
  }
}

/** Maps row values to COPY positions for both accepted row widths (spec §3.4). */
export function buildLayout(columns: readonly TableColumn[], loadColumns: readonly string[], insertColumns: readonly string[]): RowLayout {
  const pos = new Map(loadColumns.map((n, i) => [n, i]));
  const tableMap = new Int32Array(columns.length);
  columns.forEach((c, i) => (tableMap[i] = pos.get(c.name) ?? -1));
  let insertMap: Int32Array | null = null;
  let insertWidth = -1;
  if (insertColumns.length && insertColumns.length !== columns.length) {
    insertWidth = insertColumns.length;
    insertMap = new Int32Array(insertWidth);
    insertColumns.forEach((n, i) => (insertMap![i] = pos.get(n)!));
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  return {
    names: [...loadColumns],
    kinds: loadColumns.map((n) => byName.get(n)!.kind),
    binKinds: loadColumns.map((n) => binaryKindForOid(byName.get(n)!.baseOid)),
    tableWidth: columns.length,
    tableMap,
    insertWidth,
    insertMap,
  };
}
