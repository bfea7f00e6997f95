// Flow node `oss-import`: OSS → database, or OSS → messages. Wiring over src/oss:
//  - target table: importIntoTable (client mode through this process, all objects in one
//    transaction, TRUNCATE in it when asked; or external mode, where the Greenplum segments read);
//  - target messages: importAsBatches, batches of N rows sent as a msg.parts sequence (every row
//    exactly once, in object order), paced so downstream nodes get each batch before the next
//    is read, or by msg.tick acknowledgements.
// Output 1: the stats message. Output 2: row batches (messages target).
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  checkPrefix, formatOptionsFrom, importAsBatches, importIntoTable, objectSelection, OssOptionError, parseColumnList, parseKeys,
  parseTableName, parseTransferMode, resolveFormat, tableColumns, type ImportSource, type ImportStats,
} from '../oss';
import type { OssAccountNode } from './oss-shared/account-node';
import { transferSession, withClient } from './oss-shared/db';
import { redact, toNodeError } from './oss-shared/errors';
import { bool, int, str } from './oss-shared/settings';
import { ThrottledStatus, formatBytes, formatCount } from './oss-shared/progress';
import { Credits } from './oss-shared/credits';
import { SerialQueue } from './oss-shared/serial';
import { nestedParts } from './shared/sequence';
import type { GreenplumDbConfigNode } from './shared/types';
import { probeTexts, watchProbes } from './shared/probe';
import { translator } from './shared/i18n';

