// gpss-write: msg.payload → rows → batched GPSS Writes.
// - job mode (msg.gpss.job from gpss-connect): rows go into that job (JobMessages); the message
//   is passed on once its rows were written; nothing is visible until gpss-close commits (or, with
//   "commit at the end of a sequence", the last part of the msg.parts sequence: kit SequenceCommit).
// - stream mode: a stream target per table (StreamTargets: described once, committed every N
//   rows or T ms); a message is acknowledged (send + done) only after the commit holding its
//   rows returned (at-least-once: MessageEntry). Rows the server rejected under the error limit are reported.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { findJob, JobMessages, MessageEntry, RoomPacer, StreamTargets } from '../gpss';
import * as kit from './kit';

interface GpssWriteDef extends NodeDef, kit.OverridableTargetDef, kit.WriteSettingsDef {
  server: string;
}

type Msg = NodeMessageInFlow & { gpss?: { job?: unknown } & Record<string, unknown> };

export = function (RED: NodeAPI): void {
  function GpssWriteNode(this: Node, def: GpssWriteDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const setup = kit.useServerWith(RED, node, def.server, () => kit.readWriteSettings(def));
    if (!setup) return;
    const { use, settings } = setup;
    const { mode, writer } = settings;
    const t = kit.translator(RED, 'gpss-write');
    const jobs = new JobMessages(settings.encoder);
    const tableOptions = new kit.TargetOptions(RED, node, def);
    let closing = false;
    let committedTotal = 0;
    let rejectedTotal = 0;
    let lastError = '';

    // Pacing (second output): one { tick: true } per input message, sent once that message is
    // handled and the buffer has room for another of its size, so that a paced source (oss-import
    // with "wait for msg.tick", node-red-contrib-postgresql's msg.tick) sends the next batch only
    // when it can be taken, instead of this node refusing it with "buffer full".
    const ticks: RoomPacer | null = settings.tickOutput ? new RoomPacer((rows: number): boolean => streams.hasRoom(rows), () => node.send([null, { tick: true }])) : null;
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
    const sequenceCommit = new kit.SequenceCommit(settings.commitOnSequenceEnd, { type: 'gpss-write', status: use.status, t, warn: (text) => node.warn(text), committed: (rows) => (committedTotal += rows) });

    const showStatus = (): void => {
      const status = kit.writeStatus(
        { lastError, heldRows: streams.heldRows, waitingMs: streams.waitingMs(), commitIntervalMs: writer.commitIntervalMs, committedRows: committedTotal, rejectedRows: rejectedTotal, ratePerSecond: () => streams.rate.perSecond() },
        t,
      );
      if (status) use.status.set(status);
    };
    let ticker: NodeJS.Timeout | null = setInterval(() => {
      showStatus();
      ticks?.flush();
      sequenceCommit.warnIdle();
    }, 1000);
    ticker.unref();

    // Stream mode with a fixed table: connect and describe the table now, not on the first
    // message (creating the gRPC client and session is tens of ms of work: at 10,000 msgs/s the
    // first message would otherwise stall the flow long enough for a broker to drop messages).
    // A failure here is forgotten: the first message describes again and reports it.
    if (mode !== 'job' && tableOptions.fixed && use.server) {
      setImmediate(() => {
        if (closing) return;
        try {
          streams.target(tableOptions.for({}));
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
            handled(0);
            sequenceCommit.messageDone(job, msg, send as (m: Msg) => void, done, err);
          });
        } else {
          // No status update per message: the 1 s ticker and commit events show progress.
          streams.target(tableOptions.for(msg)).write(new MessageEntry<Msg>(msg, node, done));
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
        .then(() => kit.warnCommittedWhileClosing(RED, node, committedTotal - committedBefore))
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
