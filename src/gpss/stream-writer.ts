// Stream mode of gpss-write: buffer messages, commit every N rows or T ms, acknowledge a
// message only after the commit that holds its rows returned (DESIGN §3, spec gpss-protocol §10).
// The commit itself (Open → Write… → Close on a session) is injected, so this module holds only
// the delivery logic and is unit-testable without a server.
// A commit's outcome is decided at once, but its messages are settled (ack/fail, i.e. send and
// done in Node-RED) in 1 ms slices with a turn of the event loop between them, in order: settling ten
// thousand messages in one go held Node-RED's loop long enough for an MQTT broker to drop
// messages upstream of us (see src/shared/slices.ts).
import { BufferAccount, BufferLimits } from './buffer-account';
import { backoffDelay, BackoffOptions } from './backoff';
import { classifyFailure } from './failure-class';
import { SliceQueue } from '../shared/slices';
import { collapseByKey, type KeyOf } from './collapse';
import { COMMITTED, mapRejections, messageOutcomes, type MessageOutcome, type Rejections } from './error-rows';
import { PackedRows, RowRuns } from './packed-rows';
import type { WriteRows } from './write-request';

export interface CommitStats {
  successCount: number;
  errorCount: number;
  errorRows: string[];
}

/**
 * A message's encoded rows: packed (what gpss-write holds: no view per row until the commit,
 * see packed-rows.ts) or a list of rows.
 */
export type EntryRows = PackedRows | readonly Uint8Array[];

/** The rows as a list (views made now for packed rows). */
export function rowList(rows: EntryRows): readonly Uint8Array[] {
  return rows instanceof PackedRows ? rows.toArray() : rows;
}

/** One accepted message: its encoded rows and how to settle it. Settled exactly once. */
export interface StreamEntry {
  rows: EntryRows;
  bytes: number;
  /**
   * The commit that holds these rows returned success. `outcome` says whether the server
   * rejected rows of this message under the error limit (see error-rows.ts).
   */
  ack(stats: CommitStats, outcome: MessageOutcome): void;
  /** The rows were not committed (after retries, on a data error, or on close). */
  fail(err: Error): void;
}

/**
 * Commits a batch as one transaction; rejects when nothing was committed (or the outcome is
 * unknown). `rows` holds the batch's encoded rows in message order (after collapsing), and
 * `info.rows` their number; cutting them into Writes is the commit's job (the GPSS client's).
 * Packed messages come as their runs (RowRuns), others as a list.
 */
export type CommitFn = (rows: WriteRows, info: { rows: number; attempt: number }) => Promise<CommitStats>;

export interface StreamWriterOptions {
  /** Commit when this many rows are buffered (GPSS's MAX_ROW). */
  commitRows: number;
  /** Commit at most this many ms after the first buffered message (GPSS's MINIMAL_INTERVAL). */
  commitIntervalMs: number;
  buffer: BufferLimits;
  /** Retries after the first failed attempt of a batch (transient failures). */
  maxRetries: number;
  backoff: BackoffOptions;
  /**
   * Merge/Update: the match key of an encoded row. Rows with the same key within one commit
   * are collapsed, the last one winning, before they are written (collapse.ts).
   */
  collapseKey?: KeyOf;
}

export interface StreamWriterEvents {
  /**
   * A batch committed. `rows` were written (after collapsing `collapsed` rows by key);
   * `rejections` is what the server said about rows it rejected (null: none).
   */
  committed?(info: { rows: number; messages: number; stats: CommitStats; ms: number; collapsed: number; rejections: Rejections | null }): void;
  /** An attempt failed; `willRetry` says whether the batch is tried again. */
  attemptFailed?(info: { error: unknown; attempt: number; rows: number; willRetry: boolean }): void;
  /** The held rows/bytes changed (for status). */
  changed?(): void;
  /** An ack/fail callback threw; the writer carries on (the commit itself succeeded or failed as reported). */
  callbackFailed?(error: unknown): void;
}

export class WriterClosedError extends Error {
  readonly code = 'WRITER_CLOSED';
  constructor(message: string) {
    super(message);
    this.name = 'WriterClosedError';
  }
}

