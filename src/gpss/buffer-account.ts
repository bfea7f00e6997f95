// The bounded buffer accounting shared by stream mode and job mode of gpss-write: it turns
// "memory grows without limit" into a fast "buffer full" error. (How rows are cut into Writes
// is write-request.ts's job, by exact wire size.)

export class WriteBufferFullError extends Error {
  readonly code = 'BUFFER_FULL';
  constructor(message: string) {
    super(message);
    // Catch shows `${name}: ${message}`: the name flows have always seen stays.
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
 * Counts what a writer holds. reserve() refuses (throws WriteBufferFullError) instead of letting
 * the heap grow: Node-RED has no backpressure, so the only honest answer to a flood is an
 * immediate failure the flow can catch.
 */
export class BufferAccount {
  rows = 0;
  bytes = 0;
  constructor(readonly limits: BufferLimits) {}

  reserve(rows: number, bytes: number): void {
    if (this.rows + rows > this.limits.maxRows || this.bytes + bytes > this.limits.maxBytes) {
      throw new WriteBufferFullError(
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
