// Streams COPY data (text or binary) into PostgreSQL with per-row isolation of conversion
// errors.
//
// Rows are appended to a *segment*: one COPY command under a savepoint, kept open across
// Write RPCs so that PostgreSQL parses rows while the next Write is still on its way. The
// segment's text is kept in memory (bounded by SEGMENT_BYTES plus one Write) until the COPY
// completes, because an input error aborts the whole COPY and the good rows must be replayed:
//
//   error at line L  →  ROLLBACK TO SAVEPOINT; COPY rows before L again (good on PostgreSQL,
//                       which reports the first bad row; on Greenplum they are handled the same
//                       way if they fail); RELEASE + new SAVEPOINT; reject row L; COPY the rows
//                       after L; repeat.
//
// On PostgreSQL every row is sent at most twice, whatever the number of bad rows. Only SQLSTATE class 22
// (data exception) errors whose context names a line of *this* COPY are row errors; anything
// else (constraints, triggers, permissions, lost connection) fails the load.
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Writable } from 'node:stream';
import { BINARY_HEADER, BINARY_TRAILER, CopyTextBuffer } from './copy-values';

/** Bytes after which a segment's COPY is completed and a new savepoint taken. */
export const SEGMENT_BYTES = 16 << 20;
/**
 * COPY data handed to the stream but not yet to the socket, above which push() waits. The
 * queued chunks are views of the segment buffer (no copies), so memory stays bounded by the
 * segment; not waiting below it lets the client encode its next Write while PostgreSQL works.
 */
const MAX_BACKLOG = 2 << 20;
/** COPY data is handed to the socket in messages of at least this size (DESIGN §12). */
export const MIN_CHUNK = 64 << 10;
const MAX_CHUNK = 256 << 10;
const SAVEPOINT = 'gpss_segment';

/**
 * Segment buffers of completed loads, handed to the next loads. A load's buffer grows by
 * doubling from 1 MiB to about 2 × SEGMENT_BYTES; allocating and copying that again for every
 * load (every commit of gpss-write is a load) was a large part of gpss-pg's garbage and GC
 * work. Bounded: at most SPARE_BUFFERS, each at most 2 × SEGMENT_BYTES.
 */
const spareBuffers: Buffer[] = [];
export const SPARE_BUFFERS = 2;
const INITIAL_BYTES = 1 << 20;

/** A buffer for a new load: a spare one if any, else a fresh INITIAL_BYTES one. */
export function takeSegmentBuffer(): Buffer {
  return spareBuffers.pop() ?? Buffer.allocUnsafe(INITIAL_BYTES);
}

/** Keeps a buffer no longer referenced anywhere for a later load (dropped beyond the bounds). */
export function giveBackSegmentBuffer(buf: Buffer): void {
  if (spareBuffers.length < SPARE_BUFFERS && buf.length >= INITIAL_BYTES && buf.length <= 2 * SEGMENT_BYTES && !spareBuffers.includes(buf)) spareBuffers.push(buf);
}

/** Spare buffers kept now (for tests). */
export function spareSegmentBuffers(): number {
  return spareBuffers.length;
}

export interface RejectedRow {
  rowNo: number; // 1-based arrival number in the load
  column: string; // '' when not known
  message: string;
}

interface CopyStream extends Writable {
  rowCount: number;
}

/** Parses PostgreSQL's COPY error context `COPY <rel>, line <n>[, column <c>: …]`. */
export function parseCopyContext(where: string | undefined, relName: string, columns: readonly string[]): { line: number; column: string } | null {
  if (!where) return null;
  const prefix = `COPY ${relName}, line `;
  if (!where.startsWith(prefix)) return null;
  const m = /^(\d+)/.exec(where.slice(prefix.length));
  if (!m) return null;
  const rest = where.slice(prefix.length + m[1].length);
  let column = '';
  if (rest.startsWith(', column ')) {
    const tail = rest.slice(', column '.length);
    // Text COPY: "column c: …"; binary COPY: "column c" with nothing after it.
    for (const c of columns) if ((tail.startsWith(c + ':') || tail === c || tail.startsWith(c + '\n')) && c.length > column.length) column = c;
  }
  return { line: Number(m[1]), column };
}

/** A number list that grows without per-element boxing (two per row on the hot path). */
class GrowableArray {
  private data = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  pop(): number {
    return this.data[--this.length];
  }
  at(i: number): number {
    return this.data[i];
  }
  clear(): void {
    this.length = 0;
  }
}

export class LoadFailure extends Error {
  constructor(readonly pgError: unknown, message: string) {
    super(message);
    this.name = 'LoadFailure';
  }
}

/**
 * One load's COPY pipeline on one connection (inside the load's transaction).
 * `onReject` is called for each row PostgreSQL rejects, in arrival order; it throws to stop.
 */
