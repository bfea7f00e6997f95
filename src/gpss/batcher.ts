// Pure batching helpers shared by stream mode and job mode of gpss-write: how many bytes a
// Write will take on the wire, how to cut rows into Writes that stay under the size limit
// (real GPSS keeps gRPC's 4 MiB receive limit), and the bounded buffer accounting that turns
// "memory grows without limit" into a fast "buffer full" error.

/** Per-row overhead of a WriteRequest: RowData tag + length prefix + Rows tag + length prefix. */
export const WRITE_ROW_OVERHEAD = 6;
/** Session field and request framing: generous upper bound. */
export const WRITE_REQUEST_OVERHEAD = 128;
/** Default size of one Write (spec gpss-protocol §9: ≤ 1 MiB by default, ≤ 3.5 MiB at most). */
export const DEFAULT_WRITE_BYTES = 1024 * 1024;
export const MAX_WRITE_BYTES = 3.5 * 1024 * 1024;

/** Estimated serialized size of the rows of one message (what the buffer limit counts). */
export function estimateRowsBytes(rows: readonly Uint8Array[]): number {
  let n = 0;
  for (const r of rows) n += r.length + WRITE_ROW_OVERHEAD;
  return n;
}

/**
 * Cuts rows into consecutive chunks whose estimated WriteRequest size stays ≤ maxBytes. A row
 * that alone exceeds the limit gets a chunk of its own (the server decides whether to accept it).
 */
export function splitIntoWrites<T extends Uint8Array>(rows: readonly T[], maxBytes: number): T[][] {
  return chunkEntries([{ rows }], maxBytes);
}

/**
 * The rows of several messages cut into Write chunks, in message order, without building an
 * intermediate array of all rows (this runs once per commit over up to a million rows).
 */
export function chunkEntries<T extends Uint8Array>(entries: readonly { rows: readonly T[] }[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = WRITE_REQUEST_OVERHEAD;
  for (const e of entries) {
    const rows = e.rows;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const rowBytes = row.length + WRITE_ROW_OVERHEAD;
      if (current.length > 0 && size + rowBytes > maxBytes) {
        chunks.push(current);
        current = [];
        size = WRITE_REQUEST_OVERHEAD;
      }
      current.push(row);
      size += rowBytes;
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class BufferFullError extends Error {
  readonly code = 'BUFFER_FULL';
  constructor(message: string) {
    super(message);
    this.name = 'BufferFullError';
  }
}

export interface BufferLimits {
  /** Most rows held (buffered plus being committed). */
  maxRows: number;
  /** Most estimated bytes held. */
  maxBytes: number;
}

/**
 * Counts what a writer holds. reserve() refuses (throws BufferFullError) instead of letting
 * the heap grow: Node-RED has no backpressure, so the only honest answer to a flood is an
 * immediate failure the flow can catch.
 */
export class BufferAccount {
  rows = 0;
  bytes = 0;
  constructor(readonly limits: BufferLimits) {}

  reserve(rows: number, bytes: number): void {
    if (this.rows + rows > this.limits.maxRows || this.bytes + bytes > this.limits.maxBytes) {
      throw new BufferFullError(
        `buffer full: holding ${this.rows} rows / ${this.bytes} bytes, limit ${this.limits.maxRows} rows / ` +
          `${this.limits.maxBytes} bytes; this message (${rows} rows, ${bytes} bytes) was not accepted. ` +
          'Slow the input down, raise the buffer limit, or check the GPSS server.',
      );
    }
    this.rows += rows;
    this.bytes += bytes;
  }

  release(rows: number, bytes: number): void {
    this.rows = Math.max(0, this.rows - rows);
    this.bytes = Math.max(0, this.bytes - bytes);
  }
}
