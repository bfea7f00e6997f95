// Stream mode's targets: for each table a node writes to, one StreamWriter (commit every N rows
// or T ms, acknowledge after the commit) fed with the messages' encoded rows. What a target
// adds to the writer:
// - the table's description (DescribeTable, retried like a commit while the server starts; a
//   missing table or a refused login is not retried) and the row encoder made from it, cached;
//   a target whose description failed is forgotten, so the next message describes again;
// - the ordered path: until the description arrives, and while a large payload is encoded in
//   slices (src/shared/slices.ts), messages wait their turn in arrival order — and count against
//   the buffer while they wait, so that a flood during a server start cannot grow the heap;
// - Merge/Update: the match key of a row, known with the columns, for collapsing (collapse.ts);
// - the commit itself through the service (GpssService.commitRows), rows cut into Writes there.
// StreamTargets is one node's set of targets (keyed by schema.table) with the committed-rows
// rate over a short window, and their close.
import { OrderedLane } from '../shared/slices';
import { backoffDelay } from './backoff';
import { WriteBufferFullError } from './buffer-account';
import type { ColumnInfo, OpenOptions, TransferStats } from './client';
import { matchColumnIndexes, rowKeyReader, type KeyOf } from './collapse';
import { errorRowsToAsk, type Rejections } from './error-rows';
import { classifyFailure } from './failure-class';
import type { PackedRows } from './packed-rows';
import { needsSlices, packPayload, packPayloadInSlices, type PackedPayload } from './payload-rows';
import { StreamWriter, type StreamEntry, type StreamWriterOptions } from './stream-writer';
import type { WriteRows } from './write-request';
import { createRowEncoder, type RowEncoder, type RowEncoderOptions } from './value-mapping';

/** What the targets need of the GPSS service (GpssService fits). */
export interface StreamTargetService {
  describeTable(schema: string, table: string): Promise<ColumnInfo[]>;
  commitRows(options: OpenOptions, rows: WriteRows, maxErrorRows: number, writeBytes?: number): Promise<TransferStats>;
}

export interface StreamTargetsOptions {
  writer: StreamWriterOptions;
  /** Size of one Write (the GPSS client cuts each commit's rows into Writes of at most this). */
  writeBytes: number;
  encoder?: RowEncoderOptions;
}

/** One message on its way into a target. */
export interface StreamMessage {
  readonly payload: unknown;
  /** Its rows are encoded: the entry the writer holds until their commit settles it. */
  entry(rows: PackedRows, bytes: number): StreamEntry;
  /** It has no rows: settle it now (pass it on). */
  empty(): void;
  /** Its rows could not be taken on the ordered path (on the direct path write() throws). */
  failed(err: Error): void;
}

export interface StreamTargetsEvents {
  committed?(info: { target: string; rows: number; messages: number; rejections: Rejections | null }): void;
  attemptFailed?(info: { target: string; error: unknown; willRetry: boolean }): void;
  /** An ack/fail callback threw (the commit itself succeeded or failed as reported). */
  callbackFailed?(error: unknown): void;
  /** Rows left a buffer. */
  changed?(): void;
  /** A message was taken into a buffer (`rows` > 0) or settled without rows or failed (0). */
  handled?(rows: number): void;
}

/** Rows per second over the last `windowMs`. */
export class RateWindow {
  private readonly marks: { t: number; rows: number }[] = [];
  constructor(private readonly windowMs = 2000) {}

  add(rows: number, now = Date.now()): void {
    this.marks.push({ t: now, rows });
  }

  perSecond(now = Date.now()): number {
    while (this.marks.length && now - this.marks[0].t > this.windowMs) this.marks.shift();
    return (this.marks.reduce((n, m) => n + m.rows, 0) * 1000) / this.windowMs;
  }
}

/**
 * Pacing of a source by a bounded buffer: one `go()` per handled message, in order, once the
 * buffer has room for another message of its size (`hasRoom`). Node-RED has no backpressure;
 * a paced source sends its next message only when told (gpss-write's tick output).
 */
export class RoomPacer {
  private readonly waiting: number[] = []; // row counts of handled messages whose go() waits for room
  stopped = false;

  constructor(
    private readonly hasRoom: (rows: number) => boolean,
    private readonly go: () => void,
  ) {}

  /** A message of `rows` rows was handled (buffered, written or refused). */
  handled(rows: number): void {
    this.waiting.push(rows);
    this.flush();
  }

