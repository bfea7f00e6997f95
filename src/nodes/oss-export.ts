// Flow node `oss-export`: database → OSS. Wiring over src/oss:
//  - source table/query: exportInMode (client mode through this process, or external mode
//    where the Greenplum segments upload), one export at a time;
//  - source messages: a MessageExport; rows in msg.payload roll into objects by size or age,
//    flushed on msg.flush / topic "flush" and on close; each message is acknowledged only after
//    the object holding its rows is uploaded; the end of a msg.parts sequence may close it.
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  checkNameTemplate, checkPrefix, exportInMode, formatOptionsFrom, GzipPool, MessageExport, nameStem, needsSlices, parseColumnList,
  parseTableName, parseTransferMode, qualifiedName, resolveFormat, rolledObjectStats, tableColumns, type OssTransferStats,
} from '../oss';
import type { OssAccountNode } from './oss-shared/account-node';
import { transferSession, withClient } from './oss-shared/db';
import { redact, toNodeError } from './oss-shared/errors';
import { bool, int, str } from './oss-shared/settings';
import { ThrottledStatus, formatBytes, formatCount } from './oss-shared/progress';
import { OrderedLane } from '../shared/slices';
import { SerialQueue } from './oss-shared/serial';
import { partsOf, SequenceCounter } from './shared/sequence';
import type { GreenplumDbConfigNode } from './shared/types';
import { probeTexts, watchProbes } from './shared/probe';
import { translator } from './shared/i18n';

const MB = 1048576;
const CLOSE_FLUSH_MS = 10000;

