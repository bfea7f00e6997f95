// Flow node `greenplum-query`: runs SQL on the greenplum-db pool — the dialog's SQL or msg.query
// (msg.query wins when set, as node-red-contrib-postgresql does), with msg.params bound to $1…
// (an array) or to $name (an object). Output: all rows in one message, one message per row, or
// batches read through a server-side cursor, each batch after a msg.tick. A thin adapter over
// src/query; the messages of a result form a Node-RED sequence (msg.parts, msg.complete).
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { bindParameters, cancelBackend, describeQueryError, QueryInputError, readInBatches, runStatement, withSession, type BoundQuery, type Row } from '../query';
import { withDetails } from '../shared/error-details';
import { Credits } from './oss-shared/credits';
import { SerialQueue } from './oss-shared/serial';
import { formatCount } from './oss-shared/progress';
import { nestedParts } from './shared/sequence';
import type { GreenplumDbConfigNode } from './shared/types';
import { probeTexts, watchProbes } from './shared/probe';
import { shortError } from './shared/server-user';
import { ThrottledStatus } from './shared/status';
import { translator } from './shared/i18n';
import { int } from './oss-shared/options';

type Output = 'all' | 'row' | 'batch';
type Msg = NodeMessageInFlow & Record<string, unknown>;
type Send = (m: NodeMessage) => void;

/** Messages of one result in a row: a turn of the event loop after this many (row output). */
const ROWS_PER_TURN = 500;