export class CommitFailedError extends Error {
  readonly code = 'COMMIT_FAILED';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'CommitFailedError';
  }
}

/**
 * One decision for a run of messages in the settle queue: the next `count` entries there are
 * acknowledged with `stats` (each told outcomes[i], or COMMITTED) or failed with `error`.
 * One object per commit, not one per message: held messages are what every young-generation
 * collection copies while they wait for their commit, so the writer keeps nothing of its own
 * per message but a reference and an arrival time (each scavenge's pause grows with what it
 * copies: 10,000 held messages at 10,000 msgs/s, see src/shared/slices.ts).
 */
interface Decision {
  count: number;
  /** Entries of this decision delivered so far. */
  delivered: number;
  stats: CommitStats | null;
  error: Error | null;
  outcomes: readonly MessageOutcome[] | null;
}

/**
 * The rows of several messages as one, in message order (`total` rows in all): their packed
 * runs when every message is packed (what gpss-write holds), else a list.
 */
function concatRows(lists: readonly EntryRows[], total: number): WriteRows {
  if (lists.every((l) => l instanceof PackedRows)) return new RowRuns(lists as PackedRows[]);
  const out: Uint8Array[] = new Array(total);
  let k = 0;
  for (const list of lists) {
    if (list instanceof PackedRows) k = list.appendTo(out, k);
    else for (let i = 0; i < list.length; i++) out[k++] = list[i];
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class StreamWriter {
  private readonly account: BufferAccount;
  /** Accepted entries not in a commit yet, with their arrival times (ms) alongside. */
  private pending: StreamEntry[] = [];
  private pendingArrivals: number[] = [];
  private pendingRows = 0;
  /**
   * The batch being committed. Its entries are decided in order (a bisected half is decided
   * before the next half starts), so the decided ones are always its first `inFlightDecided`.
   */
  private inFlight: StreamEntry[] = [];
  private inFlightDecided = 0;
  /** The close timeout failed everything held: a commit still running must decide nothing more. */
  private abandoned = false;
  private flushing = false;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private closeDeadline = Infinity;
  private wake: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  /**
   * Decided messages waiting for their ack/fail, handled a slice per turn of the event loop, in
   * order; `decisions` says what each run of them was decided (FIFO alongside).
   */
  private readonly settling = new SliceQueue<StreamEntry>(
    (e) => this.deliver(e),
    (err) => this.guard(() => this.events.callbackFailed?.(err)),
  );
  private decisions: Decision[] = [];
  private decisionsHead = 0;
  /** Total rows committed since start (status). */
  committedRows = 0;

  constructor(
    private readonly options: StreamWriterOptions,
    private readonly commit: CommitFn,
    private readonly events: StreamWriterEvents = {},
  ) {
    this.account = new BufferAccount(options.buffer);
  }

  /** Rows held (buffered or being committed). */
  get heldRows(): number {
    return this.account.rows;
  }
  get heldBytes(): number {
    return this.account.bytes;
  }
  get heldMessages(): number {
    return this.pending.length + (this.inFlight.length - this.inFlightDecided) + this.settling.size;
  }

  /** Takes a message. Throws BufferFullError or WriterClosedError synchronously; never blocks. */
  accept(entry: StreamEntry): void {
    if (this.closing) throw new WriterClosedError('gpss-write is closing (redeploy or shutdown): message not accepted');
    const rows = entry.rows.length;
    this.account.reserve(rows, entry.bytes);
    this.pending.push(entry);
    this.pendingArrivals.push(Date.now());
    this.pendingRows += rows;
    // Hot path (once per message): no closure unless someone listens.
    if (this.events.changed) this.guard(() => this.events.changed?.());
    this.schedule();
  }

  /**
   * Commits everything held, waiting at most `timeoutMs`; whatever is still not committed then
   * is failed (its messages go to Catch). Resolves when every accepted message is settled
   * (past the timeout, what is left to settle is settled at once, without yielding).
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.closeDeadline = Date.now() + timeoutMs;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.wake?.();
    this.schedule();
    const idle = this.whenIdle();
    let t: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      t = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    const outcome = await Promise.race([idle.then(() => 'idle' as const), timedOut]);
    if (t) clearTimeout(t);
    if (outcome === 'timeout') {
      const err = new WriterClosedError(
        `gpss-write closed before these rows were committed (close timeout ${timeoutMs} ms); they may or may not be in the table`,
      );
      this.failInFlight(err);
      this.abandoned = true;
      this.decide(this.pending, 0, this.pending.length, null, err, null);
      this.pending = [];
      this.pendingArrivals = [];
      this.pendingRows = 0;
      this.wake?.();
      this.settling.drainNow();
    }
  }

  /** Nothing buffered, nothing being committed, nothing waiting to be settled. */
  private async whenIdle(): Promise<void> {
    for (;;) {
      if (this.flushing || this.pending.length > 0 || this.inFlight.length > 0) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      } else if (this.settling.size > 0) {
        await this.settling.whenDrained();
      } else {
        return;
      }
    }
  }

  private isDue(now: number): boolean {
    if (this.pending.length === 0) return false;
    return (
      this.closing ||
      this.pendingRows >= this.options.commitRows ||
      now - this.pendingArrivals[0] >= this.options.commitIntervalMs
    );
  }

  private schedule(): void {
    if (this.flushing) return;
    const now = Date.now();
    if (this.isDue(now)) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.flushing = true;
      void this.flushLoop();
      return;
    }
    if (this.pending.length > 0 && !this.timer) {
      const wait = Math.max(0, this.pendingArrivals[0] + this.options.commitIntervalMs - now);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, wait);
    }
    if (this.pending.length === 0 && this.inFlight.length === 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private takeBatch(): StreamEntry[] {
    let rows = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || rows + this.pending[n].rows.length <= this.options.commitRows)) {
      rows += this.pending[n].rows.length;
      n++;
    }
    const batch = this.pending.splice(0, n);
    this.pendingArrivals.splice(0, n);
    this.pendingRows -= rows;
    return batch;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.isDue(Date.now())) {
        this.inFlight = this.takeBatch();
        this.inFlightDecided = 0;
        await this.commitBatch(0, this.inFlight.length);
        this.inFlight = [];
        this.inFlightDecided = 0;
      }
    } catch (err) {
      // commitBatch decides its entries itself; this only guards against bugs escaping.
      this.failInFlight(new CommitFailedError(`gpss-write internal error: ${messageOf(err)}`, err));
      this.inFlight = [];
      this.inFlightDecided = 0;
    } finally {
      this.flushing = false;
      this.schedule();
    }
  }

  /**
   * Commits inFlight[from, to) with retries; on a data error splits it to isolate the bad
   * message(s). Decides every entry of the range, in order, unless the close timeout did.
   */
  private async commitBatch(from: number, to: number): Promise<void> {
    if (this.abandoned || from >= to) return;
    const entries = this.inFlight.slice(from, to);
    // Collapsed per commit: a bisected half is a commit of its own and collapses on its own.
    const collapsed = this.options.collapseKey ? collapseByKey(entries.map((e) => ({ rows: rowList(e.rows) })), this.options.collapseKey) : null;
    const written = collapsed ? collapsed.rows.map((r) => r.length) : entries.map((e) => e.rows.length);
    const rows = written.reduce((n, r) => n + r, 0);
    const batchRows = concatRows(collapsed ? collapsed.rows : entries.map((e) => e.rows), rows);
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      try {
        const stats = await this.commit(batchRows, { rows, attempt });
        this.committedRows += rows;
        // From here on the rows are durable: nothing below may lead to a retry. The stats are
        // those of this attempt's load, whose row positions start at 1 again (error-rows.ts).
        const outcomes = this.outcomesOf(written, stats, collapsed?.kept);
        // (Unless close() failed them meanwhile: their messages went to Catch already.)
        if (!this.abandoned) this.decideInFlight(to, stats, null, outcomes ? outcomes.list : null);
        this.guard(() =>
          this.events.committed?.({ rows, messages: entries.length, stats, ms: Date.now() - started, collapsed: collapsed?.dropped ?? 0, rejections: outcomes?.rejections ?? null }),
        );
        return;
      } catch (err) {
        lastError = err;
        if (this.abandoned) return; // failed by close() meanwhile
        const kind = classifyFailure(err);
        if (kind === 'data' && entries.length > 1) {
          this.guard(() => this.events.attemptFailed?.({ error: err, attempt, rows, willRetry: true }));
          // Bisect: the good halves commit, the bad message ends alone and fails below.
          const half = from + Math.ceil(entries.length / 2);
          await this.commitBatch(from, half);
          await this.commitBatch(half, to);
          return;
        }
        const delay = backoffDelay(attempt, this.options.backoff);
        const willRetry =
          kind === 'transient' && attempt < this.options.maxRetries && Date.now() + delay < this.closeDeadline;
        this.guard(() => this.events.attemptFailed?.({ error: err, attempt, rows, willRetry }));
        if (!willRetry) break;
        await this.sleep(delay);
        if (this.abandoned) return;
      }
    }
    const attempts = classifyFailure(lastError) === 'transient' ? ' after retries' : '';
    const err = new CommitFailedError(
      `rows not committed${attempts}: ${messageOf(lastError)}`,
      lastError,
    );
    this.decideInFlight(to, null, err, null);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  /** What each message of a commit with rejected rows is told (null when none was rejected). */
  private outcomesOf(written: number[], stats: CommitStats, kept: (number[] | null)[] | undefined): { rejections: Rejections; list: MessageOutcome[] } | null {
    const rejections = mapRejections(written, stats, kept);
    const list = messageOutcomes(rejections, written.length);
    return rejections && list ? { rejections, list } : null;
  }

  /**
   * Decides inFlight[inFlightDecided, to): acknowledged (stats, entry i told outcomes[i]) or failed
   * (err). Each entry is decided once: what was decided before is never decided again.
   */
  private decideInFlight(to: number, stats: CommitStats | null, err: Error | null, outcomes: readonly MessageOutcome[] | null): void {
    const from = this.inFlightDecided;
    if (to <= from) return;
    this.inFlightDecided = to;
    this.decide(this.inFlight, from, to, stats, err, outcomes);
  }

  /** Fails what is left undecided of the batch being committed. */
  private failInFlight(err: Error): void {
    this.decideInFlight(this.inFlight.length, null, err, null);
  }

  /**
   * Queues list[from, to) with one decision; the settle queue delivers it in order on later
   * turns. Hot path: one object per commit, none per message.
   */
  private decide(list: readonly StreamEntry[], from: number, to: number, stats: CommitStats | null, error: Error | null, outcomes: readonly MessageOutcome[] | null): void {
    if (to <= from) return;
    this.decisions.push({ count: to - from, delivered: 0, stats, error, outcomes });
    for (let i = from; i < to; i++) this.settling.push(list[i]);
  }

  /** Delivers a decided outcome (the settle queue's handler). Its rows stay counted until now. */
  private deliver(entry: StreamEntry): void {
    const d = this.decisions[this.decisionsHead];
    const i = d.delivered++;
    if (d.delivered === d.count) this.nextDecision();
    this.account.release(entry.rows.length, entry.bytes);
    try {
      if (d.error) entry.fail(d.error);
      else entry.ack(d.stats as CommitStats, d.outcomes ? d.outcomes[i] : COMMITTED);
    } catch (e) {
      this.guard(() => this.events.callbackFailed?.(e));
    }
    if (this.events.changed) this.guard(() => this.events.changed?.());
  }

  private nextDecision(): void {
    this.decisions[this.decisionsHead++] = undefined as unknown as Decision;
    if (this.decisionsHead === this.decisions.length) {
      this.decisions = [];
      this.decisionsHead = 0;
    } else if (this.decisionsHead > 64 && this.decisionsHead * 2 > this.decisions.length) {
      this.decisions = this.decisions.slice(this.decisionsHead);
      this.decisionsHead = 0;
    }
  }

  /** Runs a callback of the user of this writer; its failure must not look like a failed commit. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        this.events.callbackFailed?.(err);
      } catch {
        /* nothing more to do */
      }
    }
  }
}
