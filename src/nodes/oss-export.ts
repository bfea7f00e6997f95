// Flow node `oss-export`: database → OSS. Wiring over src/oss:
//  - source table/query: exportInMode (client mode through this process, or external mode
//    where the Greenplum segments upload), one export at a time;
//  - source messages: a MessageExport; rows in msg.payload roll into objects by size or age,
//    flushed on msg.flush / topic "flush" and on close; each message is acknowledged only after
//    the object holding its rows is uploaded; the end of a msg.parts sequence may close it.
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import * as oss from '../oss';
import { OrderedLane } from '../shared/slices';
import * as kit from './kit';

const MB = 1048576;
const CLOSE_FLUSH_MS = 10000;

type Msg = NodeMessageInFlow & Record<string, unknown>;

export = function (RED: NodeAPI) {
  function OssExport(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const t = kit.translator(RED, 'oss-export');
    const node = this;
    const account = RED.nodes.getNode(String(def.account ?? '')) as kit.OssAccountNode | null;
    const db = RED.nodes.getNode(String(def.database ?? '')) as kit.GreenplumDbConfigNode | null;
    const messages = def.source === 'messages';
    const use = kit.useConfigNodes(node, messages ? [account] : [account, db], kit.probeTexts(RED, 'oss-export'));
    const status = use.status;
    const transfers = new kit.TransferQueue('export');
    let exporter: oss.MessageExport | null = null;
    let pool: oss.GzipPool | null = null;
    node.on('close', (_removed: boolean, done: () => void) => {
      // Cancel running table/query transfers (the library aborts their multipart uploads); upload
      // the messages held, within Node-RED's close timeout (then abort: no dangling uploads).
      transfers.cancel();
      void (exporter?.close(CLOSE_FLUSH_MS, new Error('oss-export closed before the upload finished')) ?? Promise.resolve())
        .then(() => transfers.close())
        .then(() => pool?.close())
        .catch((err: unknown) => node.warn(fail(err, 'oss-export close').message))
        .finally(() => void use.release().then(() => done()));
    });
    const secrets = (): string[] => [...(account?.secrets() ?? []), ...(db?.credentials?.password ? [db.credentials.password] : [])];
    const fail = (err: unknown, context: string) => kit.toNodeError(err, `${context} failed`, secrets(), 'OSS_NODE');
    let cfg: oss.ExportSettings;
    try {
      cfg = oss.exportSettings(def);
    } catch (err) {
      return kit.failedSetup(node, err, status);
    }
    if (!account) status.setNow({ fill: 'red', shape: 'ring', text: t('status.noAccount') });
    else if (!db && !messages) status.setNow({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });
    const gzipPool = (): oss.GzipPool => (pool ??= new oss.GzipPool({ size: cfg.gzipWorkers }));
    const fromMsg = (msg: Msg, property: string): unknown => kit.resolveField(RED, node, msg, { value: undefined, msgProperty: property });
    const msgPrefix = (msg: Msg): string | undefined => (fromMsg(msg, 'prefix') === undefined ? undefined : kit.textSetting(fromMsg(msg, 'prefix')));

    async function runExport(msg: Msg, signal: AbortSignal): Promise<oss.OssTransferStats> {
      if (!account) throw new Error('oss-export: no oss-account configured');
      if (!db) throw new Error('oss-export: no greenplum-db configured');
      const msgTable = kit.textSetting(fromMsg(msg, 'table'));
      const query = kit.textSetting(fromMsg(msg, 'query')) || (cfg.source === 'query' && !msgTable ? cfg.query : '');
      const table = query ? null : oss.parseTableName(msgTable || cfg.table);
      const prefix = oss.checkPrefix(msgPrefix(msg) ?? cfg.prefix);
      const mode = fromMsg(msg, 'mode') !== undefined ? oss.parseTransferMode(fromMsg(msg, 'mode')) : cfg.mode;
      const t0 = Date.now();
      status.setNow({ fill: 'yellow', shape: 'ring', text: t('status.starting') });
      try {
        const stats = await kit.withClient(db, (pg) => oss.exportInMode({
          session: kit.pooledSession(db, pg), source: table ? { table } : { query }, prefix, mode, format: cfg.format,
          stem: oss.nameStem(kit.textSetting(fromMsg(msg, 'objectName')) || cfg.objectName, table),
          gzipLevel: cfg.level, gzipWorkers: cfg.gzipWorkers, gzipPool, objectSizeMB: cfg.objectSizeMB, partSize: cfg.partSizeMB * MB,
          parallelParts: cfg.parallelParts, newClient: () => account.newClient(), location: () => account.location(), signal,
          log: kit.transferLog(node, secrets),
          onProgress: (p) => status.set(kit.progressStatus({ bytes: p.bytesIn, rows: p.rows }, t0)),
        }));
        status.setNow(kit.transferDoneStatus(t, { objects: stats.objects.length, rows: stats.rows, bytes: stats.bytesOut, warnings: stats.warnings }));
        return stats;
      } catch (err) {
        const e = fail(transfers.failure(signal, err), `oss-export of ${table ? oss.qualifiedName(table) : 'query'} to ${account.describe()}/${prefix}`);
        status.setNow({ fill: 'red', shape: 'ring', text: e.brief });
        throw e;
      }
    }

    // ---- rows in messages --------------------------------------------------------------
    const rowsLane = new OrderedLane();
    const sequences = new kit.SequenceCounter();
    exporter = new oss.MessageExport({
      newClient: () => account!.newClient(), prefix: cfg.prefix, objectName: cfg.objectName, table: cfg.table, format: cfg.format,
      gzipLevel: cfg.level, gzipPool, partSize: cfg.partSizeMB * MB, parallelParts: cfg.parallelParts, rollBytes: cfg.objectSizeMB * MB,
      rollMs: cfg.rollSeconds * 1000, maxBufferBytes: cfg.maxBufferMB * MB, prefixField: 'msg.prefix',
      columns: async () => cfg.columns ?? (cfg.table && db ? kit.withClient(db, (pg) => oss.tableColumns(pg, oss.parseTableName(cfg.table))) : null),
      onObject: (o, totals, err) => {
        if (err) return status.setNow({ fill: 'red', shape: 'ring', text: fail(err, 'upload').brief });
        node.send({ topic: 'object', payload: oss.rolledObjectStats([o], Date.now() - exporter!.startedAt) } as NodeMessage);
        status.setNow(kit.transferDoneStatus(t, { objects: totals.objects, rows: totals.rows, bytes: totals.bytesOut }));
      },
    });

    async function handleRows(exp: oss.MessageExport, msg: Msg, send: (m: NodeMessage) => void, done: (e?: Error) => void) {
      const context = `oss-export to ${account?.describe() ?? 'OSS'}/${cfg.prefix}`;
      try {
        if (!account) throw new Error('oss-export: no oss-account configured');
        if (msg.flush === true || msg.topic === 'flush') {
          // As many turns as a payload takes before it is added (add() awaits the layout once), so
          // a flush covers every message before it. The roll happens now; the answer comes when
          // the uploads are done (not awaited: messages behind this one must not wait for uploads).
          await exp.ready();
          exp.flushStats().then((stats) => ((msg.payload = stats), send(msg), done()), (err: unknown) => done(fail(err, context)));
          return;
        }
        await exp.add(msg.payload, (err) => (err ? done(fail(err, context)) : done()), msgPrefix(msg));
        // The last part of a sequence is in: close the object (its messages complete on upload).
        const parts = cfg.rollOnSequenceEnd ? kit.partsOf(msg) : null;
        try {
          if (parts && sequences.add(parts).finished) exp.roll();
        } catch (e) {
          // The message is in the object already (it completes with it): report, do not fail it.
          node.warn(`oss-export: ${(e as Error).message}`);
        }
        const p = exp.progress();
        status.set(kit.progressStatus(p, exp.startedAt, t('status.open', { count: p.pending })));
      } catch (err) {
        done(fail(err, context));
      }
    }

    node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage | NodeMessage[]) => void, done: (e?: Error) => void) => {
      const m = msg as Msg;
      if (transfers.closed) return done(new Error('oss-export is closing; message not processed'));
      if (cfg.source === 'messages') {
        // A large payload takes turns of the event loop; messages behind it wait for it, so
        // rows keep their order and a flush still covers every message before it.
        const exp = exporter!;
        if (rowsLane.idle && !oss.needsSlices(m.payload)) void handleRows(exp, m, send, done);
        else rowsLane.run(() => handleRows(exp, m, send, done));
        return;
      }
      transfers.run((signal) => runExport(m, signal)).then((stats) => {
        m.payload = stats;
        send(m);
        done();
      }, (err: unknown) => done(kit.asError(err)));
    });
  }

  RED.nodes.registerType('oss-export', OssExport as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
