// Flow node `oss-import`: OSS → database, or OSS → messages. A thin adapter over src/oss:
//  - target table, client mode: importFromOss (parallel downloads, gunzip by magic bytes,
//    COPY FROM STDIN, all objects in one transaction);
//  - target table, external mode (Greenplum with oss_ext): a readable oss:// external table
//    with optional SEGMENT REJECT LIMIT and INSERT … SELECT; the table is dropped in `finally`;
//  - target messages: readRowsFromOss, re-batched into messages of N rows (every row exactly
//    once, in object order), paced so downstream nodes get each batch before the next is read.
// Output 1: the stats message. Output 2: row batches (messages target).
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { PoolClient } from 'pg';
import {
  chooseTransferMode,
  hasOssExt,
  importFromOss,
  listObjects,
  primarySegmentCount,
  readRowsFromOss,
  sniffGzip,
  resolveFormat,
  type FormatOptions,
  type ParsedRow,
  type OssTransferStats,
} from '../oss';
import type { OssAccountNode } from './oss-shared/account-node';
import { qualified, canceller, resolveTable, tableColumns, withClient } from './oss-shared/db';
import { dropFailureReporter, externalImportObstacle, externalImportPlan, isGzipSet, runExternalPlan, type RejectedRows, type SniffedObject } from './oss-shared/external-plan';
import { objectSelection, type ObjectSelection } from './oss-shared/object-selection';
import { toNodeError } from './oss-shared/errors';
import {
  bool,
  checkPrefix,
  formatOptions,
  int,
  mode as readMode,
  NodeOptionError,
  parseKeys,
  parseTableName,
  str,
  type Mode,
} from './oss-shared/options';
import { ThrottledStatus, formatBytes, formatCount } from './oss-shared/progress';
import { parseColumnList } from './oss-shared/rows';
import { Credits } from './oss-shared/credits';
import { SerialQueue } from './oss-shared/serial';
import { nestedParts } from './kit';
import type { GreenplumDbConfigNode } from './kit';
import { probeTexts, watchProbes } from './kit';
import { translator } from './kit';

type Target = 'table' | 'messages';

interface ImportConfig {
  target: Target;
  table: string;
  columns: string[] | null;
  prefix: string;
  /** Direct children of the folder `prefix` only (oss_ext `dir=`); default recursive. */
  folderOnly: boolean;
  format: FormatOptions;
  /** External mode: FILL MISSING FIELDS (client-mode COPY has no such option). */
  fillMissing: boolean;
  parallel: number;
  truncate: boolean;
  rejectLimit: number; // 0 = none (external mode)
  rejectUnit: 'ROWS' | 'PERCENT';
  batchSize: number;
  rowShape: 'array' | 'object';
  /** 'yield': one event-loop turn per batch; 'tick': wait for msg.tick beyond `inflight` batches. */
  pacing: 'yield' | 'tick';
  inflight: number;
  mode: Mode;
}

function readConfig(def: Record<string, unknown>): ImportConfig {
  const target = (str(def.target) || 'table') as Target;
  if (target !== 'table' && target !== 'messages') throw new Error(`oss-import: unknown target ${JSON.stringify(target)}`);
  const format = formatOptions(def);
  resolveFormat(format);
  const unit = str(def.rejectUnit) === 'PERCENT' ? 'PERCENT' : 'ROWS';
  return {
    target,
    table: str(def.table),
    columns: parseColumnList(def.columns),
    prefix: checkPrefix(typeof def.prefix === 'string' ? def.prefix.trim() : ''),
    folderOnly: bool(def.folderOnly, false),
    format,
    fillMissing: bool(def.fillMissing, false),
    parallel: int(def.parallel, 2, 1, 32, 'parallel downloads'),
    truncate: bool(def.truncate, false),
    rejectLimit: int(def.rejectLimit, 0, 0, unit === 'PERCENT' ? 100 : 2 ** 31 - 1, 'reject limit'),
    rejectUnit: unit,
    batchSize: int(def.batchSize, 1000, 1, 1000000, 'rows per message'),
    rowShape: str(def.rowShape) === 'object' ? 'object' : 'array',
    pacing: str(def.pacing) === 'tick' ? 'tick' : 'yield',
    inflight: int(def.inflight, 2, 1, 1000, 'batches in flight'),
    mode: readMode(def.mode),
  };
}

