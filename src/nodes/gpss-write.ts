// gpss-write: msg.payload → rows → batched GPSS Writes.
// - job mode (msg.gpss.job from gpss-connect): rows go into that job; the message is passed on
//   once its rows were written; nothing is visible until gpss-close commits.
// - stream mode: a job of its own per target table, committed every N rows or T ms; a message
//   is acknowledged (send + done) only after the commit holding its rows returned (at-least-once).
//   Rows the server rejected under the error limit are reported (error-rows.ts), and Merge/Update
//   rows are collapsed by match key within a commit (collapse.ts).
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { createRowEncoder, type RowEncoder } from '../gpss/value-mapping';
import { matchColumnIndexes, rowKeyReader, type KeyOf } from '../gpss/collapse';
import { describeRejected, errorRowsToAsk, type MessageOutcome, type RejectedRow } from '../gpss/error-rows';
import { findJob, LoadJob } from '../gpss/load-job';
import { StreamEntry, StreamWriter, StreamWriterOptions } from '../gpss/stream-writer';
import { BufferFullError, DEFAULT_WRITE_BYTES, MAX_WRITE_BYTES } from '../gpss/batcher';
import { backoffDelay } from '../gpss/retry';
import type { OpenOptions } from '../gpss/client';
import { buildOpenOptions, intSetting, TargetDef } from './shared/target';
import { encodePayload, RowEncoderLike } from './shared/rows';
import { useServer, shortError } from './shared/server-user';
import { shortCount } from './shared/status';
import type { GpssServerConfigNode } from './shared/types';
import { translator } from './shared/i18n';

interface GpssWriteDef extends NodeDef, TargetDef {
  server: string;
  writeMode?: 'auto' | 'stream' | 'job';
  tableType?: string;
  schemaType?: string;
  commitRows?: string | number;
  commitInterval?: string | number;
  bufferRows?: string | number;
  bufferMb?: string | number;
  writeKb?: string | number;
  maxRetries?: string | number;
  retryDelay?: string | number;
  closeTimeout?: string | number;
  ignoreUnknownKeys?: boolean | string;
}

type Msg = NodeMessageInFlow & { gpss?: { job?: unknown } & Record<string, unknown> };

interface Target {
  key: string;
  options: OpenOptions;
  writer: StreamWriter;
  encoder: RowEncoderLike | null;
  encoderPromise: Promise<RowEncoder>;
  /** Merge/Update: the match key of a row, known with the table's columns. */
  keyOf: KeyOf | null;
}

/** Some rows of the message were rejected by the server; the rest of its commit is in the table. */
class RowsRejectedError extends Error {
  readonly code = 'ROWS_REJECTED';
  constructor(readonly rows: RejectedRow[]) {
    super(`gpss-write: ${describeRejected(rows)}`);
    this.name = 'RowsRejectedError';
  }
}

/** msg.gpss, created when the message has none. */
function gpssOf(msg: Msg): Record<string, unknown> {
  if (typeof msg.gpss !== 'object' || msg.gpss === null) msg.gpss = {};
  return msg.gpss;
}

/** One message held by a stream writer (a class, not closures: one allocation per message). */
class MessageEntry implements StreamEntry {
  constructor(
    readonly rows: Buffer[],
    readonly bytes: number,
    private readonly msg: Msg,
    // The node, not the per-message send closure Node-RED made (it does exactly node.send(msg)):
    // held messages then keep one object fewer alive until their commit.
    private readonly node: Node,
    private readonly done: (err?: Error) => void,
  ) {}
  ack(_stats: unknown, outcome: MessageOutcome): void {
    if (outcome.kind === 'rowsRejected') {
      // The message's other rows are committed: it goes to Catch, not on, naming its rejected rows.
      gpssOf(this.msg).rejectedRows = outcome.rows;
      this.done(new RowsRejectedError(outcome.rows));
      return;
    }
    if (outcome.kind === 'countsOnly') gpssOf(this.msg).rejected = outcome.rejected;
    this.node.send(this.msg);
    this.done();
  }
  fail(err: Error): void {
    this.done(err);
  }
}

