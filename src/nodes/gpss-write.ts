// gpss-write: msg.payload → rows → batched GPSS Writes.
// - job mode (msg.gpss.job from gpss-connect): rows go into that job (JobMessages); the message
//   is passed on once its rows were written; nothing is visible until gpss-close commits.
// - stream mode: a stream target per table (StreamTargets: described once, committed every N
//   rows or T ms); a message is acknowledged (send + done) only after the commit holding its
//   rows returned (at-least-once). Rows the server rejected under the error limit are reported.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeRejected, findJob, jobOutcome, JobMessages, MAX_ERROR_ROWS, RoomPacer, StreamTargets, type LoadJob, type MessageOutcome, type OpenOptions, type RejectedRow, type PackedRows, type StreamEntry, type StreamMessage } from '../gpss';
import * as kit from './kit';
import type { TargetDef } from './kit';

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

/** How long gpss-write counts a sequence without a new part before warning and forgetting it. */
const SEQUENCE_IDLE_MS = 10 * 60 * 1000;

type Msg = NodeMessageInFlow & { gpss?: { job?: unknown } & Record<string, unknown> };

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

/** One message in stream mode, settled by its commit (a class, not closures: one allocation per message). */
const NO_ROWS: Buffer[] = [];

class MessageEntry implements StreamMessage, StreamEntry {
  rows: PackedRows | Buffer[] = NO_ROWS; // its encoded rows (packed), set by entry() (nothing allocated per message before)
  bytes = 0;
  constructor(
    private readonly msg: Msg,
    // The node, not the per-message send closure Node-RED made (it does exactly node.send(msg)):
    // held messages then keep one object fewer alive until their commit.
    private readonly node: Node,
    private readonly done: (err?: Error) => void,
  ) {}
  get payload(): unknown {
    return this.msg.payload;
  }
  entry(rows: PackedRows, bytes: number): StreamEntry {
    this.rows = rows;
    this.bytes = bytes;
    return this;
  }
  empty(): void {
    this.node.send(this.msg);
    this.done();
  }
  failed(err: Error): void {
    this.done(err);
  }
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

function readSettings(def: GpssWriteDef) {
  const commitIntervalMs = kit.intSetting(def.commitInterval, 1000, 0, 3600000, 'commit interval (ms)');
  return {
    mode: kit.choiceSetting(def.writeMode, ['auto', 'stream', 'job'] as const, 'auto', 'write into'),
    // (A buffer smaller than commitRows is allowed: commits then happen by interval.)
    writer: {
      commitRows: kit.intSetting(def.commitRows, 10000, 1, 1e8, 'commit every (rows)'),
      commitIntervalMs,
      buffer: kit.bufferSetting(def, 100000),
      maxRetries: kit.intSetting(def.maxRetries, 5, 0, 100, 'retries'),
      backoff: { baseMs: kit.intSetting(def.retryDelay, 250, 1, 60000, 'first retry delay (ms)'), maxMs: 10000, jitter: 0.3 },
    },
    writeBytes: kit.writeBytesSetting(def.writeKb),
    encoder: { ignoreUnknownKeys: kit.boolSetting(def.ignoreUnknownKeys, false, 'ignore keys that are not columns') },
    closeTimeoutMs: kit.intSetting(def.closeTimeout, 10, 1, 14, 'close timeout (s)') * 1000,
    commitOnSequenceEnd: kit.boolSetting(def.commitOnSequenceEnd, false, 'commit at the end of a sequence'),
    tickOutput: kit.boolSetting(def.tickOutput, false, 'tick output'),
  };
}

export = function (RED: NodeAPI): void {
  function GpssWriteNode(this: Node, def: GpssWriteDef): void {
    RED.nodes.createNode(this, def);
    const t = kit.translator(RED, 'gpss-write');
    const node = this;
    const use = kit.useServer(RED, node, def.server);
    let settings: ReturnType<typeof readSettings>;
    try {
      settings = readSettings(def);
    } catch (err) {
      node.on('close', (_removed: boolean, done: () => void) => void use.release().then(done, done));
      kit.failedSetup(node, err, use.status);
      return;
    }
    const { mode, writer, commitOnSequenceEnd, tickOutput } = settings;
    let closing = false;
    const sequences = new kit.SequenceCounter();
    const jobs = new JobMessages(settings.encoder);
    let committedTotal = 0;
    let rejectedTotal = 0;
    let lastError = '';

    // Pacing (second output): one { tick: true } per input message, sent once that message is
    // handled and the buffer has room for another of its size, so that a paced source (oss-import
    // with "wait for msg.tick", node-red-contrib-postgresql's msg.tick) sends the next batch only
    // when it can be taken, instead of this node refusing it with "buffer full".
    const ticks: RoomPacer | null = tickOutput ? new RoomPacer((rows: number): boolean => streams.hasRoom(rows), () => node.send([null, { tick: true }])) : null;
    const handled = (rows: number): void => ticks?.handled(rows);

    const streams: StreamTargets = new StreamTargets(use.server ? use.server.service : { describeTable: noServer, commitRows: noServer }, settings, {
      committed: ({ target, rows, messages, rejections }) => {
        committedTotal += rows - (rejections?.total ?? 0);
        lastError = '';
        if (rejections) {
          rejectedTotal += rejections.total;
          // Named rows go to Catch with their messages; counts alone are logged here.
          if (rejections.countsOnly) {
            node.warn(
              `gpss-write: the server rejected ${rejections.total} of ${rows} rows in a commit to ${target} (${rejections.why}); ` +
                `the ${messages} message(s) of that commit went on with msg.gpss.rejected = ${rejections.total}`,
            );
          }
        }
        showStatus();
      },
      attemptFailed: ({ error, willRetry }) => {
        lastError = (willRetry ? 'retrying: ' : '') + kit.errorText(error);
        showStatus();
      },
      callbackFailed: (error) => node.warn(`gpss-write: passing a committed message on failed: ${kit.errorText(error)}`),
      // Rows released from the buffer: a waiting tick may go out (only with the tick output).
      ...(ticks ? { changed: () => ticks.flush(), handled } : {}),
    });

    // Status: rows/s over a short window, held rows, total committed; rows held longer than the
    // commit interval (+3 s) with no commit: "waiting for the database", not a healthy stream.
    const showStatus = (): void => {
      const h = streams.heldRows;
      const rejected = rejectedTotal > 0 ? t('status.rejected', { count: kit.shortCount(rejectedTotal) }) : '';
      const waitingMs = streams.waitingMs();
      if (lastError) use.status.set(kit.errorStatus(lastError));
      else if (waitingMs > writer.commitIntervalMs + 3000) {
        use.status.set({ fill: 'yellow', shape: 'ring', text: t('status.waiting', { seconds: Math.round(waitingMs / 1000), held: kit.shortCount(h) }) + rejected });
      } else if (h > 0) use.status.set({ fill: 'blue', shape: 'dot', text: t('status.writing', { rate: kit.shortCount(streams.rate.perSecond()), held: kit.shortCount(h) }) + rejected });
      else if (committedTotal > 0) use.status.set({ fill: rejected ? 'yellow' : 'green', shape: 'dot', text: t('status.committed', { count: kit.shortCount(committedTotal) }) + rejected });
    };
    let ticker: NodeJS.Timeout | null = setInterval(() => {
      showStatus();
      ticks?.flush();
      // A sequence whose parts stopped coming (filtered out upstream) is not counted forever;
      // its job stays open for a gpss-close (or the redeploy) to end: say so.
      for (const s of commitOnSequenceEnd && sequences.size ? sequences.takeIdle(SEQUENCE_IDLE_MS) : []) {
        node.warn(`gpss-write: sequence ${s.id} stopped at ${s.seen} of ${s.count ?? 'an unknown number of'} parts for ${SEQUENCE_IDLE_MS / 60000} min; its job was not committed`);
      }
    }, 1000);
    ticker.unref();

    // The table of the stream: with a fixed table (the usual case) the options are built once.
    const table: kit.OverridableField = { value: def.table, type: def.tableType };
    const schema: kit.OverridableField = { value: def.schema, type: def.schemaType };
    let fixedOptions: OpenOptions | null = null;
    const optionsFor = (msg: Msg): OpenOptions => {
      if (fixedOptions) return fixedOptions;
      const options = kit.buildOpenOptions({ ...def, table: kit.resolveText(RED, node, msg, table), schema: kit.resolveText(RED, node, msg, schema) });
      if (kit.isFixed(table) && kit.isFixed(schema)) fixedOptions = options;
      return options;
    };

    /** A job-mode message was written (err null) or failed: see closeAtSequenceEnd. */
    const jobMessageDone = (job: LoadJob, msg: Msg, send: (m: Msg) => void, done: (err?: Error) => void, err: unknown): void => {
      const failure = err === null ? null : kit.asError(err);
      handled(0);
      const parts = commitOnSequenceEnd ? kit.partsOf(msg) : null;
      let finished = false;
      try {
        finished = parts ? sequences.add(parts).finished : false;
      } catch (e) {
        done(failure ?? kit.asError(e));
        return;
      }
      if (finished) closeAtSequenceEnd(job, msg, String(parts!.id), failure, send, done);
      else if (failure) done(failure);
      else {
        send(msg);
        done();
      }
    };

    /**
     * "Commit at the end of a sequence": every job-mode message counts as one part of its
     * msg.parts sequence, failed or not (a failed part is reported to Catch and must not keep the
     * job open); the part that completes the count commits the job and carries the outcome in
     * msg.gpss.closed.
     */
    const closeAtSequenceEnd = (job: LoadJob, msg: Msg, sequence: string, failure: Error | null, send: (m: Msg) => void, done: (err?: Error) => void): void => {
      const target = job.target;
      job.close({ maxErrorRows: MAX_ERROR_ROWS }).then(
        (stats) => {
          // A new msg.gpss: the parts of a sequence may share one (oss-import sends shallow copies).
          msg.gpss = { ...gpssOf(msg), closed: jobOutcome(stats) };
          committedTotal += stats.successCount;
          use.status.set({ fill: stats.errorCount > 0 ? 'yellow' : 'green', shape: 'dot', text: t('status.committedJob', { count: kit.shortCount(stats.successCount), target }) });
          if (stats.errorCount > 0) node.warn(`gpss-write: ${target} committed ${stats.successCount} rows at the end of the sequence; the server rejected ${stats.errorCount} (see msg.gpss.closed.errorRows)`);
          if (failure) done(failure);
          else {
            send(msg);
            done();
          }
        },
        (e: unknown) => {
          const closeErr = new Error(`gpss-write: committing ${target} at the end of sequence ${sequence} failed: ${kit.errorText(e)}`);
          use.status.set(kit.errorStatus(closeErr));
          done(failure ? new Error(`${failure.message}; ${closeErr.message}`) : closeErr);
        },
      );
    };

    // Stream mode with a fixed table: connect and describe the table now, not on the first
    // message (creating the gRPC client and session is tens of ms of work: at 10,000 msgs/s the
    // first message would otherwise stall the flow long enough for a broker to drop messages).
    // A failure here is forgotten: the first message describes again and reports it.
    if (mode !== 'job' && kit.isFixed(table) && kit.isFixed(schema) && use.server) {
      setImmediate(() => {
        if (closing) return;
        try {
          streams.target(optionsFor({} as Msg));
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
          jobs.write(job, msg.payload, (err, rows) => {
            if (err === null) {
              streams.rate.add(rows);
              use.status.set({ fill: 'blue', shape: 'dot', text: t('status.written', { count: kit.shortCount(job.rowsWritten), target: job.target }) });
            }
            jobMessageDone(job, msg, send as (m: Msg) => void, done, err);
          });
        } else {
          // No status update per message: the 1 s ticker and commit events show progress.
          streams.target(optionsFor(msg)).write(new MessageEntry(msg, node, done));
        }
      } catch (err) {
        done(kit.asError(err));
        // A refused message (buffer full, no job): its tick waits for room like any other.
        handled(Array.isArray(msg.payload) ? msg.payload.length : 1);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      if (ticks) ticks.stopped = true;
      if (ticker) clearInterval(ticker);
      ticker = null;
      // Messages still on their way into a writer go in first, then what the writers hold is
      // committed within the close timeout (or failed to Catch); then the config node may close
      // the channel.
      const committedBefore = committedTotal;
      streams
        .close(settings.closeTimeoutMs)
        .then(() => {
          // A flow being stopped leaves routing whole before any close ends (runtime Flow.stop),
          // so what was committed and passed on now never reached the nodes behind: say so.
          const unrouted = (node as Node & { wires?: string[][] }).wires?.[0]?.filter((id) => !RED.nodes.getNode(id)) ?? [];
          if (committedTotal > committedBefore && unrouted.length) {
            node.warn(
              `gpss-write: ${committedTotal - committedBefore} rows committed while closing; their messages were passed on, but the nodes wired after ` +
                `gpss-write (${unrouted.join(', ')}) had already stopped, and Node-RED does not deliver to stopped nodes. The rows are in the table.`,
            );
          }
        })
        .catch((err: unknown) => node.warn(`gpss-write close: ${kit.errorText(err)}`))
        .then(() => use.release())
        .finally(done);
    });
  }
  RED.nodes.registerType('gpss-write', GpssWriteNode as unknown as (this: Node, def: NodeDef) => void);
};

function noServer(): Promise<never> {
  return Promise.reject(new Error('gpss-write: no gpss-server config node selected'));
}