export = function (RED: NodeAPI) {
  function OssImport(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const t = translator(RED, 'oss-import');
    const node = this;
    const account = RED.nodes.getNode(String(def.account ?? '')) as OssAccountNode | undefined;
    const db = RED.nodes.getNode(String(def.database ?? '')) as GreenplumDbConfigNode | undefined;
    // The config nodes' deploy-time probes show until the node's own first status.
    let probes: { stop(): void } | null = null;
    const status = new ThrottledStatus((s) => {
      probes?.stop();
      probes = null;
      node.status(s);
    });
    let cfg: ImportConfig;
    try {
      cfg = readConfig(def);
    } catch (err) {
      const msg = (err as Error).message;
      status.set({ fill: 'red', shape: 'ring', text: msg.slice(0, 40) });
      node.on('input', (_m: NodeMessageInFlow, _s: unknown, done: (e?: Error) => void) => done(new Error(msg)));
      return;
    }
    if (!account) status.set({ fill: 'red', shape: 'ring', text: t('status.noAccount') });
    else if (!db && cfg.target === 'table') status.set({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });
    account?.register(node);
    db?.register(node);
    if (account && (db || !(cfg.target === 'table'))) {
      probes = watchProbes(cfg.target === 'table' ? [account, db] : [account], probeTexts(RED, 'oss-import'), (s) => node.status(s));
    }
    const secrets = (): string[] => [...(account?.secrets() ?? []), ...(db?.credentials?.password ? [db.credentials.password] : [])];
    const queue = new SerialQueue(100);
    const active = new Set<AbortController>();
    let closing = false;
    const credits = new Credits(cfg.inflight);

    /**
     * Where to read: msg.keys wins over msg.prefix over the dialog's prefix. The selection is
     * the same for client and external mode (see object-selection.ts).
     */
    function sourceOf(msg: Record<string, unknown>): { keys: string[] | null; prefix: string; sel: ObjectSelection } {
      const keys = parseKeys(msg.keys);
      const prefix = msg.prefix !== undefined ? checkPrefix(str(msg.prefix)) : cfg.prefix;
      if (!keys && !prefix) throw new NodeOptionError('prefix', 'no objects to import: set a prefix (dialog or msg.prefix) or msg.keys');
      const folderOnly = msg.folderOnly !== undefined ? bool(msg.folderOnly, false) : cfg.folderOnly;
      return { keys, prefix, sel: objectSelection(prefix, keys ? false : folderOnly) };
    }

    // ---- into a table ---------------------------------------------------------------------

    async function runTableImport(msg: Record<string, unknown>, signal: AbortSignal): Promise<OssTransferStats> {
      if (!account) throw new Error('oss-import: no oss-account configured');
      if (!db) throw new Error('oss-import: no greenplum-db configured');
      const table = parseTableName(str(msg.table) || cfg.table);
      const src = sourceOf(msg);
      const mode = msg.mode !== undefined ? readMode(msg.mode) : cfg.mode;
      const t0 = Date.now();
      return withClient(db, async (pg) => {
        const tableCols = await tableColumns(pg, table); // "table … does not exist" before any download
        let chosen = await chooseTransferMode(pg, mode);
        if (chosen === 'external' && src.keys) {
          if (mode === 'external') throw new NodeOptionError('keys', 'external mode reads a prefix; msg.keys needs client mode');
          chosen = 'client';
        }
        if (chosen === 'external') {
          if (!(await hasOssExt(pg))) {
            throw new Error(`mode "external" needs the oss_ext extension in database "${db.database}" (CREATE EXTENSION oss_ext); use mode auto or client`);
          }
          for (const c of cfg.columns ?? []) {
            if (!tableCols.includes(c)) throw new NodeOptionError('columns', `column ${JSON.stringify(c)} is not a column of ${qualified(table)}`);
          }
          // Everything oss_ext will read, checked before any DDL (compression, header).
          const client = account.newClient();
          const listed = await listObjects(client, src.sel.list.prefix, { directOnly: src.sel.list.directOnly, signal });
          if (!listed.length) throw new Error(`no ${src.sel.describe} in ${account.describe()}`);
          const objects = await sniffGzip(client, listed, { signal });
          const obstacle = externalImportObstacle({ objects, segments: await primarySegmentCount(pg), header: resolveFormat(cfg.format).header });
          if (!obstacle) return importExternal(pg, table, src, objects, signal);
          if (mode === 'external') throw new Error(`external mode cannot import these objects: ${obstacle}`);
          node.log(`external mode not used: ${obstacle}; importing in client mode`);
          chosen = 'client';
        }
        if (cfg.fillMissing) {
          throw new NodeOptionError('fillMissing', '"fill missing fields" needs external mode (Greenplum with oss_ext): COPY in client mode rejects rows with missing fields');
        }
        const common = {
          pgClient: pg,
          table,
          ...(cfg.columns ? { columns: cfg.columns } : {}),
          format: cfg.format,
          oss: account.newClient(),
          ...(src.keys ? { keys: src.keys } : { prefix: src.sel.list.prefix, directOnly: src.sel.list.directOnly }),
          parallel: cfg.parallel,
          signal,
          onProgress: (p: { bytesOut: number; rows: number }) => status.progress({ bytes: p.bytesOut, rows: p.rows }, t0),
        };
        if (!cfg.truncate) return importFromOss(common);
        // TRUNCATE and the load in one transaction: readers never see an empty table.
        await pg.query('BEGIN');
        await pg.query(`TRUNCATE ${qualified(table)}`);
        const stats = await importFromOss({ ...common, transaction: false });
        await pg.query('COMMIT');
        return stats;
      });
    }

    async function importExternal(
      pg: PoolClient,
      table: { schema?: string; table: string },
      src: { prefix: string; sel: ObjectSelection },
      objects: readonly SniffedObject[],
      signal: AbortSignal,
    ): Promise<OssTransferStats> {
      const t0 = Date.now();
      const plan = externalImportPlan({
        target: await resolveTable(pg, table),
        prefix: src.prefix,
        folderOnly: src.sel.list.directOnly,
        columns: cfg.columns,
        format: cfg.format,
        fillMissingFields: cfg.fillMissing,
        // compressiontype for the whole set: externalImportObstacle refused a mixed one.
        gzip: isGzipSet(objects),
        rejectLimit: cfg.rejectLimit,
        rejectUnit: cfg.rejectUnit,
        truncate: cfg.truncate,
        location: account!.location(),
      });
      node.debug(`oss-import: ${plan.create.redacted}`);
      let rejected: RejectedRows | undefined;
      const drops = dropFailureReporter(pg, (t) => node.warn(`oss-import: ${t}`), secrets);
      const rows = await runExternalPlan(pg, plan, signal, await canceller(db!, pg), {
        onRejected: (r) => {
          rejected = r;
        },
        onDropFailed: drops.onDropFailed,
      });
      const bytesIn = objects.reduce((a, o) => a + o.size, 0);
      if (rejected && rejected.count > 0) {
        // Nothing silent: the reject limit skipped these rows; they go out with the stats.
        const first = rejected.rows[0];
        node.warn(`oss-import: ${rejected.count} row(s) rejected under the reject limit and not loaded into ${qualified(table)} (first: line ${first?.line ?? '?'}: ${first?.error ?? ''}); see msg.payload.rejected`);
      }
      // Per-object row counts are not reported by the segments.
      return {
        objects: objects.map((o) => ({ key: o.key, bytes: o.size, rows: 0 })), rows, bytesIn, bytesOut: 0, ms: Date.now() - t0,
        ...(rejected ? { rejected } : {}),
        ...(drops.warnings.length ? { warnings: drops.warnings } : {}),
      };
    }

    // ---- into messages ----------------------------------------------------------------------

    let objectColumns: Promise<string[] | null> | null = null;
    function rowColumns(msg: Record<string, unknown>): Promise<string[] | null> {
      if (cfg.rowShape !== 'object') return Promise.resolve(null);
      const t = str(msg.table) || cfg.table;
      if (cfg.columns) return Promise.resolve(cfg.columns);
      if (!t || !db) return Promise.reject(new NodeOptionError('columns', 'rows as objects need the column names: set columns, or a table and database'));
      if (!objectColumns || str(msg.table)) {
        const p = withClient(db, (pg) => tableColumns(pg, parseTableName(t)));
        objectColumns = p;
        // Do not keep a failure: the next message asks the database again.
        p.catch(() => {
          if (objectColumns === p) objectColumns = null;
        });
      }
      return objectColumns;
    }

    async function runMessages(msg: NodeMessageInFlow & Record<string, unknown>, send: (m: (NodeMessage | null)[]) => void, signal: AbortSignal): Promise<OssTransferStats> {
      if (!account) throw new Error('oss-import: no oss-account configured');
      const src = sourceOf(msg);
      const columns = await rowColumns(msg);
      const t0 = Date.now();
      const id = randomUUID();
      const perObject = new Map<string, number>();
      let batch: ParsedRow[] = [];
      let index = 0;
      let rows = 0;
      let bytes = 0;
      // A full batch is held back until the next row shows it is not the last one, so the
      // final message of the sequence always carries parts.count (as the split node does).
      let held: ParsedRow[] | null = null;
      credits.reset();
      const onAbort = () => credits.abort(new Error('cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      const emit = async (rowsOut: ParsedRow[], last: boolean) => {
        // Pacing 'tick': wait for the flow to acknowledge earlier batches (msg.tick).
        if (cfg.pacing === 'tick') {
          // No time limit (a slow database may take long), but a wait of more than a second
          // shows in the status, so a flow without the loop back is not silently stuck.
          const shown = setTimeout(() => status.set({ fill: 'yellow', shape: 'ring', text: t('sequence.waitingTick') }), 1000);
          try {
            await credits.acquire();
          } finally {
            clearTimeout(shown);
          }
        }
        const payload = columns ? rowsOut.map((r) => toObject(r, columns)) : rowsOut;
        // A shallow copy of the request: msg.gpss.job, req/res and correlation ids go with every
        // batch; the batches' parts nest over the request's own (as the split node does).
        const out: NodeMessage & Record<string, unknown> = { ...msg, payload, parts: nestedParts(msg.parts, id, index, last ? index + 1 : undefined) as NodeMessage['parts'] };
        if (last) out.complete = true;
        else delete out.complete;
        index++;
        send([null, out]);
        // Pacing: Node-RED delivers with setImmediate, so yielding one turn here lets the
        // downstream nodes take this batch before we parse (and download) the next one.
        await new Promise<void>((r) => setImmediate(r));
      };
      try {
        for await (const chunk of readRowsFromOss({
          oss: account.newClient(),
          format: cfg.format,
          ...(src.keys ? { keys: src.keys } : { prefix: src.sel.list.prefix, directOnly: src.sel.list.directOnly }),
          batchSize: cfg.batchSize,
          parallel: cfg.parallel,
          signal,
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
            if (batch.length >= cfg.batchSize) {
              held = batch;
              batch = [];
            }
          }
          rows += chunk.rows.length;
          status.progress({ bytes, rows }, t0);
        }
        if (held) await emit(held, batch.length === 0);
        // An empty import still sends one (empty) final batch so sequence-aware nodes see an end.
        if (batch.length || index === 0) await emit(batch, true);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      return {
        objects: [...perObject].map(([key, n]) => ({ key, bytes: 0, rows: n })),
        rows,
        bytesIn: 0,
        bytesOut: bytes,
        ms: Date.now() - t0,
      };
    }

    node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage | (NodeMessage | null)[]) => void, done: (e?: Error) => void) => {
      const m = msg as NodeMessageInFlow & Record<string, unknown>;
      if (m.tick === true) {
        // An acknowledgement of a batch (pacing 'tick'), not a request to import.
        credits.release();
        done();
        return;
      }
      if (closing) {
        done(new Error('oss-import is closing; message not processed'));
        return;
      }
      const what = cfg.target === 'table' ? `into ${str(m.table) || cfg.table || '?'}` : 'as messages';
      const context = `oss-import from ${account?.describe() ?? 'OSS'}/${str(m.prefix) || cfg.prefix} ${what}`;
      queue
        .run(async () => {
          // Queued behind a transfer that close cancelled: do not start a new one.
          if (closing) throw new Error('cancelled: the node was closed before this import started');
          const ac = new AbortController();
          active.add(ac);
          status.set({ fill: 'yellow', shape: 'ring', text: t('status.starting') });
          try {
            return cfg.target === 'table' ? await runTableImport(m, ac.signal) : await runMessages(m, send, ac.signal);
          } catch (err) {
            throw ac.signal.aborted && closing ? new Error('cancelled: the node was closed during the transfer') : err;
          } finally {
            active.delete(ac);
          }
        })
        .then(
          (stats) => {
            const rejectedCount = (stats as { rejected?: RejectedRows }).rejected?.count ?? 0;
            const text = t('status.done', { objects: stats.objects.length, rows: formatCount(stats.rows), bytes: formatBytes(stats.bytesIn || stats.bytesOut) })
              + (rejectedCount ? ' ' + t('status.rejected', { count: formatCount(rejectedCount) }) : '');
            if (stats.warnings?.length) status.set({ fill: 'yellow', shape: 'dot', text: `${text}; ${t('status.dropFailed')}` });
            else status.set({ fill: rejectedCount ? 'yellow' : 'green', shape: 'dot', text });
            m.payload = stats;
            send([m, null]);
            done();
          },
          (err: unknown) => {
            const e = toNodeError(err, `${context} failed`, secrets());
            status.set({ fill: 'red', shape: 'ring', text: e.brief });
            done(e);
          },
        );
    });

    node.on('close', (removed: boolean, done: () => void) => {
      void removed;
      probes?.stop();
      closing = true;
      for (const ac of active) ac.abort();
      credits.abort(new Error('cancelled: the node was closed during the transfer'));
      queue
        .idle()
        .catch(() => undefined)
        .finally(() => {
          const left: Promise<void>[] = [];
          if (account) left.push(account.deregister(node));
          if (db) left.push(db.deregister(node));
          void Promise.allSettled(left).then(() => done());
        });
    });
  }

  RED.nodes.registerType('oss-import', OssImport as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

function toObject(row: ParsedRow, columns: readonly string[]): Record<string, string | null> {
  const o: Record<string, string | null> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]] = i < row.length ? row[i] : null;
  return o;
}

function rowBytes(row: ParsedRow): number {
  let n = row.length;
  for (const v of row) if (v) n += v.length;
  return n;
}