  /** Room may have been made: let the waiting go, in order. */
  flush(): void {
    while (this.waiting.length && !this.stopped && this.hasRoom(this.waiting[0])) {
      this.waiting.shift();
      this.go();
    }
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** One table's stream: its writer, its description and encoder, its ordered path. */
export class StreamTarget {
  readonly key: string;
  readonly writer: StreamWriter;
  /** The row encoder, once the table is described. */
  readonly encoderReady: Promise<RowEncoder>;
  private encoder: RowEncoder | null = null;
  private keyOf: KeyOf | null = null;
  /** Messages that wait for the description or a sliced encoding, in arrival order. */
  readonly lane = new OrderedLane();

  constructor(
    private readonly owner: StreamTargets,
    readonly options: OpenOptions,
  ) {
    this.key = `${options.schema}.${options.table}`;
    const { service, settings, events } = owner.parts;
    // Merge/Update: collapse rows by match key within each commit. The key reader needs the
    // table's columns; no row is accepted (so no commit runs) before they are known.
    const upsert = options.mode !== 'insert' && !!options.matchColumns?.length;
    const collapseKey: KeyOf | undefined = upsert ? (row) => (this.keyOf ? this.keyOf(row) : null) : undefined;
    this.writer = new StreamWriter(
      collapseKey ? { ...settings.writer, collapseKey } : settings.writer,
      (rows, info) => service.commitRows(options, rows, errorRowsToAsk(info.rows), settings.writeBytes),
      {
        committed: ({ rows, messages, rejections }) => owner.onCommitted(this.key, rows, messages, rejections),
        attemptFailed: ({ error, willRetry }) => events.attemptFailed?.({ target: this.key, error, willRetry }),
        ...(events.callbackFailed ? { callbackFailed: events.callbackFailed } : {}),
        ...(events.changed ? { changed: events.changed } : {}),
      },
    );
    this.encoderReady = this.describe();
    this.encoderReady.then(
      (e) => {
        this.encoder = e;
        const indexes = upsert ? matchColumnIndexes(e.columnNames, options.matchColumns!) : null;
        if (indexes) this.keyOf = rowKeyReader(indexes);
      },
      () => owner.forget(this),
    );
  }

  /**
   * Takes a message: encodes its payload and hands its entry to the writer, at once when the
   * table is described and nothing waits before it (the hot path, no promise), else in turn.
   * Throws (the message is not taken) when its payload cannot be encoded on the direct path or
   * the buffer is full.
   */
  write(msg: StreamMessage): void {
    if (this.encoder && this.lane.idle && !needsSlices(msg.payload)) {
      this.accept(msg, packPayload(msg.payload, this.encoder));
      return;
    }
    const estimate = Array.isArray(msg.payload) ? msg.payload.length : 1;
    this.owner.reserve(estimate, this);
    this.lane.run(() => this.encodeInTurn(msg, estimate));
  }

  /**
   * A queued message's turn: encoded at once when the table is described and the payload is
   * small (no promise: a lane that drains as fast as the direct path goes idle again), else
   * after the description and in slices.
   */
  private encodeInTurn(msg: StreamMessage, estimate: number): Promise<void> | void {
    const encoder = this.encoder;
    if (encoder && !needsSlices(msg.payload)) {
      let encoded: PackedPayload | Error;
      try {
        encoded = packPayload(msg.payload, encoder);
      } catch (err) {
        encoded = asError(err);
      }
      this.acceptEncoded(msg, estimate, encoded);
      return;
    }
    return (async () => {
      let encoded: PackedPayload | Error;
      try {
        encoded = await packPayloadInSlices(msg.payload, await this.encoderReady);
      } catch (err) {
        encoded = asError(err);
      }
      this.acceptEncoded(msg, estimate, encoded);
    })();
  }

  /** Releases a queued message's reservation, then takes its rows, or fails it with the error. */
  private acceptEncoded(msg: StreamMessage, estimate: number, encoded: PackedPayload | Error): void {
    this.owner.unreserve(estimate);
    try {
      if (encoded instanceof Error) throw encoded;
      this.accept(msg, encoded);
    } catch (err) {
      msg.failed(asError(err));
      this.owner.parts.events.handled?.(0);
    }
  }

  private accept(msg: StreamMessage, { rows, bytes }: PackedPayload): void {
    const handled = this.owner.parts.events.handled;
    if (rows.length === 0) {
      msg.empty();
      handled?.(0);
      return;
    }
    this.writer.accept(msg.entry(rows, bytes));
    handled?.(rows.length);
  }

  /** The table's row encoder; the server may be starting, so retry like a commit would. */
  private async describe(): Promise<RowEncoder> {
    const { service, settings } = this.owner.parts;
    const { schema, table } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        return createRowEncoder(await service.describeTable(schema ?? 'public', table), settings.encoder);
      } catch (err) {
        // A missing table or a refused login will not change by retrying (failure-class.ts).
        if (attempt >= settings.writer.maxRetries || this.owner.closing || classifyFailure(err) === 'fatal') throw err;
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, settings.writer.backoff)));
      }
    }
  }
}

