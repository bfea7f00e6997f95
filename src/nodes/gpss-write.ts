// gpss-write: msg.payload → rows → batched GPSS Writes.
// - job mode (msg.gpss.job from gpss-connect): rows go into that job; the message is passed on
//   once its rows were written; nothing is visible until gpss-close commits.
// - stream mode: a job of its own per target table, committed every N rows or T ms; a message
//   is acknowledged (send + done) only after the commit holding its rows returned (at-least-once).
//   Rows the server rejected under the error limit are reported (error-rows.ts), and Merge/Update
//   rows are collapsed by match key within a commit (collapse.ts).
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  backoffDelay,
  classifyFailure,
  createRowEncoder,
  DEFAULT_WRITE_BYTES,
  describeRejected,
  errorRowsToAsk,
  findJob,
  LoadJob,
  MAX_ERROR_ROWS,
  matchColumnIndexes,
  parseErrorRow,
  MAX_WRITE_BYTES,
  rowKeyReader,
  StreamEntry,
  StreamWriter,
  StreamWriterOptions,
  WriteBufferFullError,
  type KeyOf,
  type MessageOutcome,
  type OpenOptions,
  type RejectedRow,
  type RowEncoder,
} from '../gpss';
import { buildOpenOptions, intSetting, TargetDef } from './shared/target';
import { encodePayload, encodePayloadInSlices, needsSlices, RowEncoderLike } from './shared/rows';
import { OrderedLane } from '../shared/slices';
import { useServer, shortError } from './shared/server-user';
import { shortCount } from './shared/status';
import { partsOf, SequenceCounter } from './shared/sequence';
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
  /** Job mode: commit the job once every part of the incoming msg.parts sequence was written. */
  commitOnSequenceEnd?: boolean | string;
  /** A second output that sends { tick: true } whenever the buffer has room for another message. */
  tickOutput?: boolean | string;
}

const flag = (v: unknown): boolean => v === true || v === 'true';
/** How long gpss-write counts a sequence without a new part before warning and forgetting it. */
const SEQUENCE_IDLE_MS = 10 * 60 * 1000;

type Msg = NodeMessageInFlow & { gpss?: { job?: unknown } & Record<string, unknown> };

interface Target {
  key: string;
  options: OpenOptions;
  writer: StreamWriter;
  encoder: RowEncoderLike | null;
  encoderPromise: Promise<RowEncoder>;
  /** Messages that wait for the table's description or a sliced encoding, in arrival order. */
  lane: OrderedLane;
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
    // Size of one Write (the GPSS client cuts each commit's rows into Writes of at most this).
    const writeBytes = Math.min(MAX_WRITE_BYTES, intSetting(def.writeKb, DEFAULT_WRITE_BYTES / 1024, 16, 3584) * 1024);
    const writerOptions: StreamWriterOptions = {
      commitRows: intSetting(def.commitRows, 10000, 1, 1e8),
      commitIntervalMs: intSetting(def.commitInterval, 1000, 0, 3600000),
      buffer: {
        maxRows: intSetting(def.bufferRows, 100000, 1, 1e9),
        maxBytes: intSetting(def.bufferMb, 64, 1, 4096) * 1024 * 1024,
      },
      maxRetries: intSetting(def.maxRetries, 5, 0, 100),
      backoff: { baseMs: intSetting(def.retryDelay, 250, 1, 60000), maxMs: 10000, jitter: 0.3 },
    };
    // (A buffer smaller than commitRows is allowed: commits then happen by interval.)
    const closeTimeoutMs = intSetting(def.closeTimeout, 10, 1, 14) * 1000;
    const encoderOptions = { ignoreUnknownKeys: def.ignoreUnknownKeys === true || def.ignoreUnknownKeys === 'true' };
    const targets = new Map<string, Target>();
    const jobEncoders = new WeakMap<LoadJob, RowEncoderLike>();
    const jobLanes = new WeakMap<LoadJob, OrderedLane>();
    let closing = false;
    let waitingRows = 0;
    const commitOnSequenceEnd = flag(def.commitOnSequenceEnd);
    const sequences = new SequenceCounter();

