// Job mode's "commit at the end of a sequence" (gpss-write): every job-mode message counts as
// one part of its msg.parts sequence, failed or not (a failed part is reported to Catch and must
// not keep the job open); the part that completes the count commits the job and carries the
// outcome in msg.gpss.closed. A sequence whose parts stopped coming (filtered out upstream) is
// not counted forever: warnIdle() forgets it and says that its job stays open for a gpss-close
// (or the redeploy) to end.
import type { NodeStatus } from 'node-red';
import { gpssOf, jobOutcome, MAX_ERROR_ROWS, type GpssFlowMessage, type LoadJob } from '../../gpss';
import { asError, errorStatus, errorText } from './errors';
import { partsOf, SequenceCounter } from './sequence';
import { shortCount } from './status';

/** How long a sequence is counted without a new part before warning and forgetting it. */
export const SEQUENCE_IDLE_MS = 10 * 60 * 1000;

export interface SequenceCommitHooks {
  /** The node's type, the start of its warnings and errors ('gpss-write'). */
  type: string;
  status: { set(status: NodeStatus): void };
  t: (key: string, vars?: Record<string, string | number>) => string;
  warn(text: string): void;
  /** Rows a commit at the end of a sequence made visible. */
  committed(rows: number): void;
}

type SequenceMessage = GpssFlowMessage & { parts?: unknown };

export class SequenceCommit {
  private readonly sequences = new SequenceCounter();
  constructor(
    /** Off: every message is passed on (or failed) as its rows are written. */
    private readonly enabled: boolean,
    private readonly hooks: SequenceCommitHooks,
    private readonly idleMs = SEQUENCE_IDLE_MS,
  ) {}

  /** A job-mode message was written (err null) or failed: pass it on, fail it, or commit its sequence. */
  messageDone<M extends SequenceMessage>(job: LoadJob, msg: M, send: (m: M) => void, done: (err?: Error) => void, err: unknown): void {
    const failure = err === null ? null : asError(err);
    const parts = this.enabled ? partsOf(msg) : null;
    let finished = false;
    try {
      finished = parts ? this.sequences.add(parts).finished : false;
    } catch (e) {
      done(failure ?? asError(e));
      return;
    }
    if (finished) this.closeAtSequenceEnd(job, msg, String(parts!.id), failure, send, done);
    else if (failure) done(failure);
    else {
      send(msg);
      done();
    }
  }

  /** Warns about (and forgets) the sequences with no part for the idle time; called by a ticker. */
  warnIdle(now?: number): void {
    if (!this.enabled || !this.sequences.size) return;
    for (const s of this.sequences.takeIdle(this.idleMs, now)) {
      this.hooks.warn(`${this.hooks.type}: sequence ${s.id} stopped at ${s.seen} of ${s.count ?? 'an unknown number of'} parts for ${this.idleMs / 60000} min; its job was not committed`);
    }
  }

  private closeAtSequenceEnd<M extends SequenceMessage>(job: LoadJob, msg: M, sequence: string, failure: Error | null, send: (m: M) => void, done: (err?: Error) => void): void {
    const { type, status, t } = this.hooks;
    const target = job.target;
    job.close({ maxErrorRows: MAX_ERROR_ROWS }).then(
      (stats) => {
        // A new msg.gpss: the parts of a sequence may share one (oss-import sends shallow copies).
        msg.gpss = { ...gpssOf(msg), closed: jobOutcome(stats) };
        this.hooks.committed(stats.successCount);
        status.set({ fill: stats.errorCount > 0 ? 'yellow' : 'green', shape: 'dot', text: t('status.committedJob', { count: shortCount(stats.successCount), target }) });
        if (stats.errorCount > 0) this.hooks.warn(`${type}: ${target} committed ${stats.successCount} rows at the end of the sequence; the server rejected ${stats.errorCount} (see msg.gpss.closed.errorRows)`);
        if (failure) done(failure);
        else {
          send(msg);
          done();
        }
      },
      (e: unknown) => {
        const closeErr = new Error(`${type}: committing ${target} at the end of sequence ${sequence} failed: ${errorText(e)}`);
        status.set(errorStatus(closeErr));
        done(failure ? new Error(`${failure.message}; ${closeErr.message}`) : closeErr);
      },
    );
  }
}
