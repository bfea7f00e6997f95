/**
 * `COPY … TO STDOUT` as a Readable of the rows' bytes, for pg's Client.query (a Submittable).
 *
 * The same protocol handling as pg-copy-streams' `to()` (7.0.0, which this follows: it takes
 * over the connection's socket for the copy-out, hands an ErrorResponse and everything after
 * CopyDone back to pg), with a different parser. PostgreSQL sends one CopyData message per row
 * (protocol docs, "COPY Operations"), so a 64 KiB socket read holds hundreds of messages;
 * pg-copy-streams takes each one out of a buffer list as its own Buffer and concatenates them
 * again per read, which profiled as the export's largest main-thread cost after gzip (buffer-list
 * takes, Buffer objects and their garbage). Here the CopyData payloads are moved together inside
 * the socket's own chunk (copyWithin drops the 5-byte headers) and pushed as one subarray per read:
 * no Buffer per row, no second copy. The chunk is ours to rewrite: while this stream reads the
 * socket, nothing else holds its chunks.
 *
 * With `{ rows: true }` the stream is in object mode and yields `CopyRows`: whole rows only, with
 * their count. The row boundaries are the CopyData message boundaries the parser walks anyway
 * (one message per row, the header line included), so nobody has to scan the bytes for line ends
 * on the main thread again; a row split across socket reads is carried and completed in a small
 * piece of its own, so the bulk of every read still goes on as one subarray. The count is checked
 * against the server's own (`COPY n` in CommandComplete) when the copy ends.
 */
import { Readable, ReadableOptions } from 'node:stream';
import type { Connection } from 'pg';

const ERROR_RESPONSE = 0x45; // E
const COPY_OUT_RESPONSE = 0x48; // H
const COPY_DATA = 0x64; // d
// Asynchronous messages that may come between CopyData messages (protocol-flow docs, "COPY
// Operations"); any other message type ends copy-out mode (CopyDone normally).
const NOTIFICATION_RESPONSE = 0x41; // A
const NOTICE_RESPONSE = 0x4e; // N
const PARAMETER_STATUS = 0x53; // S

/** Whole rows of COPY output (`{ rows: true }` mode). */
export interface CopyRows {
  data: Buffer;
  rows: number;
  /** Length of the first row in `data`, terminator included. */
  firstRowLength: number;
}

export interface CopyOutOptions extends ReadableOptions {
  /** Yield `CopyRows` (object mode) instead of plain bytes. */
  rows?: boolean;
}

interface PgConnectionLike {
  stream: Omit<NodeJS.ReadableStream, 'read' | 'listeners'> & { read(): Buffer | null; listeners(ev: 'data'): Array<(b: Buffer) => void> };
  query(text: string): void;
}

export class CopyOutStream extends Readable {
  readonly text: string;
  /** Rows COPY reported (from CommandComplete), once it finished. */
  rowCount = 0;
  private connection: PgConnectionLike | null = null;
  private pgDataHandler: ((b: Buffer) => void) | null = null;
  // The socket is read in flowing mode, one 'data' event per socket read, paused while our reader
  // is full: read() in paused mode would hand over everything buffered as one concatenation (a
  // copy of every byte whenever the socket got ahead of us).
  private readonly onData = (chunk: Buffer) => this.onSocketData(chunk);
  private drained = false;
  private finished = false;
  /** Message type being read, and its payload bytes still to come (-1: reading a header). */
  private code = 0;
  private remaining = -1;
  /** Up to 4 bytes of a header split across socket reads. */
  private header: Buffer | null = null;
  private readonly rowMode: boolean;
  /** rows mode: bytes of a row begun in earlier reads, its ends in this read, rows yielded. */
  private carry: Buffer[] = [];
  private ends = 0;
  private firstEnd = 0;
  private secondEnd = 0;
  private lastEnd = 0;
  private rowsOut = 0;
  /** rows mode: CopyDone seen; the end waits for CommandComplete to check the count. */
  private copyDone = false;

  constructor(text: string, options: CopyOutOptions = {}) {
    const { rows, ...rest } = options;
    super(rows ? { ...rest, objectMode: true } : rest);
    this.text = text;
    this.rowMode = !!rows;
  }

  /** Called by pg's Client when the query's turn comes. */
  submit(pgConnection: Connection): void {
    const connection = pgConnection as unknown as PgConnectionLike;
    this.connection = connection;
    const s = connection.stream;
    const listeners = s.listeners('data');
    if (listeners.length !== 1) throw new Error(`COPY TO: expected pg's one data listener on the socket, found ${listeners.length}`);
    this.pgDataHandler = listeners[0];
    s.removeListener('data', this.pgDataHandler);
    s.pause();
    s.on('data', this.onData);
    if (this.drained) s.resume();
    connection.query(this.text);
  }

  override _read(): void {
    this.drained = true;
    if (this.connection && !this.finished) this.connection.stream.resume();
  }

  private onSocketData(chunk: Buffer): void {
    if (this.finished) return;
    this.drained = this.parse(chunk);
    if (!this.drained && !this.finished) this.connection!.stream.pause();
  }