export class CopyLoader {
  readonly out: CopyTextBuffer;
  /** Rows COPYed and kept (savepoints released). */
  loadedRows = 0;
  private rowStarts = new GrowableArray(); // byte offset of each segment row; row i ends at rowStarts[i+1] or out.pos
  private rowNos = new GrowableArray();
  private extraLines: Map<number, number> | null = null; // segment row → line breaks inside it (csv)
  private sent = 0; // bytes of the segment already handed to the current COPY
  private stream: CopyStream | null = null;
  private streamError: Error | null = null;
  private streamDone = false;
  private waiters: (() => void)[] = [];
  private backlog = 0; // bytes written to the stream and not yet handed to the socket
  private savepoint: Promise<unknown> | null = null;

  /** COPY format of the segment being built; switched only between segments. */
  private binary = false;

  constructor(
    private readonly client: Client,
    private readonly copySql: { text: string; binary: string },
    private readonly relName: string,
    private readonly columns: readonly string[],
    private readonly onReject: (row: RejectedRow) => void,
  ) {
    this.out = new CopyTextBuffer(takeSegmentBuffer());
  }

  /**
   * Gives the segment buffer to a later load. Only after a completed segment (finishSegment()
   * resolved, no COPY in flight): then PostgreSQL has consumed every byte handed to the socket,
   * so no write still references it. This loader must not be used afterwards.
   */
  recycle(): void {
    if (this.stream || this.out.buf.length === 0) return;
    giveBackSegmentBuffer(this.out.buf);
    this.out.buf = Buffer.alloc(0);
    this.out.pos = 0;
  }

  /** Chooses COPY BINARY or text for the rows that follow. Call only on an empty segment. */
  setBinary(binary: boolean): void {
    if (this.rowStarts.length || this.stream) throw new Error('COPY format changed in the middle of a segment');
    this.binary = binary;
  }

  get isBinary(): boolean {
    return this.binary;
  }

  /** Bytes of the current segment. */
  get segmentBytes(): number {
    return this.out.pos;
  }

  get segmentRows(): number {
    return this.rowStarts.length;
  }

  /** Marks the start of a row about to be rendered into `out`. */
  beginRow(rowNo: number): void {
    this.rowStarts.push(this.out.pos);
    this.rowNos.push(rowNo);
  }

  /** The row begun last spans `n` more physical lines (a quoted csv field with line breaks). */
  addLines(n: number): void {
    if (n <= 0) return;
    if (!this.extraLines) this.extraLines = new Map();
    this.extraLines.set(this.rowStarts.length - 1, n);
  }

  /** Segment row index of physical line `line` of a COPY that started at row `lo`. */
  private rowAtLine(lo: number, line: number): number {
    if (!this.extraLines) return lo + line - 1;
    let covered = 0;
    for (let i = lo; i < this.rowStarts.length; i++) {
      covered += 1 + (this.extraLines.get(i) ?? 0);
      if (covered >= line) return i;
    }
    return this.rowStarts.length;
  }

  /** Forgets the row begun last (it was rejected before reaching COPY). */
  dropRow(): void {
    this.out.pos = this.rowStarts.pop()!;
    this.rowNos.pop();
    this.extraLines?.delete(this.rowStarts.length);
  }

  /**
   * Hands rendered rows to COPY in chunks of ≥ MIN_CHUNK (all of them when `all`), waiting
   * for the socket to drain. Completes the segment when it has grown past SEGMENT_BYTES.
   */
  async push(all = false): Promise<void> {
    if (this.out.pos - this.sent >= MIN_CHUNK || (all && this.out.pos > this.sent)) {
      if (!this.stream) this.startCopy();
      while (!this.streamError && this.out.pos - this.sent >= (all ? 1 : MIN_CHUNK)) {
        const end = Math.min(this.out.pos, this.sent + MAX_CHUNK);
        const chunk = this.out.buf.subarray(this.sent, end);
        this.sent = end;
        this.backlog += chunk.length;
        this.stream!.write(chunk, this.chunkDone(this.stream!, chunk.length));
        if (this.backlog > MAX_BACKLOG) await this.waitFor(() => this.streamError !== null || this.backlog <= MAX_BACKLOG / 2);
      }
    }
    if (this.streamError || this.out.pos >= SEGMENT_BYTES) await this.finishSegment();
  }

  /** Completes the current segment: COPY end, error recovery, RELEASE. */
  async finishSegment(): Promise<void> {
    if (this.rowStarts.length === 0 && !this.stream) return;
    if (!this.stream) this.startCopy();
    // Hand over what is left unless PostgreSQL has already failed this COPY.
    while (!this.streamError && this.sent < this.out.pos) {
      const end = Math.min(this.out.pos, this.sent + MAX_CHUNK);
      const chunk = this.out.buf.subarray(this.sent, end);
      this.sent = end;
      if (!this.stream!.write(chunk)) await this.waitFor(() => this.streamError !== null || !this.stream!.writableNeedDrain);
    }
    if (!this.streamError) {
      if (this.binary) this.stream!.write(BINARY_TRAILER);
      this.stream!.end();
      await this.waitFor(() => this.streamError !== null || this.streamDone);
    }
    const spErr = await this.savepoint!.then(
      () => null,
      (e: unknown) => e,
    );
    if (spErr) throw new LoadFailure(spErr, 'cannot start a COPY segment');
    if (this.streamError) {
      await this.recover(this.streamError);
    } else {
      this.loadedRows += this.stream!.rowCount;
      await this.client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    }
    this.resetSegment();
  }