export = function (RED: NodeAPI): void {
  function GpssWriteNode(this: Node, def: GpssWriteDef): void {
    RED.nodes.createNode(this, def);
    const t = translator(RED, 'gpss-write');
    const node = this;
    const use = useServer(RED, node, def.server);
    const mode = def.writeMode === 'stream' || def.writeMode === 'job' ? def.writeMode : 'auto';
    const writerOptions: StreamWriterOptions = {
      commitRows: intSetting(def.commitRows, 10000, 1, 1e8),
      commitIntervalMs: intSetting(def.commitInterval, 1000, 0, 3600000),
      buffer: {
        maxRows: intSetting(def.bufferRows, 100000, 1, 1e9),
        maxBytes: intSetting(def.bufferMb, 64, 1, 4096) * 1024 * 1024,
      },
      writeBytes: Math.min(MAX_WRITE_BYTES, intSetting(def.writeKb, DEFAULT_WRITE_BYTES / 1024, 16, 3584) * 1024),
      maxRetries: intSetting(def.maxRetries, 5, 0, 100),
      backoff: { baseMs: intSetting(def.retryDelay, 250, 1, 60000), maxMs: 10000, jitter: 0.3 },
    };
    // (A buffer smaller than commitRows is allowed: commits then happen by interval.)
    const closeTimeoutMs = intSetting(def.closeTimeout, 10, 1, 14) * 1000;
    const encoderOptions = { ignoreUnknownKeys: def.ignoreUnknownKeys === true || def.ignoreUnknownKeys === 'true' };
    const targets = new Map<string, Target>();
    const jobEncoders = new WeakMap<LoadJob, RowEncoderLike>();
    let closing = false;
    let waitingRows = 0;

    // Status: rows/s over a short window, held rows, total committed.
    const window: { t: number; rows: number }[] = [];
    let committedTotal = 0;
    let rejectedTotal = 0;
    let lastError = '';
    const RATE_WINDOW_MS = 2000;
    const rate = (): number => {
      const now = Date.now();
      while (window.length && now - window[0].t > RATE_WINDOW_MS) window.shift();
      return (window.reduce((n, w) => n + w.rows, 0) * 1000) / RATE_WINDOW_MS;
    };
    const held = (): number => {
      let n = 0;
      for (const t of targets.values()) n += t.writer.heldRows;
      return n;
    };
    const showStatus = (): void => {
      const h = held();
      const rejected = rejectedTotal > 0 ? t('status.rejected', { count: shortCount(rejectedTotal) }) : '';
      if (lastError) use.status.set({ fill: 'red', shape: 'ring', text: shortError(lastError) });
      else if (h > 0) use.status.set({ fill: 'blue', shape: 'dot', text: t('status.writing', { rate: shortCount(rate()), held: shortCount(h) }) + rejected });
      else if (committedTotal > 0) use.status.set({ fill: rejected ? 'yellow' : 'green', shape: 'dot', text: t('status.committed', { count: shortCount(committedTotal) }) + rejected });
    };
    let ticker: NodeJS.Timeout | null = setInterval(showStatus, 1000);
    ticker.unref();

    function describeWithRetry(server: GpssServerConfigNode, schema: string, table: string): Promise<RowEncoder> {
      // The table's columns are needed before any row can be encoded; the server may be
      // starting, so retry like a commit would.
      return (async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            const columns = await server.service.describeTable(schema, table);
            return createRowEncoder(columns, encoderOptions);
          } catch (err) {
            if (attempt >= writerOptions.maxRetries || closing) throw err;
            await new Promise((r) => setTimeout(r, backoffDelay(attempt, writerOptions.backoff)));
          }
        }
      })();
    }

    // With a fixed table (the usual case) the options are built once, not per message.
    const staticTarget = (def.tableType || 'str') === 'str' && (def.schemaType || 'str') === 'str';
    let staticOptions: OpenOptions | null = null;

    let staticCached: Target | null = null;

    function targetFor(server: GpssServerConfigNode, msg: Msg): Target {
      if (staticCached && targets.get(staticCached.key) === staticCached) return staticCached;
      let options: OpenOptions;
      if (staticTarget && staticOptions) {
        options = staticOptions;
      } else {
        const table = RED.util.evaluateNodeProperty(def.table ?? '', def.tableType || 'str', node, msg) as unknown;
        const schema = RED.util.evaluateNodeProperty(def.schema ?? '', def.schemaType || 'str', node, msg) as unknown;
        options = buildOpenOptions({
          ...def,
          table: typeof table === 'string' ? table : '',
          schema: typeof schema === 'string' ? schema : '',
        });
        if (staticTarget) staticOptions = options;
      }
      const key = `${options.schema}.${options.table}`;
      let t = targets.get(key);
      if (t) return t;
      // Merge/Update: collapse rows by match key within each commit. The key reader needs the
      // table's columns; no row is accepted (so no commit runs) before they are known.
      const upsert = options.mode !== 'insert' && !!options.matchColumns?.length;
      const collapseKey: KeyOf | undefined = upsert ? (row) => (created.keyOf ? created.keyOf(row) : null) : undefined;
      const writer = new StreamWriter(
        collapseKey ? { ...writerOptions, collapseKey } : writerOptions,
        (writes, info) => server.service.commitRows(options, writes, errorRowsToAsk(info.rows)),
        {
          committed: ({ rows, messages, rejections }) => {
            committedTotal += rows - (rejections?.total ?? 0);
            window.push({ t: Date.now(), rows });
            lastError = '';
            if (rejections) {
              rejectedTotal += rejections.total;
              // Named rows go to Catch with their messages; counts alone are logged here.
              if (rejections.countsOnly) {
                node.warn(
                  `gpss-write: the server rejected ${rejections.total} of ${rows} rows in a commit to ${key} (${rejections.why}); ` +
                    `the ${messages} message(s) of that commit went on with msg.gpss.rejected = ${rejections.total}`,
                );
              }
            }
            showStatus();
          },
          attemptFailed: ({ error, willRetry }) => {
            lastError = (willRetry ? 'retrying: ' : '') + (error instanceof Error ? error.message : String(error));
            showStatus();
          },
          callbackFailed: (error) => node.warn(`gpss-write: passing a committed message on failed: ${error instanceof Error ? error.message : String(error)}`),
        },
      );
      const created: Target = { key, options, writer, encoder: null, encoderPromise: describeWithRetry(server, options.schema ?? 'public', options.table), keyOf: null };
      created.encoderPromise.then(
        (e) => {
          created.encoder = e;
          const indexes = upsert ? matchColumnIndexes(e.columnNames, options.matchColumns!) : null;
          if (indexes) created.keyOf = rowKeyReader(indexes);
        },
        () => {
          // Forget the target so the next message describes again.
          if (targets.get(key) === created && created.writer.heldMessages === 0) targets.delete(key);
        },
      );
      targets.set(key, created);
      if (staticTarget) staticCached = created;
      return created;
    }

    function streamWrite(server: GpssServerConfigNode, msg: Msg, send: (m: Msg) => void, done: (err?: Error) => void): void {
      const t = targetFor(server, msg);
      const accept = (encoder: RowEncoderLike): void => {
        const { rows, bytes } = encodePayload(msg.payload, encoder);
        if (rows.length === 0) {
          send(msg);
          done();
          return;
        }
        t.writer.accept(new MessageEntry(rows, bytes, msg, node, done));
        // No status update per message: the 1 s ticker and commit events show progress.
      };
      if (t.encoder) {
        accept(t.encoder); // hot path: no await
        return;
      }
      // Until the table is described the rows cannot be encoded; count them against the buffer
      // anyway so that a flood while the server is starting cannot grow the heap.
      const estimate = Array.isArray(msg.payload) ? msg.payload.length : 1;
      if (waitingRows + estimate + t.writer.heldRows > writerOptions.buffer.maxRows) {
        throw new BufferFullError(
          `buffer full: ${waitingRows} rows are waiting for the description of ${t.key} (limit ${writerOptions.buffer.maxRows} rows); message not accepted`,
        );
      }
      waitingRows += estimate;
      t.encoderPromise.then(
        (enc) => {
          waitingRows -= estimate;
          try {
            accept(enc);
          } catch (err) {
            done(err instanceof Error ? err : new Error(String(err)));
          }
        },
        (err: unknown) => {
          waitingRows -= estimate;
          done(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }

    function jobWrite(job: LoadJob, msg: Msg, send: (m: Msg) => void, done: (err?: Error) => void): void {
      let enc: RowEncoderLike | undefined = jobEncoders.get(job);
      if (!enc) {
        const created: RowEncoderLike = createRowEncoder(job.columns, encoderOptions);
        jobEncoders.set(job, created);
        enc = created;
      }
      const { rows, bytes } = encodePayload(msg.payload, enc);
      job.write(rows, bytes).then(
        () => {
          window.push({ t: Date.now(), rows: rows.length });
          use.status.set({ fill: 'blue', shape: 'dot', text: t('status.written', { count: shortCount(job.rowsWritten), target: job.target }) });
          send(msg);
          done();
        },
        (err: unknown) => {
          done(err instanceof Error ? err : new Error(String(err)));
        },
      );
    }

    node.on('input', (msg: Msg, send, done) => {
      try {
        if (closing) throw new Error('gpss-write is closing (redeploy or shutdown): message not accepted');
        if (!use.server) throw new Error('gpss-write: no gpss-server config node selected');
        const jobId = msg.gpss?.job;
        if (mode === 'job' || (mode === 'auto' && jobId !== undefined && jobId !== null && jobId !== '')) {
          const job = findJob(jobId);
          if (!job) {
            throw new Error(
              `gpss-write: no open load job ${JSON.stringify(jobId ?? null)} (msg.gpss.job): it was closed, aborted by a redeploy, or never opened; wire gpss-connect before gpss-write`,
            );
          }
          jobWrite(job, msg, send as (m: Msg) => void, done);
        } else {
          streamWrite(use.server, msg, send as (m: Msg) => void, done);
        }
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      if (ticker) clearInterval(ticker);
      ticker = null;
      const deadline = Date.now() + closeTimeoutMs;
      void (async () => {
        try {
          // Messages that arrived while the table was being described are not in a writer yet:
          // let them in first (bounded by the close timeout), so they are committed too.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.allSettled([...targets.values()].map((t) => t.encoderPromise)),
            new Promise<void>((r) => (timer = setTimeout(r, closeTimeoutMs))),
          ]);
          if (timer) clearTimeout(timer);
          // Commit what we hold within the close timeout (or fail it to Catch), then let the
          // config node close the channel.
          const left = Math.max(0, deadline - Date.now());
          await Promise.allSettled([...targets.values()].map((t) => t.writer.close(left)));
          await use.release();
        } catch (err) {
          node.warn(`gpss-write close: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          done();
        }
      })();
    });
  }
  RED.nodes.registerType('gpss-write', GpssWriteNode as unknown as (this: Node, def: NodeDef) => void);
};
