// Flow node `oss-export`: database → OSS. A thin adapter over src/oss:
//  - source table/query, client mode: exportQueryToOss (COPY TO STDOUT → parallel gzip →
//    multipart upload, objects rolled by size; on Greenplum one stripe per primary segment, so
//    the object count is a multiple of the segment count);
//  - source table/query, external mode (Greenplum with oss_ext): a writable oss:// external
//    table and INSERT … SELECT, so the segments upload; the table is dropped in `finally`;
//  - source messages: rows in msg.payload roll into objects by size or age, flushed on
//    msg.flush / topic "flush" and on close; each message is acknowledged only after the
//    object holding its rows is uploaded.
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  checkNameTemplate,
  chooseTransferMode,
  createLineEncoder,
  expandNameTemplate,
  exportQueryToOss,
  GzipPool,
  hasOssExt,
  listObjects,
  objectKey,
  objectMime,
  primarySegmentCount,
  resolveFormat,
  type FormatOptions,
  type LineEncoder,
  type OssTransferStats,
} from '../oss';
import type { OssAccountNode } from './oss-shared/account-node';
import { withClient, qualified, canceller, resolveTable, tableColumns } from './oss-shared/db';
import { checkExternalExportWrote, dropFailureReporter, externalExportObstacle, externalExportPlan, runExternalPlan } from './oss-shared/external-plan';
import { toNodeError } from './oss-shared/errors';
import {
  bool,
  checkPrefix,
  formatOptions,
  int,
  mode as readMode,
  nameStem,
  NodeOptionError,
  parseTableName,
  str,
  type Mode,
} from './oss-shared/options';
import { ThrottledStatus, formatBytes, formatCount } from './oss-shared/progress';
import { createObjectSink } from './oss-shared/object-sink';
import { ObjectRoller, type ObjectSink, type RolledObject } from './oss-shared/roller';
import { encodeRowsInSlices, needsSlices, parseColumnList, payloadToRows, payloadToRowsInSlices } from './oss-shared/rows';
import { OrderedLane } from '../shared/slices';
import { SerialQueue } from './oss-shared/serial';
import { partsOf, SequenceCounter } from './kit';
import { exportStripePlan } from './oss-shared/stripes';
import type { GreenplumDbConfigNode } from './kit';
import { probeTexts, watchProbes } from './kit';
import { translator } from './kit';

type Source = 'table' | 'query' | 'messages';

interface ExportConfig {
  source: Source;
  table: string;
  query: string;
  columns: string[] | null;
  prefix: string;
  objectName: string;
  format: FormatOptions;
  level: number; // 0 = no gzip
  gzipWorkers: number;
  objectSizeMB: number;
  partSizeMB: number;
  parallelParts: number;
  rollSeconds: number;
  maxBufferMB: number;
  mode: Mode;
  /** Messages source: close the object once every part of a msg.parts sequence is in it. */
  rollOnSequenceEnd: boolean;
}

const MB = 1048576;
const CLOSE_FLUSH_MS = 10000;

function readConfig(def: Record<string, unknown>): ExportConfig {
  const source = (str(def.source) || 'table') as Source;
  if (!['table', 'query', 'messages'].includes(source)) throw new Error(`oss-export: unknown source ${JSON.stringify(source)}`);
  const format = formatOptions(def);
  resolveFormat(format); // validate now: a bad delimiter is a deploy-time error
  if (source === 'messages') {
    // Time parts ({{yyyy}}…) are filled in per object in messages mode: a typo is a deploy-time error.
    checkNameTemplate(str(def.prefix), 'prefix');
    checkNameTemplate(str(def.objectName), 'object name');
  }
  return {
    source,
    table: str(def.table),
    query: typeof def.query === 'string' ? def.query.trim() : '',
    columns: parseColumnList(def.columns),
    prefix: checkPrefix(typeof def.prefix === 'string' ? def.prefix.trim() : ''),
    objectName: str(def.objectName),
    format,
    level: int(def.compression, 1, 0, 9, 'gzip level'),
    gzipWorkers: int(def.gzipWorkers, 2, 1, 16, 'gzip workers'),
    objectSizeMB: int(def.objectSizeMB, 256, 1, 1024 * 1024, 'object size (MB)'),
    partSizeMB: int(def.partSizeMB, 8, 1, 5120, 'part size (MB)'),
    parallelParts: int(def.parallelParts, 4, 1, 64, 'parallel parts'),
    rollSeconds: int(def.rollSeconds, 60, 0, 7 * 86400, 'roll after (s)'),
    maxBufferMB: int(def.maxBufferMB, 64, 1, 4096, 'max buffer (MB)'),
    mode: readMode(def.mode),
    rollOnSequenceEnd: bool(def.rollOnSequenceEnd, false),
  };
}

