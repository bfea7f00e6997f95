// An explicit load job (gpss-connect → gpss-write… → gpss-close): one session, one open table,
// one transaction. Writes from any number of messages are queued, the queued messages' rows are
// handed on together (cut into Writes of at most `writeBytes` by the GPSS client), and sent one
// at a time (GPSS sessions are strictly sequential). A Merge/Update job writes each match key
// once (key-index.ts).
import { randomUUID } from 'node:crypto';
import { BufferAccount, BufferLimits } from './buffer-account';
import type { ColumnInfo, OpenOptions, TransferStats } from './client';
import { matchColumnIndexes, rowKeyReader } from './collapse';
import { DEFAULT_JOB_KEY_LIMIT, JobKeyIndex } from './key-index';

/** What a job needs from the session pool; implemented by GpssService. */
export interface JobSessionApi {
  /** Writes rows in Writes of at most `writeBytes` each. */
  write(session: string, rows: readonly Uint8Array[], writeBytes: number): Promise<void>;
  close(session: string, options: { maxErrorRows?: number; abort?: boolean }): Promise<TransferStats>;
  /** The session is healthy again (after Close) and may be reused. */
  release(session: string): void;
  /** The session is broken; drop it (best-effort Disconnect). */
  discard(session: string): void;
  /** The job ended (closed, aborted or failed): forget it. */
  forget(job: LoadJob): void;
}

export class JobError extends Error {
  constructor(message: string, readonly code: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'JobError';
  }
}

interface QueuedWrite {
  rows: readonly Uint8Array[];
  bytes: number;
  resolve(): void;
  reject(err: Error): void;
}

export type JobState = 'open' | 'closing' | 'closed' | 'failed';

export interface JobLimits {
  writeBytes: number;
  buffer: BufferLimits;
  /** Merge/Update: match keys remembered for the repeated-key check (default 2,000,000). */
  keyLimit?: number;
  /** Called once when the repeated-key check stops at keyLimit, with the text to log. */
  keyCheckStopped?: (message: string) => void;
}

const registry = new Map<string, LoadJob>();

/** Looks a job up by the id carried in `msg.gpss.job`. */
export function findJob(id: unknown): LoadJob | undefined {
  return typeof id === 'string' ? registry.get(id) : undefined;
}

export class LoadJob {
  readonly id = randomUUID();
  state: JobState = 'open';
  rowsWritten = 0;
  private failure: Error | null = null;
  private queue: QueuedWrite[] = [];
  private pumping: Promise<void> | null = null;
  private readonly account: BufferAccount;
  /** Merge/Update on match columns: the keys this job has written (null for Insert). */
  readonly keys: JobKeyIndex | null = null;

  constructor(
    private readonly api: JobSessionApi,
    readonly session: string,
    readonly options: OpenOptions,
    readonly columns: ColumnInfo[],
    private readonly limits: JobLimits,
  ) {
    this.account = new BufferAccount(limits.buffer);
    // Rows come encoded in the table's column order (gpss-write encodes with `columns`).
    const indexes = options.mode !== 'insert' && options.matchColumns?.length ? matchColumnIndexes(columns.map((c) => c.name), options.matchColumns) : null;
    if (indexes) {
      const stopped = limits.keyCheckStopped;
      this.keys = new JobKeyIndex({
        keyOf: rowKeyReader(indexes),
        matchColumns: options.matchColumns!,
        limit: limits.keyLimit ?? DEFAULT_JOB_KEY_LIMIT,
        stopped: (text) => stopped?.(`load job on ${this.target}: ${text}`),
      });
    }
    registry.set(this.id, this);
  }

  get target(): string {
    return `${this.options.schema ?? 'public'}.${this.options.table}`;
  }

  /**
   * Queues the rows of one message; resolves once they were written (not committed: that is
   * Close). Merge/Update: rows of the message with the same key collapse to the last, and a
   * message repeating a key of an earlier one is refused whole (RepeatedKeyError).
   */
  write(rows: readonly Uint8Array[], bytes: number): Promise<void> {
    if (this.state !== 'open') {
      return Promise.reject(this.failure ?? new JobError(`load job on ${this.target} is ${this.state}; write not accepted`, 'JOB_NOT_OPEN'));
    }
    if (rows.length === 0) return Promise.resolve();
    try {
      // (`bytes` stays as given: rows dropped by the collapse are still held by the message.)
      const admitted = this.keys?.admit(rows);
      if (admitted) rows = admitted.rows;
      this.account.reserve(rows.length, bytes);
      admitted?.record();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, bytes, resolve, reject });
      if (!this.pumping) this.pumping = this.pump().finally(() => (this.pumping = null));
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      // Everything queued goes together: several small messages share a Write (the cut into
      // Writes by exact size is the client's, write-request.ts).
      const group = this.queue.splice(0);
      const rows: Uint8Array[] = [];
      for (const q of group) for (const r of q.rows) rows.push(r);
      try {
        if (this.failure) throw this.failure;
        await this.api.write(this.session, rows, this.limits.writeBytes);
        this.rowsWritten += rows.length;
        for (const q of group) {
          this.account.release(q.rows.length, q.bytes);
          q.resolve();
        }
      } catch (err) {
        // A failed Write leaves the transaction unusable (the server rolls it back): every
        // later write and the Close of this job fail too, so nothing is half-committed.
        if (!this.failure) {
          const m = err instanceof Error ? err.message : String(err);
          this.failure = new JobError(`load job on ${this.target} failed during Write: ${m}`, 'JOB_FAILED', err);
          this.state = 'failed';
        }
        for (const q of group) {
          this.account.release(q.rows.length, q.bytes);
          q.reject(this.failure);
        }
      }
    }
  }

  /** Waits for queued writes, then commits (or aborts). The job is finished afterwards. */
  async close(options: { abort?: boolean; maxErrorRows?: number; disconnect?: boolean } = {}): Promise<TransferStats> {
    if (this.state === 'closing' || this.state === 'closed') {
      throw new JobError(`load job on ${this.target} is already ${this.state}`, 'JOB_NOT_OPEN');
    }
    const wasFailed = this.state === 'failed';
    this.state = 'closing';
    while (this.pumping) await this.pumping;
    try {
      const stats = await this.api.close(this.session, { abort: options.abort || wasFailed, maxErrorRows: options.maxErrorRows });
      if (options.disconnect) this.api.discard(this.session);
      else this.api.release(this.session);
      if (wasFailed && this.failure) throw this.failure;
      return stats;
    } catch (err) {
      if (!(err instanceof JobError)) this.api.discard(this.session);
      throw err;
    } finally {
      this.state = 'closed';
      registry.delete(this.id);
      this.api.forget(this);
    }
  }

  /** Aborts without waiting for queued writes (shutdown). Never throws. */
  async abort(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closing';
    const err = new JobError(`load job on ${this.target} was aborted (redeploy or shutdown)`, 'JOB_ABORTED');
    this.failure = err;
    for (const q of this.queue.splice(0)) q.reject(err);
    try {
      await this.api.close(this.session, { abort: true });
      this.api.release(this.session);
    } catch {
      this.api.discard(this.session);
    } finally {
      this.state = 'closed';
      registry.delete(this.id);
      this.api.forget(this);
    }
  }
}