function readConfig(def: Record<string, unknown>) {
  const source = str(def.source) || 'table';
  if (!['table', 'query', 'messages'].includes(source)) throw new Error(`oss-export: unknown source ${JSON.stringify(source)}`);
  const format = formatOptionsFrom(def);
  resolveFormat(format); // validate now: a bad delimiter is a deploy-time error
  if (source === 'messages') {
    // Time parts ({{yyyy}}…) are filled in per object in messages mode: a typo is a deploy-time error.
    checkNameTemplate(str(def.prefix), 'prefix');
    checkNameTemplate(str(def.objectName), 'object name');
  }
  return {
    source, table: str(def.table), query: typeof def.query === 'string' ? def.query.trim() : '', columns: parseColumnList(def.columns),
    prefix: checkPrefix(typeof def.prefix === 'string' ? def.prefix.trim() : ''), objectName: str(def.objectName), format,
    level: int(def.compression, 1, 0, 9, 'gzip level'), gzipWorkers: int(def.gzipWorkers, 2, 1, 16, 'gzip workers'),
    objectSizeMB: int(def.objectSizeMB, 256, 1, 1024 * 1024, 'object size (MB)'), partSizeMB: int(def.partSizeMB, 8, 1, 5120, 'part size (MB)'),
    parallelParts: int(def.parallelParts, 4, 1, 64, 'parallel parts'), rollSeconds: int(def.rollSeconds, 60, 0, 7 * 86400, 'roll after (s)'),
    maxBufferMB: int(def.maxBufferMB, 64, 1, 4096, 'max buffer (MB)'), mode: parseTransferMode(def.mode),
    /** Messages source: close the object once every part of a msg.parts sequence is in it. */
    rollOnSequenceEnd: bool(def.rollOnSequenceEnd, false),
  };
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

export = function (RED: NodeAPI) {
  function OssExport(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const t = translator(RED, 'oss-export');
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
    let cfg: ReturnType<typeof readConfig>;
    try {
      cfg = readConfig(def);
    } catch (err) {
      const msg = (err as Error).message;
      status.set({ fill: 'red', shape: 'ring', text: msg.slice(0, 40) });
      node.on('input', (_m: NodeMessageInFlow, _s: unknown, done: (e?: Error) => void) => done(new Error(msg)));
      return;
    }
    const messages = cfg.source === 'messages';
    if (!account) status.set({ fill: 'red', shape: 'ring', text: t('status.noAccount') });
    else if (!db && !messages) status.set({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });
    account?.register(node);
    db?.register(node);
    if (account && (db || messages)) probes = watchProbes(messages ? [account] : [account, db], probeTexts(RED, 'oss-export'), (s) => node.status(s));

    const secrets = (): string[] => [...(account?.secrets() ?? []), ...(db?.credentials?.password ? [db.credentials.password] : [])];
    const fail = (err: unknown, context: string) => toNodeError(err, `${context} failed`, secrets());
    const done3 = (objects: number, rows: number, bytes: number) => t('status.done', { objects, rows: formatCount(rows), bytes: formatBytes(bytes) });
    const queue = new SerialQueue(100);
    const active = new Set<AbortController>();
    let closing = false;
    let pool: GzipPool | null = null;
    const gzipPool = (): GzipPool => (pool ??= new GzipPool({ size: cfg.gzipWorkers }));
    const log = { info: (s: string) => node.log(s), debug: (s: string) => node.debug(`oss-export: ${s}`), warn: (s: string) => node.warn(`oss-export: ${s}`), redact: (s: string) => redact(s, secrets()) };

    async function runExport(msg: Msg): Promise<OssTransferStats> {
      // Queued behind a transfer that close cancelled: do not start a new one.
      if (closing) throw new Error('cancelled: the node was closed before this export started');
      if (!account) throw new Error('oss-export: no oss-account configured');
      if (!db) throw new Error('oss-export: no greenplum-db configured');
      const query = str(msg.query) || (cfg.source === 'query' && !str(msg.table) ? cfg.query : '');
      const table = query ? null : parseTableName(str(msg.table) || cfg.table);
      const prefix = msg.prefix !== undefined ? checkPrefix(str(msg.prefix)) : cfg.prefix;
      const mode = msg.mode !== undefined ? parseTransferMode(msg.mode) : cfg.mode;
      const ac = new AbortController();
      active.add(ac);
      const t0 = Date.now();
      status.set({ fill: 'yellow', shape: 'ring', text: t('status.starting') });
      try {
        const stats = await withClient(db, (pg) => exportInMode({
          session: transferSession(db, pg), source: table ? { table } : { query }, prefix, stem: nameStem(str(msg.objectName) || cfg.objectName, table),
          mode, format: cfg.format, gzipLevel: cfg.level, gzipWorkers: cfg.gzipWorkers, gzipPool, objectSizeMB: cfg.objectSizeMB,
          partSize: cfg.partSizeMB * MB, parallelParts: cfg.parallelParts, newClient: () => account.newClient(), location: () => account.location(),
          signal: ac.signal, log,
          onProgress: (p) => status.progress({ bytes: p.bytesIn, rows: p.rows }, t0),
        }));
        const text = done3(stats.objects.length, stats.rows, stats.bytesOut);
        status.set(stats.warnings?.length ? { fill: 'yellow', shape: 'dot', text: `${text}; ${t('status.dropFailed')}` } : { fill: 'green', shape: 'dot', text });
        return stats;
      } catch (err) {
        const e = fail(ac.signal.aborted && closing ? new Error('cancelled: the node was closed during the transfer') : err, `oss-export of ${table ? qualifiedName(table) : 'query'} to ${account.describe()}/${prefix}`);
        status.set({ fill: 'red', shape: 'ring', text: e.brief });
        throw e;
      } finally {
        active.delete(ac);
      }
    }

    // ---- rows in messages --------------------------------------------------------------
    const rowsLane = new OrderedLane();
    const sequences = new SequenceCounter();
    const exporter = new MessageExport({
      newClient: () => account!.newClient(), prefix: cfg.prefix, objectName: cfg.objectName, table: cfg.table,
      format: cfg.format, gzipLevel: cfg.level, gzipPool, partSize: cfg.partSizeMB * MB, parallelParts: cfg.parallelParts,
      rollBytes: cfg.objectSizeMB * MB, rollMs: cfg.rollSeconds * 1000, maxBufferBytes: cfg.maxBufferMB * MB, prefixField: 'msg.prefix',
      columns: async () => cfg.columns ?? (cfg.table && db ? withClient(db, (pg) => tableColumns(pg, parseTableName(cfg.table))) : null),
      onObject: (o, totals, err) => {
        if (err) return status.set({ fill: 'red', shape: 'ring', text: fail(err, 'upload').brief });
        node.send({ topic: 'object', payload: rolledObjectStats([o], Date.now() - exporter.startedAt) } as NodeMessage);
        status.set({ fill: 'green', shape: 'dot', text: done3(totals.objects, totals.rows, totals.bytesOut) });
      },
    });

    async function handleRows(msg: Msg, send: (m: NodeMessage) => void, done: (e?: Error) => void) {
      const context = `oss-export to ${account?.describe() ?? 'OSS'}/${cfg.prefix}`;
      try {
        if (!account) throw new Error('oss-export: no oss-account configured');
        if (msg.flush === true || msg.topic === 'flush') {
          // As many turns as a payload takes before it is added (add() awaits the layout once), so
          // a flush covers every message before it. The roll happens now; the answer comes when
          // the uploads are done (not awaited: messages behind this one must not wait for uploads).
          await exporter.ready();
          const t0 = Date.now();
          exporter.flush().then(
            (r) => {
              if (r.errors.length) return done(fail(r.errors[0], context));
              msg.payload = rolledObjectStats(r.objects, Date.now() - t0);
              send(msg);
              done();
            },
            (err: unknown) => done(fail(err, context)),
          );
          return;
        }
        const prefix = msg.prefix !== undefined ? str(msg.prefix) : undefined;
        await exporter.add(msg.payload, (err) => (err ? done(fail(err, context)) : done()), prefix);
        // The last part of a sequence is in: close the object (its messages complete on upload).
        const parts = cfg.rollOnSequenceEnd ? partsOf(msg) : null;
        if (parts) {
          try {
            if (sequences.add(parts).finished) exporter.roll();
          } catch (e) {
            // The message is in the object already (it completes with it): report, do not fail it.
            node.warn(`oss-export: ${(e as Error).message}`);
          }
        }
        const p = exporter.progress();
        status.progress(p, exporter.startedAt, t('status.open', { count: p.pending }));
      } catch (err) {
        done(fail(err, context));
      }
    }

    node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage | NodeMessage[]) => void, done: (e?: Error) => void) => {
      const m = msg as Msg;
      if (closing) return done(new Error('oss-export is closing; message not processed'));
      if (messages) {
        // A large payload takes turns of the event loop; messages behind it wait for it, so
        // rows keep their order and a flush still covers every message before it.
        if (rowsLane.idle && !needsSlices(m.payload)) void handleRows(m, send, done);
        else rowsLane.run(() => handleRows(m, send, done));
        return;
      }
      queue.run(() => runExport(m)).then(
        (stats) => {
          m.payload = stats;
          send(m);
          done();
        },
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      probes?.stop();
      closing = true;
      // Cancel running table/query transfers: the library aborts their multipart uploads.
      for (const ac of active) ac.abort();
      const finish = async () => {
        // Messages: upload what we hold within Node-RED's close timeout, then abort.
        await exporter.close(CLOSE_FLUSH_MS, new Error('oss-export closed before the upload finished'));
        await queue.idle();
        await pool?.close();
        pool = null;
      };
      finish()
        .catch((err: unknown) => node.warn(fail(err, 'oss-export close').message))
        .finally(() => void Promise.allSettled([account?.deregister(node), db?.deregister(node)]).then(() => done()));
    });
  }

  RED.nodes.registerType('oss-export', OssExport as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
