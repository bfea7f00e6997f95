// gpss-close: commits (or, with msg.abort === true, aborts) the load job named by msg.gpss.job,
// optionally disconnects its session, and sends msg.payload = { successCount, errorCount, errorRows }
// with errorRows parsed into { row, reason } (error-rows.ts). Rows the server rejected under the
// error limit are also logged as a warning and shown in the status: never only in the payload.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { describeJobRejections, findJob, jobOutcome, MAX_ERROR_ROWS } from '../gpss';
import * as kit from './kit';

interface GpssCloseDef extends NodeDef {
  server?: string;
  maxErrorRows?: string | number;
  disconnect?: boolean | string;
  /** Close only once every part of the incoming msg.parts sequence has arrived. */
  waitForSequence?: boolean | string;
  /** Seconds without a part before an unfinished sequence is given up (its job aborted). */
  sequenceTimeout?: string | number;
}

type Msg = NodeMessageInFlow & { gpss?: { job?: unknown } & Record<string, unknown>; abort?: unknown };

export = function (RED: NodeAPI): void {
  function GpssCloseNode(this: Node, def: GpssCloseDef): void {
    RED.nodes.createNode(this, def);
    const t = kit.translator(RED, 'gpss-close');
    const node = this;
    // The server is optional here: the job id is enough; naming it keeps the channel open while we close.
    const use = def.server ? kit.useServer(RED, node, def.server) : null;
    const status = use ? use.status : new kit.ThrottledStatus(node);
    let sweeper: NodeJS.Timeout | null = null;
    node.on('close', (_removed: boolean, done: () => void) => {
      if (sweeper) clearInterval(sweeper);
      status.dispose();
      if (use) use.release().then(done, done);
      else done();
    });
    let settings;
    try {
      // "All" (-1) and large values are capped: the Close response must stay under gRPC's 4 MiB
      // receive limit, or a job that committed would be reported as failed.
      const asked = kit.intSetting(def.maxErrorRows, 0, -1, 1e6, 'max error rows');
      settings = {
        maxErrorRows: asked < 0 || asked > MAX_ERROR_ROWS ? MAX_ERROR_ROWS : asked,
        disconnect: kit.boolSetting(def.disconnect, false, 'disconnect'),
        waitForSequence: kit.boolSetting(def.waitForSequence, false, 'wait for the whole sequence'),
        sequenceTimeoutMs: kit.intSetting(def.sequenceTimeout, 60, 1, 86400, 'sequence timeout (s)') * 1000,
      };
    } catch (err) {
      kit.failedSetup(node, err, status);
      return;
    }
    const { maxErrorRows, disconnect, waitForSequence, sequenceTimeoutMs } = settings;
    let committedTotal = 0;
    let rejectedTotal = 0;

    // "Wait for the whole sequence": parts are counted by msg.parts.id (the count, and the latest
    // message of each open sequence for the Catch node: never all the messages); the part that
    // completes the count closes the job. A sequence that stops short (a part failed upstream
    // and went to Catch, or was filtered out) is given up after the timeout: its job is aborted,
    // so that a partial load is never committed, and the error goes to Catch.
    const sequences = new kit.SequenceCounter<Msg>();
    if (waitForSequence) {
      sweeper = setInterval(() => {
        for (const gone of sequences.takeIdle(sequenceTimeoutMs)) {
          const job = findJob(gone.data?.gpss?.job);
          const what = `gpss-close: sequence ${gone.id} stopped at ${gone.seen} of ${gone.count ?? 'an unknown number of'} parts (no part for ${sequenceTimeoutMs / 1000} s)`;
          if (job) void job.close({ abort: true }).catch(() => undefined);
          status.set(kit.errorStatus(what));
          node.error(new Error(`${what}; ${job ? `load job ${job.target} aborted` : 'its load job is no longer open'}`), gone.data);
        }
      }, Math.min(1000, sequenceTimeoutMs / 2));
      sweeper.unref();
    }

    node.on('input', (msg: Msg, send, done) => {
      try {
        const id = msg.gpss?.job;
        const job = findJob(id);
        if (!job) {
          throw new Error(
            `gpss-close: no open load job ${JSON.stringify(id ?? null)} (msg.gpss.job): it was already closed, aborted by a redeploy, or never opened by gpss-connect`,
          );
        }
        const abort = msg.abort === true;
        const parts = waitForSequence && !abort ? kit.partsOf(msg) : null;
        if (parts) {
          const seen = sequences.add(parts, msg);
          if (!seen.finished) {
            status.set({ fill: 'blue', shape: 'ring', text: seen.count ? t('status.waitingPartsOf', { seen: seen.seen, count: seen.count }) : t('status.waitingParts', { seen: seen.seen }) });
            done();
            return;
          }
        }
        const target = job.target;
        job.close({ abort, maxErrorRows, disconnect }).then(
          (stats) => {
            const outcome = jobOutcome(stats);
            msg.payload = outcome;
            if (!abort) committedTotal += stats.successCount;
            if (!abort && stats.errorCount > 0) {
              rejectedTotal += stats.errorCount;
              node.warn(`gpss-close: ${target} committed ${stats.successCount} rows; ${describeJobRejections(outcome, maxErrorRows)}`);
            }
            const rejected = rejectedTotal > 0 ? t('status.rejected', { count: kit.shortCount(rejectedTotal) }) : '';
            status.set({
              fill: abort || rejectedTotal > 0 ? 'yellow' : 'green',
              shape: 'dot',
              text: abort ? t('status.aborted', { target }) : t('status.committed', { count: kit.shortCount(committedTotal) }) + rejected,
            });
            send(msg);
            done();
          },
          (err: unknown) => {
            status.set(kit.errorStatus(err));
            done(kit.asError(err));
          },
        );
      } catch (err) {
        done(kit.asError(err));
      }
    });
  }
  RED.nodes.registerType('gpss-close', GpssCloseNode as unknown as (this: Node, def: NodeDef) => void);
};
