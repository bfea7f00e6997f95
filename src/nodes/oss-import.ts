// Flow node `oss-import`: OSS → database, or OSS → messages. Wiring over src/oss:
//  - target table: importIntoTable (client mode through this process, all objects in one
//    transaction, TRUNCATE in it when asked; or external mode, where the Greenplum segments read);
//  - target messages: importAsBatches, batches of N rows sent as a msg.parts sequence (every row
//    exactly once, in object order), paced so downstream nodes get each batch before the next
//    is read, or by msg.tick acknowledgements.
// Output 1: the stats message. Output 2: row batches (messages target).
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import * as oss from '../oss';
import { FetchOnce } from '../shared/retry-once';
import * as kit from './kit';

type Msg = NodeMessageInFlow & Record<string, unknown>;

export = function (RED: NodeAPI) {
  function OssImport(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const t = kit.translator(RED, 'oss-import');
    const node = this;
    const account = RED.nodes.getNode(String(def.account ?? '')) as kit.OssAccountNode | null;
    const db = RED.nodes.getNode(String(def.database ?? '')) as kit.GreenplumDbConfigNode | null;
    const intoTable = def.target !== 'messages';
    const use = kit.useConfigNodes(node, intoTable ? [account, db] : [account], kit.probeTexts(RED, 'oss-import'));
    const status = use.status;
    const transfers = new kit.TransferQueue('import');
    let pacing: kit.Credits | undefined;
    node.on('close', (_removed: boolean, done: () => void) => {
      transfers.cancel();
      pacing?.abort(new Error('cancelled: the node was closed during the transfer'));
      void transfers.close().catch(() => undefined).finally(() => void use.release().then(() => done()));
    });
    let cfg: oss.ImportSettings;
    try {
      cfg = oss.importSettings(def);
    } catch (err) {
      return kit.failedSetup(node, err, status);
    }
    const credits = (pacing = new kit.Credits(cfg.inflight));
    if (!account) status.setNow({ fill: 'red', shape: 'ring', text: t('status.noAccount') });
    else if (!db && intoTable) status.setNow({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });
    const secrets = (): string[] => [...(account?.secrets() ?? []), ...(db?.credentials?.password ? [db.credentials.password] : [])];
    const log = kit.transferLog(node, secrets);
    const fromMsg = (msg: Msg, property: string): unknown => kit.resolveField(RED, node, msg, { value: undefined, msgProperty: property });
    const progress = (c: kit.ProgressCounters, t0: number) => status.set(kit.progressStatus(c, t0));

    /** Where to read: msg.keys wins over msg.prefix over the dialog's prefix; the same selection in both modes. */
    function sourceOf(msg: Msg): oss.ImportSource {
      const keys = oss.parseKeys(fromMsg(msg, 'keys'));
      const prefix = fromMsg(msg, 'prefix') !== undefined ? oss.checkPrefix(kit.textSetting(fromMsg(msg, 'prefix'))) : cfg.prefix;
      if (!keys && !prefix) throw oss.optionError('prefix', 'no objects to import: set a prefix (dialog or msg.prefix) or msg.keys');
      const folderOnly = kit.boolSetting(fromMsg(msg, 'folderOnly'), cfg.folderOnly, 'msg.folderOnly');
      return { keys, prefix, sel: oss.objectSelection(prefix, keys ? false : folderOnly) };
    }

    async function runTableImport(msg: Msg, signal: AbortSignal): Promise<oss.ImportStats> {
      if (!account) throw new Error('oss-import: no oss-account configured');
      if (!db) throw new Error('oss-import: no greenplum-db configured');
      const table = oss.parseTableName(kit.textSetting(fromMsg(msg, 'table')) || cfg.table);
      const source = sourceOf(msg);
      const mode = fromMsg(msg, 'mode') !== undefined ? oss.parseTransferMode(fromMsg(msg, 'mode')) : cfg.mode;
      const t0 = Date.now();
      return kit.withClient(db, (pg) => oss.importIntoTable({
        session: kit.pooledSession(db, pg), table, columns: cfg.columns, source, mode, format: cfg.format, fillMissing: cfg.fillMissing,
        parallel: cfg.parallel, truncate: cfg.truncate, rejectLimit: cfg.rejectLimit, rejectUnit: cfg.rejectUnit,
        newClient: () => account.newClient(), describeAccount: () => account.describe(), location: () => account.location(), signal, log,
        onProgress: (p) => progress({ bytes: p.bytesOut, rows: p.rows }, t0),
      }));
    }

    // Rows as objects need the column names: the dialog's, or the table's (the dialog's table asked once).
    const columnsOf = (table: string) => kit.withClient(db!, (pg) => oss.tableColumns(pg, oss.parseTableName(table)));
    const dialogTableColumns = new FetchOnce(() => columnsOf(cfg.table));
    async function rowColumns(msg: Msg): Promise<string[] | null> {
      if (cfg.rowShape !== 'object') return null;
      if (cfg.columns) return cfg.columns;
      const msgTable = kit.textSetting(fromMsg(msg, 'table'));
      if (!(msgTable || cfg.table) || !db) throw oss.optionError('columns', 'rows as objects need the column names: set columns, or a table and database');
      return msgTable ? columnsOf(msgTable) : dialogTableColumns.get();
    }

    async function runMessages(msg: Msg, send: (m: (NodeMessage | null)[]) => void, signal: AbortSignal): Promise<oss.ImportStats> {
      if (!account) throw new Error('oss-import: no oss-account configured');
      const source = sourceOf(msg);
      const columns = await rowColumns(msg);
      const t0 = Date.now();
      const id = randomUUID();
      let index = 0;
      credits.reset();
      const onAbort = () => credits.abort(new Error('cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await oss.importAsBatches({
          oss: account.newClient(), format: cfg.format, source, batchSize: cfg.batchSize, parallel: cfg.parallel, columns, signal,
          onProgress: (p) => progress(p, t0),
          emit: async (payload, last) => {
            // Pacing 'tick': wait for the flow to acknowledge earlier batches (msg.tick); a wait of
            // more than a second shows in the status.
            if (cfg.pacing === 'tick') await credits.acquire(() => status.setNow({ fill: 'yellow', shape: 'ring', text: t('sequence.waitingTick') }));
            // A shallow copy of the request: msg.gpss.job, req/res and correlation ids go with every
            // batch; the batches' parts nest over the request's own (as the split node does).
            const out: NodeMessage & Record<string, unknown> = { ...msg, payload, parts: kit.nestedParts(msg.parts, id, index, last ? index + 1 : undefined) as NodeMessage['parts'] };
            if (last) out.complete = true;
            else delete out.complete;
            index++;
            send([null, out]);
            // Node-RED delivers with setImmediate: yielding one turn lets the downstream nodes take
            // this batch before the next one is parsed (and downloaded).
            await new Promise<void>((r) => setImmediate(r));
          },
        });
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }

    node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage | (NodeMessage | null)[]) => void, done: (e?: Error) => void) => {
      const m = msg as Msg;
      // An acknowledgement of a batch (pacing 'tick'), not a request to import.
      if (m.tick === true) return (credits.release(), done());
      if (transfers.closed) return done(new Error('oss-import is closing; message not processed'));
      const what = intoTable ? `into ${kit.textSetting(fromMsg(m, 'table')) || cfg.table || '?'}` : 'as messages';
      const context = `oss-import from ${account?.describe() ?? 'OSS'}/${kit.textSetting(fromMsg(m, 'prefix')) || cfg.prefix} ${what}`;
      transfers.run(async (signal) => {
        status.setNow({ fill: 'yellow', shape: 'ring', text: t('status.starting') });
        try {
          return intoTable ? await runTableImport(m, signal) : await runMessages(m, send, signal);
        } catch (err) {
          throw transfers.failure(signal, err);
        }
      }).then((stats) => {
        const { objects, rows, bytesIn, bytesOut, warnings, rejected } = stats;
        status.setNow(kit.transferDoneStatus(t, { objects: objects.length, rows, bytes: bytesIn || bytesOut, warnings, rejected: rejected?.count }));
        m.payload = stats;
        send([m, null]);
        done();
      }, (err: unknown) => {
        const e = kit.toNodeError(err, `${context} failed`, secrets(), 'OSS_NODE');
        status.setNow({ fill: 'red', shape: 'ring', text: e.brief });
        done(e);
      });
    });
  }

  RED.nodes.registerType('oss-import', OssImport as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