function readConfig(def: Record<string, unknown>) {
  const target = str(def.target) || 'table';
  if (target !== 'table' && target !== 'messages') throw new Error(`oss-import: unknown target ${JSON.stringify(target)}`);
  const format = formatOptionsFrom(def);
  resolveFormat(format);
  const rejectUnit: 'ROWS' | 'PERCENT' = str(def.rejectUnit) === 'PERCENT' ? 'PERCENT' : 'ROWS';
  return {
    target, table: str(def.table), columns: parseColumnList(def.columns), prefix: checkPrefix(typeof def.prefix === 'string' ? def.prefix.trim() : ''),
    /** Direct children of the folder `prefix` only (oss_ext `dir=`); default recursive. */
    folderOnly: bool(def.folderOnly, false), format, fillMissing: bool(def.fillMissing, false),
    parallel: int(def.parallel, 2, 1, 32, 'parallel downloads'), truncate: bool(def.truncate, false),
    rejectLimit: int(def.rejectLimit, 0, 0, rejectUnit === 'PERCENT' ? 100 : 2 ** 31 - 1, 'reject limit'), rejectUnit,
    batchSize: int(def.batchSize, 1000, 1, 1000000, 'rows per message'), rowShape: str(def.rowShape) === 'object' ? 'object' : 'array',
    /** 'yield': one event-loop turn per batch; 'tick': wait for msg.tick beyond `inflight` batches. */
    pacing: str(def.pacing) === 'tick' ? 'tick' : 'yield', inflight: int(def.inflight, 2, 1, 1000, 'batches in flight'), mode: parseTransferMode(def.mode),
  };
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

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
    let cfg: ReturnType<typeof readConfig>;
    try {
      cfg = readConfig(def);
    } catch (err) {
      const msg = (err as Error).message;
      status.set({ fill: 'red', shape: 'ring', text: msg.slice(0, 40) });
      node.on('input', (_m: NodeMessageInFlow, _s: unknown, done: (e?: Error) => void) => done(new Error(msg)));
      return;
    }
    const intoTable = cfg.target === 'table';
    if (!account) status.set({ fill: 'red', shape: 'ring', text: t('status.noAccount') });
    else if (!db && intoTable) status.set({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });
    account?.register(node);
    db?.register(node);
    if (account && (db || !intoTable)) probes = watchProbes(intoTable ? [account, db] : [account], probeTexts(RED, 'oss-import'), (s) => node.status(s));
    const secrets = (): string[] => [...(account?.secrets() ?? []), ...(db?.credentials?.password ? [db.credentials.password] : [])];
    const log = { info: (s: string) => node.log(s), debug: (s: string) => node.debug(`oss-import: ${s}`), warn: (s: string) => node.warn(`oss-import: ${s}`), redact: (s: string) => redact(s, secrets()) };
    const queue = new SerialQueue(100);
    const active = new Set<AbortController>();
    let closing = false;
    const credits = new Credits(cfg.inflight);

    /** Where to read: msg.keys wins over msg.prefix over the dialog's prefix; the same selection in both modes. */
    function sourceOf(msg: Msg): ImportSource {
      const keys = parseKeys(msg.keys);
      const prefix = msg.prefix !== undefined ? checkPrefix(str(msg.prefix)) : cfg.prefix;
      if (!keys && !prefix) throw new OssOptionError('prefix', 'no objects to import: set a prefix (dialog or msg.prefix) or msg.keys');
      const folderOnly = msg.folderOnly !== undefined ? bool(msg.folderOnly, false) : cfg.folderOnly;
      return { keys, prefix, sel: objectSelection(prefix, keys ? false : folderOnly) };
    }

    async function runTableImport(msg: Msg, signal: AbortSignal): Promise<ImportStats> {
      if (!account) throw new Error('oss-import: no oss-account configured');
      if (!db) throw new Error('oss-import: no greenplum-db configured');
      const table = parseTableName(str(msg.table) || cfg.table);
      const source = sourceOf(msg);
      const mode = msg.mode !== undefined ? parseTransferMode(msg.mode) : cfg.mode;
      const t0 = Date.now();
      return withClient(db, (pg) => importIntoTable({
        session: transferSession(db, pg), table, columns: cfg.columns, source, mode, format: cfg.format, fillMissing: cfg.fillMissing,
        parallel: cfg.parallel, truncate: cfg.truncate, rejectLimit: cfg.rejectLimit, rejectUnit: cfg.rejectUnit,
        newClient: () => account.newClient(), describeAccount: () => account.describe(), location: () => account.location(), signal, log,
        onProgress: (p) => status.progress({ bytes: p.bytesOut, rows: p.rows }, t0),
      }));
    }

    let objectColumns: Promise<string[] | null> | null = null;
    function rowColumns(msg: Msg): Promise<string[] | null> {
      if (cfg.rowShape !== 'object') return Promise.resolve(null);
      const table = str(msg.table) || cfg.table;
      if (cfg.columns) return Promise.resolve(cfg.columns);
      if (!table || !db) return Promise.reject(new OssOptionError('columns', 'rows as objects need the column names: set columns, or a table and database'));
      if (!objectColumns || str(msg.table)) {
        const p = withClient(db, (pg) => tableColumns(pg, parseTableName(table)));
        objectColumns = p;
        // Do not keep a failure: the next message asks the database again.
        p.catch(() => {
          if (objectColumns === p) objectColumns = null;
        });
      }
      return objectColumns;
    }

    async function runMessages(msg: Msg, send: (m: (NodeMessage | null)[]) => void, signal: AbortSignal): Promise<ImportStats> {
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
        return await importAsBatches({
          oss: account.newClient(), format: cfg.format, source, batchSize: cfg.batchSize, parallel: cfg.parallel, columns, signal,
          onProgress: (p) => status.progress(p, t0),
          emit: async (payload, last) => {
            if (cfg.pacing === 'tick') {
              // Wait for the flow to acknowledge earlier batches (msg.tick). No time limit (a slow
              // database may take long), but a wait of more than a second shows in the status.
              const shown = setTimeout(() => status.set({ fill: 'yellow', shape: 'ring', text: t('sequence.waitingTick') }), 1000);
              await credits.acquire().finally(() => clearTimeout(shown));
            }
            // A shallow copy of the request: msg.gpss.job, req/res and correlation ids go with every
            // batch; the batches' parts nest over the request's own (as the split node does).
            const out: NodeMessage & Record<string, unknown> = { ...msg, payload, parts: nestedParts(msg.parts, id, index, last ? index + 1 : undefined) as NodeMessage['parts'] };
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
      if (closing) return done(new Error('oss-import is closing; message not processed'));
      const context = `oss-import from ${account?.describe() ?? 'OSS'}/${str(m.prefix) || cfg.prefix} ${intoTable ? `into ${str(m.table) || cfg.table || '?'}` : 'as messages'}`;
      queue
        .run(async () => {
          // Queued behind a transfer that close cancelled: do not start a new one.
          if (closing) throw new Error('cancelled: the node was closed before this import started');
          const ac = new AbortController();
          active.add(ac);
          status.set({ fill: 'yellow', shape: 'ring', text: t('status.starting') });
          try {
            return intoTable ? await runTableImport(m, ac.signal) : await runMessages(m, send, ac.signal);
          } catch (err) {
            throw ac.signal.aborted && closing ? new Error('cancelled: the node was closed during the transfer') : err;
          } finally {
            active.delete(ac);
          }
        })
        .then(
          (stats) => {
            const rejectedCount = stats.rejected?.count ?? 0;
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

    node.on('close', (_removed: boolean, done: () => void) => {
      probes?.stop();
      closing = true;
      for (const ac of active) ac.abort();
      credits.abort(new Error('cancelled: the node was closed during the transfer'));
      void queue
        .idle()
        .catch(() => undefined)
        .finally(() => void Promise.allSettled([account?.deregister(node), db?.deregister(node)]).then(() => done()));
    });
  }

  RED.nodes.registerType('oss-import', OssImport as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