/** One node's stream targets. */
export class StreamTargets {
  private readonly targets = new Map<string, StreamTarget>();
  private last: StreamTarget | null = null;
  /** Rows of messages on an ordered path, not in a writer yet. */
  private waitingRows = 0;
  closing = false;
  /** Rows committed per second, over the last 2 s (job-mode writes may add theirs). */
  readonly rate = new RateWindow(2000);
  lastCommitAt = Date.now();
  private heldSince = 0;
  /** For the targets (not part of the API). */
  readonly parts: { service: StreamTargetService; settings: StreamTargetsOptions; events: StreamTargetsEvents };

  constructor(service: StreamTargetService, settings: StreamTargetsOptions, events: StreamTargetsEvents = {}) {
    this.parts = { service, settings, events };
  }

  /**
   * The target for `options`, made (and its table described) on first use. Passing the same
   * options object again (a node with a fixed table) finds it without building the key.
   */
  target(options: OpenOptions): StreamTarget {
    const last = this.last;
    if (last && last.options === options && this.targets.get(last.key) === last) return last;
    const key = `${options.schema}.${options.table}`;
    let t = this.targets.get(key);
    if (!t) {
      t = new StreamTarget(this, options);
      this.targets.set(key, t);
    }
    this.last = t;
    return t;
  }

  /** Rows held by the writers (buffered or being committed). */
  get heldRows(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.writer.heldRows;
    return n;
  }

  /**
   * How long rows have been held with no commit meanwhile (0 when none are held): longer than
   * the commit interval means the database is slow or blocked (a lock, a restart). Call it
   * regularly (the status ticker): it notes when rows began to be held.
   */
  waitingMs(now = Date.now()): number {
    const held = this.heldRows;
    this.heldSince = held === 0 ? 0 : this.heldSince || now;
    return held > 0 ? now - Math.max(this.lastCommitAt, this.heldSince) : 0;
  }

  /** Whether `rows` more fit in the buffer, counting the rows waiting on an ordered path. */
  hasRoom(rows: number): boolean {
    return this.waitingRows + this.heldRows + rows <= this.parts.settings.writer.buffer.maxRows;
  }

  /** Counts a waiting message against the buffer, or refuses it. */
  reserve(rows: number, target: StreamTarget): void {
    const max = this.parts.settings.writer.buffer.maxRows;
    if (this.waitingRows + rows + target.writer.heldRows > max) {
      throw new WriteBufferFullError(
        `buffer full: ${this.waitingRows} rows are waiting for the description of ${target.key} or their turn (limit ${max} rows); message not accepted`,
      );
    }
    this.waitingRows += rows;
  }

  unreserve(rows: number): void {
    this.waitingRows -= rows;
  }

  /** A target whose description failed: the next message describes again (unless it holds rows). */
  forget(target: StreamTarget): void {
    if (this.targets.get(target.key) === target && target.writer.heldMessages === 0) this.targets.delete(target.key);
  }

  onCommitted(target: string, rows: number, messages: number, rejections: Rejections | null): void {
    this.lastCommitAt = Date.now();
    this.rate.add(rows);
    this.parts.events.committed?.({ target, rows, messages, rejections });
  }

  /**
   * Lets the messages on an ordered path into their writers, then commits what the writers hold,
   * all within `timeoutMs`; what is not committed by then fails (the writers' close).
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.targets.values()].map((t) => t.lane.whenIdle())),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
    const left = Math.max(0, deadline - Date.now());
    await Promise.allSettled([...this.targets.values()].map((t) => t.writer.close(left)));
  }
}