export = function (RED: NodeAPI): void {
  function GreenplumQueryNode(this: Node, def: NodeDef & Record<string, unknown>): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = translator(RED, 'greenplum-query');
    const db = RED.nodes.getNode(String(def.database ?? '')) as GreenplumDbConfigNode | null;
    const output: Output = def.output === 'row' || def.output === 'batch' ? def.output : 'all';
    // A bad setting fails each message with its reason (and shows it), rather than guessing.
    let batchSize = 1000;
    let configError: Error | null = null;
    try {
      batchSize = output === 'batch' ? int(def.batchSize, 1000, 1, 1000000, 'rows per message') : 1000;
    } catch (err) {
      configError = err as Error;
    }
    const dialogSql = typeof def.query === 'string' ? def.query : '';
    // The database's deploy-time probe shows until this node's first status of its own.
    let probes: { stop(): void } | null = null;
    const status = new ThrottledStatus({ status: (s) => (probes?.stop(), (probes = null), node.status(s)) });
    const queue = new SerialQueue(1000);
    const running = new Set<AbortController>();
    // Batches: the first goes out at once, each msg.tick lets the next one out.
    const ticks = new Credits(1);
    const redact = (text: string): string => (db ? db.redact(text) : text);
    if (db) {
      db.register(node);
      probes = watchProbes([db], probeTexts(RED, 'greenplum-query'), (s) => node.status(s));
    } else node.status({ fill: 'red', shape: 'ring', text: t('status.noDatabase') });

    /** The SQL to run: msg.query when it is a non-empty string, else the dialog's. */
    function sqlOf(msg: Msg): string {
      const q = msg.query;
      if (q !== undefined && q !== null && q !== '' && typeof q !== 'string') throw new QueryInputError('msg.query', `msg.query must be a string of SQL; got ${Array.isArray(q) ? 'an array' : typeof q}`);
      const sql = typeof q === 'string' && q.trim() ? q : dialogSql;
      if (!sql.trim()) throw new QueryInputError('msg.query', 'no SQL: write it in the dialog or set msg.query');
      return sql;
    }

    async function run(msg: Msg, bound: BoundQuery, send: Send, signal: AbortSignal): Promise<void> {
      if (!db) throw new Error('no greenplum-db configured');
      await withSession(db.getPool(), { signal, cancel: (pid) => cancelBackend(db.clientConfig(), pid) }, async (client) => {
        if (output === 'batch') {
          const id = randomUUID();
          let sent = 0;
          ticks.reset();
          const r = await readInBatches(client, bound, batchSize, {
            turn: async () => {
              const shown = setTimeout(() => status.set({ fill: 'yellow', shape: 'ring', text: t('status.waitingTick', { rows: formatCount(sent) }) }), 1000);
              await ticks.acquire().finally(() => clearTimeout(shown));
            },
            send: (batch, index, total) => {
              sent = total;
              send(sequencePart(msg, { payload: batch.rows, rowCount: total }, id, index, batch.last));
              status.set({ fill: 'blue', shape: 'dot', text: t('status.batch', { index: index + 1, rows: formatCount(total) }) });
            },
          });
          status.set({ fill: 'green', shape: 'dot', text: t('status.rows', { count: formatCount(r.rows) }) });
          return;
        }
        if (output === 'row' && bound.scan.statements.length > 1) {
          throw new QueryInputError('msg.query', `one message per row needs one statement; this query has ${bound.scan.statements.length}`);
        }
        const r = await runStatement(client, bound);
        const count = r.rowCount === null ? t('status.doneNoCount', { command: r.command }) : t('status.done', { command: r.command, count: formatCount(r.rowCount) });
        if (output === 'all') {
          msg.payload = r.rows;
          msg.rowCount = r.rowCount;
          msg.command = r.command;
          if (r.statements) msg.statements = r.statements;
          send(msg);
        } else await sendRows(msg, r.rows, { rowCount: r.rowCount, command: r.command }, send, signal);
        status.set({ fill: 'green', shape: 'dot', text: count });
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
        .run(async () => {
          if (configError) throw configError;
          sql = sqlOf(msg);
          const bound = bindParameters(sql, msg.params);
          sql = bound.text;
          const ac = new AbortController();
          running.add(ac);
          status.set({ fill: 'blue', shape: 'dot', text: t('status.running') });
          try {
            await run(msg, bound, send, ac.signal);
          } catch (err) {
            if (!ac.signal.aborted) throw err;
            throw withDetails(new Error('cancelled: the node was closed (redeploy or shutdown) before the query finished'), err, redact);
          } finally {
            running.delete(ac);
          }
        })
        .then(
          () => done(),
          (err: unknown) => {
            // The server's text with SQLSTATE, line, DETAIL and HINT; the SQLSTATE also in `cause` for Catch.
            const text = redact(describeQueryError(err, sql));
            status.set({ fill: 'red', shape: 'ring', text: shortError(text) });
            done(withDetails(new Error(`greenplum-query: ${text}`), err, redact));
          },
        );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      probes?.stop();
      for (const ac of running) ac.abort();
      ticks.abort(new Error('the node was closed'));
      void queue
        .idle()
        .catch(() => undefined)
        .finally(() => {
          status.dispose();
          void Promise.resolve(db?.deregister(node)).finally(() => done());
        });
    });
  }

  RED.nodes.registerType('greenplum-query', GreenplumQueryNode as unknown as (this: Node, def: NodeDef) => void);
};

/** A message of a result sequence: a shallow copy of the request with parts nested over its own. */
function sequencePart(msg: Msg, fields: Record<string, unknown>, id: string, index: number, last: boolean, count?: number): NodeMessage {
  const out = { ...msg, ...fields } as Msg;
  (out as NodeMessage).parts = nestedParts(msg.parts, id, index, count ?? (last ? index + 1 : undefined)) as NodeMessage['parts'];
  if (last) out.complete = true;
  else delete out.complete;
  return out;
}

/** One message per row; the loop yields now and then so Node-RED keeps reading its sockets. */
async function sendRows(msg: Msg, rows: Row[], fields: Record<string, unknown>, send: Send, signal: AbortSignal): Promise<void> {
  const id = randomUUID();
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % ROWS_PER_TURN === 0) {
      await new Promise<void>((r) => setImmediate(r));
      if (signal.aborted) throw new Error('cancelled');
    }
    send(sequencePart(msg, { ...fields, payload: rows[i] }, id, i, i === rows.length - 1, rows.length));
  }
}