  private resetSegment(): void {
    this.stream = null;
    this.streamError = null;
    this.streamDone = false;
    this.savepoint = null;
    this.sent = 0;
    this.backlog = 0;
    this.rowStarts.clear();
    this.rowNos.clear();
    this.extraLines = null;
    this.out.reset();
  }

  private startCopy(): void {
    this.savepoint = this.client.query(`SAVEPOINT ${SAVEPOINT}`);
    this.savepoint.catch(() => undefined);
    this.openStream();
  }

  private openStream(): CopyStream {
    const stream = this.client.query(copyFrom(this.binary ? this.copySql.binary : this.copySql.text)) as unknown as CopyStream;
    if (this.binary) stream.write(BINARY_HEADER); // every COPY command starts its own "file"
    this.stream = stream;
    this.streamError = null;
    this.streamDone = false;
    stream.on('error', (err: Error) => {
      if (this.stream === stream) this.streamError = err;
      this.wake();
    });
    stream.on('finish', () => {
      if (this.stream === stream) this.streamDone = true;
      this.wake();
    });
    stream.on('drain', () => this.wake());
    return stream;
  }

  /** Write callback: the chunk has reached the socket. */
  private chunkDone(stream: CopyStream, bytes: number): () => void {
    return () => {
      if (this.stream !== stream) return; // a completed or abandoned COPY
      this.backlog -= bytes;
      this.wake();
    };
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `cond` holds; re-checked on every stream event (error, finish, drain, chunk done). */
  private async waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /**
   * Ends a COPY in flight (CopyFail) so that the transaction can be rolled back. Gives up
   * after `timeoutMs` (a dead connection); the caller then closes the connection.
   */
  async abort(timeoutMs = 5000): Promise<void> {
    const s = this.stream;
    if (s && !this.streamError && !this.streamDone) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('COPY did not stop after CopyFail')), timeoutMs);
        s.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        s.destroy();
      });
    }
    if (this.savepoint) await this.savepoint.catch(() => undefined);
    this.resetSegment();
  }

  /** Is this COPY error a rejected input row (and which)? */
  private rowError(err: Error): { line: number; column: string } | null {
    const e = err as Error & { code?: string; where?: string };
    if (typeof e.code !== 'string' || !e.code.startsWith('22')) return null;
    return parseCopyContext(e.where, this.relName, this.columns);
  }

  /** Replays the segment around rejected rows (see the file comment). */
  private async recover(first: Error): Promise<void> {
    await this.loadAround(0, this.rowStarts.length, first);
    await this.client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
  }

  /**
   * Rows [lo, hi) raised `first` when COPYed under the current savepoint: rejects the row it
   * names and loads the others, leaving a fresh savepoint after them. The rows before the
   * named one are replayed through this same method, not assumed good: on Greenplum the
   * segments convert their rows in parallel, and the first error to reach the coordinator
   * need not be the first bad row.
   */
  private async loadAround(lo: number, hi: number, first: Error | null): Promise<void> {
    let err = first;
    while (err) {
      const at = this.rowError(err);
      const index = at ? this.rowAtLine(lo, at.line) : -1;
      if (!at || index < lo || index >= hi) throw new LoadFailure(err, 'COPY failed');
      await this.client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      if (index > lo) await this.loadAround(lo, index, await this.copyRows(lo, index));
      const e = err as Error & { message: string };
      this.onReject({ rowNo: this.rowNos.at(index), column: at.column, message: e.message });
      lo = index + 1;
      err = lo < hi ? await this.copyRows(lo, hi) : null;
    }
    await this.client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    await this.client.query(`SAVEPOINT ${SAVEPOINT}`);
  }

  /** COPYs segment rows [from, to) in one command; returns its error, if any. */
  private async copyRows(from: number, to: number): Promise<Error | null> {
    const start = this.rowStarts.at(from);
    const end = to < this.rowStarts.length ? this.rowStarts.at(to) : this.out.pos;
    const stream = this.openStream();
    let off = start;
    while (!this.streamError && off < end) {
      const next = Math.min(end, off + MAX_CHUNK);
      const ok = stream.write(this.out.buf.subarray(off, next));
      off = next;
      if (!ok) await this.waitFor(() => this.streamError !== null || !stream.writableNeedDrain);
    }
    if (!this.streamError) {
      if (this.binary) stream.write(BINARY_TRAILER);
      stream.end();
      await this.waitFor(() => this.streamError !== null || this.streamDone);
    }
    if (this.streamError) return this.streamError;
    this.loadedRows += stream.rowCount;
    return null;
  }
}