function summary(objects: RolledObject[], ms: number): OssTransferStats {
  let rows = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const o of objects) {
    rows += o.rows;
    bytesIn += o.bytesIn;
    bytesOut += o.bytes;
  }
  return { objects: objects.map((o) => ({ key: o.key, bytes: o.bytes, rows: o.rows })), rows, bytesIn, bytesOut, ms };
}

interface ExportNode extends Node {
  account?: OssAccountNode;
  db?: GreenplumDbConfigNode;
}

export = function (RED: NodeAPI) {
  function OssExport(this: ExportNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const t = translator(RED, 'oss-export');
    const node = this;
    const account = RED.nodes.getNode(String(def.account ?? '')) as OssAccountNode | undefined;
    const db = RED.nodes.getNode(String(def.database ?? '')) as GreenplumDbConfigNode | undefined;
    node.account = account;
    node.db = db;
    // The config nodes' deploy-time probes show until the node's own first status.
    let probes: { stop(): void } | null = null;
    const status = new ThrottledStatus((s) => {
      probes?.stop();
      probes = null;
      node.status(s);
    });

    let cfg: ExportConfig;
    try {
      cfg = readConfig(def);
    } catch (err) {
      const msg = (err as Error).message;
      status.set({ fill: 'red', shape: 'ring', text: msg.slice(0, 40) });
      node.on('input', (_m: NodeMessageInFlow, _s: unknown, done: (e?: Error) => void) => done(new Error(msg)));
      return;
    }
    if (!account) status.set({ fill: 'red', shape: 'ring', text: t('status.noAccount') });
    else if (!db && cfg.source !== 'messages') status.set({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });
    account?.register(node);
    db?.register(node);
    if (account && (db || !(cfg.source !== 'messages'))) {
      probes = watchProbes(cfg.source !== 'messages' ? [account, db] : [account], probeTexts(RED, 'oss-export'), (s) => node.status(s));
    }

    const secrets = (): string[] => [...(account?.secrets() ?? []), ...(db?.credentials?.password ? [db.credentials.password] : [])];
    const queue = new SerialQueue(100);
    const active = new Set<AbortController>();
    let closing = false;
    let pool: GzipPool | null = null;
    const gzipPool = (): GzipPool => {
      if (!pool) pool = new GzipPool({ size: cfg.gzipWorkers });
      return pool;
    };

    // ---- table / query ---------------------------------------------------------------

    async function runExport(msg: NodeMessageInFlow & Record<string, unknown>): Promise<OssTransferStats> {
      // Queued behind a transfer that close cancelled: do not start a new one.
      if (closing) throw new Error('cancelled: the node was closed before this export started');
      if (!account) throw new Error('oss-export: no oss-account configured');
      if (!db) throw new Error('oss-export: no greenplum-db configured');
      const query = str(msg.query) || (cfg.source === 'query' && !str(msg.table) ? cfg.query : '');
      const table = query ? null : parseTableName(str(msg.table) || cfg.table);
      const prefix = msg.prefix !== undefined ? checkPrefix(str(msg.prefix)) : cfg.prefix;
      const stem = nameStem(str(msg.objectName) || cfg.objectName, table);
      const mode = msg.mode !== undefined ? readMode(msg.mode) : cfg.mode;
      const what = table ? qualified(table) : 'query';
      const context = `oss-export of ${what} to ${account.describe()}/${prefix}`;
      const ac = new AbortController();
      active.add(ac);
      const t0 = Date.now();
      status.set({ fill: 'yellow', shape: 'ring', text: t('status.starting') });
      try {
        const stats = await withClient(db, async (pg) => {
          if (table) await tableColumns(pg, table); // clear "does not exist" before any upload
          let chosen = await chooseTransferMode(pg, mode);
          // Writable oss:// tables write no header and only LF: those settings need client mode.
          const obstacle = chosen === 'external' ? externalExportObstacle(cfg.format) : null;
          if (obstacle) {
            if (mode === 'external') throw new Error(`external mode cannot export with these settings: ${obstacle}`);
            node.log(`external mode not used: ${obstacle}; exporting in client mode`);
            chosen = 'client';
          }
          if (chosen === 'external') {
            if (!(await hasOssExt(pg))) {
              throw new Error(`mode "external" needs the oss_ext extension in database "${db.database}" (CREATE EXTENSION oss_ext); use mode auto or client`);
            }
            return exportExternal(pg, { table, query, prefix, stem }, ac.signal);
          }
          // Greenplum: as many objects side by side as primary segments (1 on PostgreSQL).
          const plan = exportStripePlan(await primarySegmentCount(pg), cfg.parallelParts);
          if (plan.stripes > 1) node.debug(`oss-export: ${plan.stripes} stripes (one per primary segment), ${plan.parallelParts} part(s) in flight each`);
          return exportQueryToOss({
            pgClient: pg,
            ...(query ? { query } : { table: table! }),
            oss: account.newClient(),
            prefix,
            name: stem,
            format: cfg.format,
            gzipLevel: cfg.level,
            rolloverBytes: cfg.objectSizeMB * MB,
            upload: { partSize: cfg.partSizeMB * MB, parallel: plan.parallelParts },
            stripes: plan.stripes,
            gzipPool: cfg.level > 0 ? gzipPool() : undefined,
            signal: ac.signal,
            onProgress: (p) => status.progress({ bytes: p.bytesIn, rows: p.rows }, t0),
          });
        });
        const totals = t('status.done', { objects: stats.objects.length, rows: formatCount(stats.rows), bytes: formatBytes(stats.bytesOut) });
        if (stats.warnings?.length) status.set({ fill: 'yellow', shape: 'dot', text: `${totals}; ${t('status.dropFailed')}` });
        else status.set({ fill: 'green', shape: 'dot', text: totals });
        return stats;
      } catch (err) {
        const e = toNodeError(ac.signal.aborted && closing ? new Error('cancelled: the node was closed during the transfer') : err, `${context} failed`, secrets());
        status.set({ fill: 'red', shape: 'ring', text: e.brief });
        throw e;
      } finally {
        active.delete(ac);
      }
    }

    /** Greenplum + oss_ext: the segments write the objects themselves. */
    async function exportExternal(
      pg: import('pg').PoolClient,
      p: { table: { schema?: string; table: string } | null; query: string; prefix: string; stem: string },
      signal: AbortSignal,
    ): Promise<OssTransferStats> {
      const t0 = Date.now();
      const plan = externalExportPlan({
        source: p.table ? await resolveTable(pg, p.table) : { query: p.query },
        stem: p.stem,
        prefix: p.prefix,
        format: cfg.format,
        level: cfg.level,
        workers: cfg.gzipWorkers,
        objectSizeMB: cfg.objectSizeMB,
        location: account!.location(),
      });
      node.debug(`oss-export: ${plan.create.redacted}`);
      const drops = dropFailureReporter(pg, (t) => node.warn(`oss-export: ${t}`), secrets);
      const rows = await runExternalPlan(pg, plan, signal, await canceller(db!, pg), { onDropFailed: drops.onDropFailed });
      const ext = plan.name;
      const listed = await listObjects(account!.newClient(), `${p.prefix}${ext}`);
      // oss_ext can report success when its appends failed: never trust the INSERT's count alone.
      checkExternalExportWrote({ rows, objects: listed, gzip: cfg.level > 0, where: `${p.prefix}${ext}*` });
      const bytesOut = listed.reduce((a, o) => a + o.size, 0);
      // Per-object row counts are not reported by the segments.
      return { objects: listed.map((o) => ({ key: o.key, bytes: o.size, rows: 0 })), rows, bytesIn: 0, bytesOut, ms: Date.now() - t0, ...(drops.warnings.length ? { warnings: drops.warnings } : {}) };
    }

    // ---- rows in messages --------------------------------------------------------------

    let roller: ObjectRoller | null = null;
    let encoder: LineEncoder | null = null;
    let layout: readonly string[] | null = null;
    let layoutReady: Promise<void> | null = null;
    let rollerT0 = Date.now();
    const rowsLane = new OrderedLane();
    // The prefix (dialog, or msg.prefix) of the object being written: time parts such as
    // {{yyyy}}/{{MM}}/{{dd}}/{{HH}} are filled in when an object opens, with the time it opens.
    let openPrefix = cfg.prefix;
    const sequences = new SequenceCounter();

    function openSink(seq: number): ObjectSink {
      const gzip = cfg.level > 0;
      const at = new Date();
      const prefix = checkPrefix(expandNameTemplate(openPrefix, at, 'prefix'));
      const name = nameStem(expandNameTemplate(cfg.objectName, at, 'object name'), cfg.table ? parseTableName(cfg.table) : null);
      const key = objectKey({ prefix, name, at, seq, format: cfg.format.format, gzip });
      return createObjectSink({
        client: account!.newClient(),
        key,
        mime: objectMime(cfg.format.format, gzip),
        gzipLevel: cfg.level,
        ...(gzip ? { pool: gzipPool() } : {}),
        partSize: cfg.partSizeMB * MB,
        parallel: cfg.parallelParts,
        onSettled: (err) => {
          // Roll the failed object at once: its messages fail now, not at the next roll.
          if (err) roller?.rollKey(key);
        },
      });
    }

    function ensureLayout(): Promise<void> {
      if (!layoutReady) {
        layoutReady = (async () => {
          if (cfg.columns) layout = cfg.columns;
          else if (cfg.table && db) layout = await withClient(db, (pg) => tableColumns(pg, parseTableName(cfg.table)));
        })();
        // A failure (database down, table missing) fails these messages; the next one retries.
        layoutReady.catch(() => {
          layoutReady = null;
        });
      }
      return layoutReady;
    }

    function getRoller(): ObjectRoller {
      if (roller) return roller;
      encoder = createLineEncoder(cfg.format);
      if (encoder.format.header && !layout) throw new Error('header: true needs the column names (set columns or table, or send row objects)');
      rollerT0 = Date.now();
      roller = new ObjectRoller({
        rollBytes: cfg.objectSizeMB * MB,
        rollMs: cfg.rollSeconds * 1000,
        maxBufferBytes: cfg.maxBufferMB * MB,
        header: encoder.format.header && layout ? encoder.encodeHeader(layout) : '',
        open: openSink,
        onObject: (o, err) => {
          if (err) {
            status.set({ fill: 'red', shape: 'ring', text: toNodeError(err, 'upload', secrets()).brief });
            return;
          }
          node.send({ topic: 'object', payload: summary([o], Date.now() - rollerT0) } as NodeMessage);
          const tot = roller!.totals;
          status.set({ fill: 'green', shape: 'dot', text: t('status.done', { objects: tot.objects, rows: formatCount(tot.rows), bytes: formatBytes(tot.bytesOut) }) });
        },
      });
      return roller;
    }

    async function handleRows(msg: NodeMessageInFlow & Record<string, unknown>, send: (m: NodeMessage) => void, done: (e?: Error) => void) {
      const context = `oss-export to ${account?.describe() ?? 'OSS'}/${cfg.prefix}`;
      try {
        if (!account) throw new Error('oss-export: no oss-account configured');
        await ensureLayout();
        if (msg.flush === true || msg.topic === 'flush') {
          // The roll happens now; the answer comes when the uploads are done (not awaited here:
          // messages queued behind this one must not wait for uploads).
          const t0 = Date.now();
          const flushed = roller ? roller.flush() : Promise.resolve({ objects: [], errors: [] });
          flushed.then(
            (r) => {
              if (r.errors.length) {
                done(toNodeError(r.errors[0], `${context} failed`, secrets()));
                return;
              }
              msg.payload = summary(r.objects, Date.now() - t0);
              send(msg);
              done();
            },
            (err: unknown) => done(toNodeError(err, `${context} failed`, secrets())),
          );
          return;
        }
        // A large payload is converted and encoded in slices: the event loop keeps turning.
        const large = needsSlices(msg.payload);
        const { rows, columns } = large ? await payloadToRowsInSlices(msg.payload, layout) : payloadToRows(msg.payload, layout);
        if (!layout && columns) layout = columns;
        const r = getRoller();
        let text = '';
        if (large) text = await encodeRowsInSlices(rows, encoder!.encodeRow);
        else for (const row of rows) text += encoder!.encodeRow(row);
        const buf = Buffer.from(text, 'utf8');
        // A message never spans two prefixes: another msg.prefix closes the open object first.
        const prefix = msg.prefix !== undefined ? checkPrefix(str(msg.prefix)) : cfg.prefix;
        if (prefix !== openPrefix) {
          checkNameTemplate(prefix, 'msg.prefix');
          r.roll();
          openPrefix = prefix;
        }
        r.add(buf, rows.length, (err) => (err ? done(toNodeError(err, `${context} failed`, secrets())) : done()));
        // The last part of a sequence is in: close the object (its messages complete on upload).
        const parts = cfg.rollOnSequenceEnd ? partsOf(msg) : null;
        if (parts) {
          try {
            if (sequences.add(parts).finished) r.roll();
          } catch (e) {
            // The message is in the object already (it completes with it): report, do not fail it.
            node.warn(`oss-export: ${(e as Error).message}`);
          }
        }
        status.progress({ bytes: r.totals.bytesIn + r.buffered(), rows: r.totals.rows }, rollerT0, t('status.open', { count: r.pending() }));
      } catch (err) {
        done(toNodeError(err, `${context} failed`, secrets()));
      }
    }

    node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage | NodeMessage[]) => void, done: (e?: Error) => void) => {
      const m = msg as NodeMessageInFlow & Record<string, unknown>;
      if (closing) {
        done(new Error('oss-export is closing; message not processed'));
        return;
      }
      if (cfg.source === 'messages') {
        // A large payload takes turns of the event loop; messages behind it wait for it, so
        // rows keep their order and a flush still covers every message before it.
        if (rowsLane.idle && !needsSlices(m.payload)) void handleRows(m, send, done);
        else rowsLane.run(() => handleRows(m, send, done));
        return;
      }
      queue
        .run(() => runExport(m))
        .then(
          (stats) => {
            m.payload = stats;
            send(m);
            done();
          },
          (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
        );
    });

    node.on('close', (removed: boolean, done: () => void) => {
      void removed;
      probes?.stop();
      closing = true;
      // Cancel running table/query transfers: the library aborts their multipart uploads.
      for (const ac of active) ac.abort();
      const finish = async () => {
        if (roller) {
          // Messages mode: upload what we hold, within Node-RED's close timeout; past the
          // deadline abort (no dangling multipart uploads) and fail the waiting messages.
          roller.stop();
          let timer: NodeJS.Timeout | undefined;
          const flushed = await Promise.race([
            roller.flush().then(() => true),
            new Promise<boolean>((r) => {
              timer = setTimeout(() => r(false), CLOSE_FLUSH_MS);
            }),
          ]);
          if (timer) clearTimeout(timer);
          if (!flushed) await roller.abort(new Error('oss-export closed before the upload finished'));
        }
        await queue.idle();
        if (pool) await pool.close();
        pool = null;
      };
      finish()
        .catch((err: unknown) => node.warn(toNodeError(err, 'oss-export close', secrets()).message))
        .finally(() => {
          const left: Promise<void>[] = [];
          if (account) left.push(account.deregister(node));
          if (db) left.push(db.deregister(node));
          void Promise.allSettled(left).then(() => done());
        });
    });
  }

  RED.nodes.registerType('oss-export', OssExport as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