  /** Moves the CopyData payloads of `chunk` to its front and pushes them; false when the reader is full. */
  private parse(chunk: Buffer): boolean {
    const len = chunk.length;
    let i = 0;
    let w = 0;
    for (;;) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, len - i);
        if (this.code === COPY_DATA) {
          if (w !== i) chunk.copyWithin(w, i, i + n);
          w += n;
        }
        i += n;
        this.remaining -= n;
        if (this.remaining > 0) break; // the message goes on in the next read
      }
      if (this.remaining === 0) {
        this.remaining = -1;
        const c = this.code;
        if (c === COPY_DATA && this.rowMode) this.rowEnd(w);
        if (c !== COPY_DATA && c !== COPY_OUT_RESPONSE && c !== NOTICE_RESPONSE && c !== NOTIFICATION_RESPONSE && c !== PARAMETER_STATUS) {
          // CopyDone (or any other message): copy-out is over; the rest is pg's.
          return this.finish(chunk, w, chunk.subarray(i));
        }
      }
      if (i >= len) break;
      // A header: type byte + Int32 length (which counts itself), maybe split across reads.
      // Read in place (no Buffer per row) unless it is split.
      if (this.header) {
        const need = 5 - this.header.length;
        if (len - i < need) {
          this.header = Buffer.concat([this.header, chunk.subarray(i)]);
          i = len;
          break;
        }
        const head = Buffer.concat([this.header, chunk.subarray(i, i + need)]);
        this.header = null;
        if (head[0] === ERROR_RESPONSE) return this.handBack(chunk, w, Buffer.concat([head, chunk.subarray(i + need)]));
        i += need;
        this.code = head[0];
        this.remaining = head.readUInt32BE(1) - 4;
      } else {
        if (chunk[i] === ERROR_RESPONSE) return this.handBack(chunk, w, chunk.subarray(i));
        if (len - i < 5) {
          this.header = Buffer.from(chunk.subarray(i));
          i = len;
          break;
        }
        this.code = chunk[i];
        this.remaining = ((chunk[i + 1] << 24) | (chunk[i + 2] << 16) | (chunk[i + 3] << 8) | chunk[i + 4]) - 4;
        i += 5;
      }
    }
    return this.emit_(chunk, w);
  }

  private rowEnd(w: number): void {
    const n = ++this.ends;
    if (n === 1) this.firstEnd = w;
    else if (n === 2) this.secondEnd = w;
    this.lastEnd = w;
  }

  /** Pushes the payload bytes `chunk[0, w)`: as they are, or (rows mode) as whole rows. */
  private emit_(chunk: Buffer, w: number): boolean {
    if (!this.rowMode) return w > 0 ? this.push(chunk.subarray(0, w)) : true;
    const n = this.ends;
    this.ends = 0;
    let ok = true;
    if (n === 0) {
      if (w > 0) this.carry.push(chunk.subarray(0, w));
      return ok;
    }
    let from = 0;
    let rest = n;
    if (this.carry.length) {
      // The row begun in earlier reads, completed in a piece of its own (a copy of one row).
      this.carry.push(chunk.subarray(0, this.firstEnd));
      const first = Buffer.concat(this.carry);
      this.carry = [];
      ok = this.pushRows(first, 1, first.length);
      from = this.firstEnd;
      rest--;
    }
    if (rest > 0) ok = this.pushRows(chunk.subarray(from, this.lastEnd), rest, (from ? this.secondEnd : this.firstEnd) - from);
    if (this.lastEnd < w) this.carry.push(chunk.subarray(this.lastEnd, w));
    return ok;
  }

  private pushRows(data: Buffer, rows: number, firstRowLength: number): boolean {
    this.rowsOut += rows;
    const piece: CopyRows = { data, rows, firstRowLength };
    return this.push(piece);
  }

  /** An ErrorResponse: pg reads it (and fails the query through handleError). */
  private handBack(chunk: Buffer, w: number, rest: Buffer): boolean {
    this.emit_(chunk, w);
    this.detach(rest);
    return false;
  }

  private finish(chunk: Buffer, w: number, rest: Buffer): boolean {
    this.emit_(chunk, w);
    if (this.rowMode) {
      // The end waits for CommandComplete (usually in `rest`), whose count checks ours.
      this.copyDone = true;
      if (this.carry.length) {
        this.finished = true;
        this.destroy(new Error('COPY TO: the copy ended inside a CopyData message'));
        return false;
      }
      this.detach(rest);
      return false;
    }
    this.detach(rest);
    this.push(null);
    return false;
  }

  private detach(rest: Buffer): void {
    this.finished = true;
    const s = this.connection!.stream;
    const handler = this.pgDataHandler!;
    s.removeListener('data', this.onData);
    s.addListener('data', handler);
    handler(rest);
    // As pg-copy-streams: resume after the current 'data' dispatch has returned.
    process.nextTick(() => s.resume());
  }

  /** pg: the query failed (ErrorResponse, or the connection ended). */
  handleError(err: Error): void {
    this.finished = true;
    this.emit('error', err);
  }

  /** pg: CommandComplete, e.g. `COPY 42`. */
  handleCommandComplete(msg: { text?: string } | undefined): void {
    const m = /COPY (\d+)/.exec(msg?.text ?? '');
    if (m) this.rowCount = parseInt(m[1], 10);
    if (this.rowMode && this.copyDone) {
      this.copyDone = false;
      // One CopyData message per row is the protocol's rule (plus the header line): a server that
      // packed rows otherwise would make our per-object row counts wrong, so say so.
      const header = this.rowsOut - this.rowCount;
      if (m && header !== 0 && header !== 1) this.destroy(new Error(`COPY TO: the server reported ${this.rowCount} rows but sent ${this.rowsOut} CopyData messages; row counts per object cannot be trusted`));
      else this.push(null);
    }
  }

  handleReadyForQuery(): void {
    // rows mode: a CopyDone without CommandComplete (not expected) still ends the stream.
    if (this.rowMode && this.copyDone) {
      this.copyDone = false;
      this.push(null);
    }
  }
}

export function copyOut(text: string, options?: CopyOutOptions): CopyOutStream {
  return new CopyOutStream(text, options);
}