    // Pacing (second output): one { tick: true } per input message, sent once that message is
    // handled and the buffer has room for another of its size, so that a paced source (oss-import
    // with "wait for msg.tick", node-red-contrib-postgresql's msg.tick) sends the next batch only
    // when it can be taken, instead of this node refusing it with "buffer full".
    const tickOutput = flag(def.tickOutput);
    const tickWaiting: number[] = []; // row counts of handled messages whose tick waits for room
    const hasRoom = (rows: number): boolean => {
      let held = waitingRows;
      for (const t of targets.values()) held += t.writer.heldRows;
      return held + rows <= writerOptions.buffer.maxRows;
    };
    const tick = (): void => node.send([null, { tick: true }]);
    const flushTicks = (): void => {
      while (tickWaiting.length && !closing && hasRoom(tickWaiting[0])) {
        tickWaiting.shift();
        tick();
      }
    };
    /** The message is handled (buffered, written or failed): tick now, or once there is room. */
    const handled = (rows: number): void => {
      if (!tickOutput) return;
      tickWaiting.push(rows);
      flushTicks();
    };

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
    // Rows held longer than the commit interval (+3 s) with no commit meanwhile: the database
    // is slow or blocked (a lock, a restart). Said in the status so that it is not mistaken for
    // a healthy stream.
    let lastCommitAt = Date.now();
    let heldSince = 0;
    const showStatus = (): void => {
      const h = held();
      const rejected = rejectedTotal > 0 ? t('status.rejected', { count: shortCount(rejectedTotal) }) : '';
      const now = Date.now();
      heldSince = h === 0 ? 0 : heldSince || now;
      const waitingMs = h > 0 ? now - Math.max(lastCommitAt, heldSince) : 0;
      if (lastError) use.status.set({ fill: 'red', shape: 'ring', text: shortError(lastError) });
      else if (waitingMs > writerOptions.commitIntervalMs + 3000) {
        use.status.set({ fill: 'yellow', shape: 'ring', text: t('status.waiting', { seconds: Math.round(waitingMs / 1000), held: shortCount(h) }) + rejected });
      } else if (h > 0) use.status.set({ fill: 'blue', shape: 'dot', text: t('status.writing', { rate: shortCount(rate()), held: shortCount(h) }) + rejected });
      else if (committedTotal > 0) use.status.set({ fill: rejected ? 'yellow' : 'green', shape: 'dot', text: t('status.committed', { count: shortCount(committedTotal) }) + rejected });
    };
    let ticker: NodeJS.Timeout | null = setInterval(() => {
      showStatus();
      if (tickOutput) flushTicks();
      // A sequence whose parts stopped coming (filtered out upstream) is not counted forever;
      // its job stays open for a gpss-close (or the redeploy) to end: say so.
      if (commitOnSequenceEnd && sequences.size) {
        for (const s of sequences.takeIdle(SEQUENCE_IDLE_MS)) {
          node.warn(`gpss-write: sequence ${s.id} stopped at ${s.seen} of ${s.count ?? 'an unknown number of'} parts for ${SEQUENCE_IDLE_MS / 60000} min; its job was not committed`);
        }
      }
    }, 1000);
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
            // A missing table or a refused login will not change by retrying (failure-class.ts).
            if (attempt >= writerOptions.maxRetries || closing || classifyFailure(err) === 'fatal') throw err;
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
        (rows, info) => server.service.commitRows(options, rows, errorRowsToAsk(info.rows), writeBytes),
        {
          committed: ({ rows, messages, rejections }) => {
            committedTotal += rows - (rejections?.total ?? 0);
            lastCommitAt = Date.now();
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
          // Rows released from the buffer: a waiting tick may go out (only with the tick output).
          ...(tickOutput ? { changed: flushTicks } : {}),
        },
      );
      const created: Target = {
        key,
        options,
        writer,
        encoder: null,
        encoderPromise: describeWithRetry(server, options.schema ?? 'public', options.table),
        lane: new OrderedLane(),
        keyOf: null,
      };
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
      const accept = ({ rows, bytes }: { rows: Buffer[]; bytes: number }): void => {
        if (rows.length === 0) {
          send(msg);
          done();
          handled(0);
          return;
        }
        t.writer.accept(new MessageEntry(rows, bytes, msg, node, done));
        handled(rows.length);
        // No status update per message: the 1 s ticker and commit events show progress.
      };
      if (t.encoder && t.lane.idle && !needsSlices(msg.payload)) {
        accept(encodePayload(msg.payload, t.encoder)); // hot path: no await
        return;
      }
      // The ordered path: until the table is described the rows cannot be encoded, a large
      // payload is encoded in slices (the event loop must not stall), and messages behind either
      // wait their turn. Count them against the buffer anyway, so that a flood while the server
      // is starting cannot grow the heap.
      const estimate = Array.isArray(msg.payload) ? msg.payload.length : 1;
      if (waitingRows + estimate + t.writer.heldRows > writerOptions.buffer.maxRows) {
        throw new WriteBufferFullError(
          `buffer full: ${waitingRows} rows are waiting for the description of ${t.key} or their turn (limit ${writerOptions.buffer.maxRows} rows); message not accepted`,
        );
      }
      waitingRows += estimate;
      t.lane.run(async () => {
        let counted = true;
        try {
          const encoded = await encodePayloadInSlices(msg.payload, await t.encoderPromise);
          waitingRows -= estimate;
          counted = false;
          accept(encoded);
        } catch (err) {
          done(err instanceof Error ? err : new Error(String(err)));
          handled(0);
        } finally {
          if (counted) waitingRows -= estimate;
        }
      });
    }

    function jobWrite(job: LoadJob, msg: Msg, send: (m: Msg) => void, done: (err?: Error) => void): void {
      let enc: RowEncoderLike | undefined = jobEncoders.get(job);
      if (!enc) {
        const created: RowEncoderLike = createRowEncoder(job.columns, encoderOptions);
        jobEncoders.set(job, created);
        enc = created;
      }
      const lane = jobLanes.get(job);
      if ((!lane || lane.idle) && !needsSlices(msg.payload)) {
        let encoded;
        try {
          encoded = encodePayload(msg.payload, enc);
        } catch (err) {
          jobMessageDone(job, msg, send, done, err); // a bad row is still a part of its sequence
          return;
        }
        writeToJob(job, encoded, msg, send, done);
        return;
      }
      // A large payload is encoded in slices; later messages of the job queue behind it.
      const encoder = enc;
      let ordered = lane;
      if (!ordered) {
        ordered = new OrderedLane();
        jobLanes.set(job, ordered);
      }
      ordered.run(async () => {
        let encoded;
        try {
          encoded = await encodePayloadInSlices(msg.payload, encoder);
        } catch (err) {
          jobMessageDone(job, msg, send, done, err);
          return;
        }
        writeToJob(job, encoded, msg, send, done);
      });
    }

    function writeToJob(job: LoadJob, { rows, bytes }: { rows: Buffer[]; bytes: number }, msg: Msg, send: (m: Msg) => void, done: (err?: Error) => void): void {
      job.write(rows, bytes).then(
        () => {
          window.push({ t: Date.now(), rows: rows.length });
          use.status.set({ fill: 'blue', shape: 'dot', text: t('status.written', { count: shortCount(job.rowsWritten), target: job.target }) });
          jobMessageDone(job, msg, send, done, null);
        },
        (err: unknown) => jobMessageDone(job, msg, send, done, err),
      );
    }

    /**
     * A job-mode message was written (err null) or failed. With "commit at the end of a sequence"
     * it counts as one part of its msg.parts sequence, failed or not (a failed part is reported
     * to Catch and must not keep the job open); the part that completes the count commits the job
     * and carries the outcome in msg.gpss.closed.
     */
    function jobMessageDone(job: LoadJob, msg: Msg, send: (m: Msg) => void, done: (err?: Error) => void, err: unknown): void {
      const failure = err === null ? null : err instanceof Error ? err : new Error(String(err));
      handled(0);
      const parts = commitOnSequenceEnd ? partsOf(msg) : null;
      let finished = false;
      if (parts) {
        try {
          finished = sequences.add(parts).finished;
        } catch (e) {
          done(failure ?? (e instanceof Error ? e : new Error(String(e))));
          return;
        }
      }
      if (!finished) {
        if (failure) done(failure);
        else {
          send(msg);
          done();
        }
        return;
      }
      const target = job.target;
      job.close({ maxErrorRows: MAX_ERROR_ROWS }).then(
        (stats) => {
          const errorRows = stats.errorRows.map(parseErrorRow);
          // A new msg.gpss: the parts of a sequence may share one (oss-import sends shallow copies).
          msg.gpss = { ...gpssOf(msg), closed: { successCount: stats.successCount, errorCount: stats.errorCount, errorRows } };
          committedTotal += stats.successCount;
          use.status.set({ fill: stats.errorCount > 0 ? 'yellow' : 'green', shape: 'dot', text: t('status.committedJob', { count: shortCount(stats.successCount), target }) });
          if (stats.errorCount > 0) node.warn(`gpss-write: ${target} committed ${stats.successCount} rows at the end of the sequence; the server rejected ${stats.errorCount} (see msg.gpss.closed.errorRows)`);
          if (failure) done(failure);
          else {
            send(msg);
            done();
          }
        },
        (e: unknown) => {
          const closeErr = new Error(`gpss-write: committing ${target} at the end of sequence ${String(parts!.id)} failed: ${e instanceof Error ? e.message : String(e)}`);
          use.status.set({ fill: 'red', shape: 'ring', text: shortError(closeErr.message) });
          done(failure ? new Error(`${failure.message}; ${closeErr.message}`) : closeErr);
        },
      );
    }

    // Stream mode with a fixed table: connect and describe the table now, not on the first
    // message (creating the gRPC client and session is tens of ms of work: at 10,000 msgs/s the
    // first message would otherwise stall the flow long enough for a broker to drop messages).
    // A failure here is forgotten: the first message describes again and reports it.
    if (mode !== 'job' && staticTarget && use.server) {
      const server = use.server;
      setImmediate(() => {
        if (closing) return;
        try {
          targetFor(server, {} as Msg);
        } catch {
          /* bad options: the first message reports them */
        }
      });
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
        // A refused message (buffer full, no job): its tick waits for room like any other.
        handled(Array.isArray(msg.payload) ? msg.payload.length : 1);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      if (ticker) clearInterval(ticker);
      ticker = null;
      const deadline = Date.now() + closeTimeoutMs;
      void (async () => {
        try {
          // Messages that arrived while the table was being described (or that are being
          // encoded in slices) are not in a writer yet: let them in first (bounded by the close
          // timeout), so they are committed too.
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.allSettled([...targets.values()].map((t) => t.lane.whenIdle())),
            new Promise<void>((r) => (timer = setTimeout(r, closeTimeoutMs))),
          ]);
          if (timer) clearTimeout(timer);
          // Commit what we hold within the close timeout (or fail it to Catch), then let the
          // config node close the channel.
          const left = Math.max(0, deadline - Date.now());
          const committedBefore = committedTotal;
          await Promise.allSettled([...targets.values()].map((t) => t.writer.close(left)));
          // A flow being stopped leaves routing whole before any close ends (runtime Flow.stop),
          // so what was committed and passed on now never reached the nodes behind: say so.
          const unrouted = (node as Node & { wires?: string[][] }).wires?.[0]?.filter((id) => !RED.nodes.getNode(id)) ?? [];
          if (committedTotal > committedBefore && unrouted.length) {
            node.warn(
              `gpss-write: ${committedTotal - committedBefore} rows committed while closing; their messages were passed on, but the nodes wired after ` +
                `gpss-write (${unrouted.join(', ')}) had already stopped, and Node-RED does not deliver to stopped nodes. The rows are in the table.`,
            );
          }
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
