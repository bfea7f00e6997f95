// Flow node `greenplum-query`: runs SQL on the greenplum-db pool — the dialog's SQL or msg.query
// (the message wins when it carries one, the kit's override rule and node-red-contrib-postgresql's
// convention), with msg.params bound to $1… (an array) or $name (an object). Output: all rows in
// one message, one message per row, or batches read through a server-side cursor, each next
// batch on a msg.tick. A thin adapter over src/query; a result's messages form a sequence.
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { bindParameters, cancelBackend, QueryError, queryInputError, readInBatches, runStatement, withSession, type BoundQuery, type Row } from '../query';
import * as kit from './kit';

type Msg = NodeMessageInFlow & Record<string, unknown>;
type Send = (m: NodeMessage) => void;

/** One message per row: a turn of the event loop after this many, so Node-RED keeps reading its sockets. */
const ROWS_PER_TURN = 500;

export = function (RED: NodeAPI): void {
  function GreenplumQueryNode(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = kit.translator(RED, 'greenplum-query');
    const db = RED.nodes.getNode(String(def.database ?? '')) as kit.GreenplumDbConfigNode | null;
    const use = kit.useConfigNodes(node, [db], kit.probeTexts(RED, 'greenplum-query'));
    const status = use.status;
    // One query at a time in arrival order (a CREATE TABLE before the INSERT that follows it);
    // close cancels the running one and the queued ones never start.
    const queue = new kit.TransferQueue('query', 1000);
    // Batches: the first goes out at once, each msg.tick lets the next one out.
    const ticks = new kit.Credits(1);
    node.on('close', (_removed: boolean, done: () => void) => {
      ticks.abort(new Error('the node was closed'));
      void queue.close().finally(() => use.release().then(done, done));
    });
    let output: 'all' | 'row' | 'batch';
    let batchSize: number;
    try {
      if (!db) throw new kit.SettingError('database', 'no greenplum-db configured: choose a database in the dialog');
      output = kit.choiceSetting(def.output, ['all', 'row', 'batch'] as const, 'all', 'output');
      batchSize = kit.intSetting(def.batchSize, 1000, 1, 1000000, 'rows per message');
    } catch (err) {
      kit.failedSetup(node, err, status);
      return;
    }
    const secrets = (): string[] => (db.credentials?.password ? [db.credentials.password] : []);
    const fail = (err: unknown, sql: string): kit.NodeError => {
      const e = kit.toNodeError(err instanceof QueryError ? err : new QueryError(err, sql), 'greenplum-query', secrets(), err instanceof kit.SettingError ? err.code : 'QUERY_FAILED');
      status.setNow({ fill: 'red', shape: 'ring', text: e.brief });
      return e;
    };

    async function run(msg: Msg, query: BoundQuery, send: Send, signal: AbortSignal): Promise<void> {
      await withSession(db!.getPool(), { signal, cancel: (pid) => cancelBackend(db!.clientConfig(), pid) }, async (client) => {
        if (output === 'batch') {
          const id = randomUUID();
          let sent = 0;
          ticks.reset();
          const r = await readInBatches(client, query, batchSize, {
            // No time limit (the flow may be slow), but a wait over a second shows.
            turn: () => ticks.acquire(() => status.set({ fill: 'yellow', shape: 'ring', text: t('status.waitingTick', { rows: kit.shortCount(sent) }) })),
            send: (batch, index, total) => {
              sent = total;
              send(sequencePart(msg, { payload: batch.rows, rowCount: total }, id, index, batch.last ? index + 1 : undefined, batchSize));
              status.set({ fill: 'blue', shape: 'dot', text: t('status.batch', { index: index + 1, rows: kit.shortCount(total) }) });
            },
          });
          status.setNow({ fill: 'green', shape: 'dot', text: t('status.rows', { count: kit.shortCount(r.rows) }) });
          return;
        }
        if (output === 'row' && query.scan.statements.length > 1) {
          throw queryInputError('msg.query', `one message per row takes one statement; this query has ${query.scan.statements.length}`);
        }
        const r = await runStatement(client, query);
        if (output === 'all') {
          Object.assign(msg, { payload: r.rows, rowCount: r.rowCount, command: r.command }, r.statements ? { statements: r.statements } : {});
          send(msg);
        } else await sendRows(msg, r.rows, { rowCount: r.rowCount, command: r.command }, send, signal);
        const done = r.rowCount === null ? t('status.doneNoCount', { command: r.command }) : t('status.done', { command: r.command, count: kit.shortCount(r.rowCount) });
        status.setNow({ fill: 'green', shape: 'dot', text: done });
      });
    }

    node.on('input', (msg: Msg, send: Send, done: (err?: Error) => void) => {
      if (msg.tick) {
        // An acknowledgement of a batch, never a query (node-red-contrib-postgresql's convention).
        ticks.release();
        done();
        return;
      }
      let sql = '';
      queue
        .run(async (signal) => {
          const q = kit.resolveField(RED, node, msg, { value: def.query, msgProperty: 'query' });
          if (typeof q !== 'string') throw queryInputError('msg.query', `msg.query must be a string of SQL; got ${Array.isArray(q) ? 'an array' : typeof q}`);
          if (!q.trim()) throw queryInputError('msg.query', msg.query === undefined || msg.query === null ? 'no SQL: write it in the dialog or set msg.query' : 'msg.query is empty');
          const query = bindParameters(q, msg.params);
          sql = query.text;
          status.set({ fill: 'blue', shape: 'dot', text: t('status.running') });
          try {
            await run(msg, query, send, signal);
          } catch (err) {
            throw signal.aborted ? new QueryError(err, sql, 'cancelled: the node was closed (redeploy or shutdown) before the query finished') : err;
          }
        })
        .then(
          () => done(),
          (err: unknown) => done(fail(err, sql)),
        );
    });
  }

  RED.nodes.registerType('greenplum-query', GreenplumQueryNode as unknown as (this: Node, def: NodeDef) => void);
};

/**
 * A message of a result's sequence: a shallow copy of the request, parts nested over its own.
 * The rows are an array split as the split node splits one (type "array", `len` rows a
 * message), so a join node in automatic mode puts the rows back into one array.
 */
function sequencePart(msg: Msg, fields: Record<string, unknown>, id: string, index: number, count: number | undefined, len: number): NodeMessage {
  const out = { ...msg, ...fields } as Msg;
  (out as NodeMessage).parts = { ...kit.nestedParts(msg.parts, id, index, count), type: 'array', len } as NodeMessage['parts'];
  if (count === index + 1) out.complete = true;
  else delete out.complete;
  return out;
}

async function sendRows(msg: Msg, rows: Row[], fields: Record<string, unknown>, send: Send, signal: AbortSignal): Promise<void> {
  const id = randomUUID();
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % ROWS_PER_TURN === 0) {
      await new Promise<void>((r) => setImmediate(r));
      if (signal.aborted) throw new Error('stopped after sending rows 1 to ' + i);
    }
    send(sequencePart(msg, { ...fields, payload: rows[i] }, id, i, rows.length, 1));
  }
}
