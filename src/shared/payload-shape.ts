// What a message's payload of rows looks like, for both libraries that take rows in messages
// (src/gpss payload-rows.ts, src/oss message-rows.ts): a row object, an array of row objects or
// an array of arrays; the one error for a payload that is not that; and when a payload is large
// enough to be converted in event-loop slices. Pure.

/** A msg.payload (or one of its rows) that is not rows; `column` names the column when known. */
export class PayloadError extends Error {
  constructor(
    message: string,
    readonly column?: string,
    /** msg.error.code: BAD_PAYLOAD for gpss-write, OSS_ROW_SHAPE for oss-export (as they always reported). */
    readonly code: string = 'BAD_PAYLOAD',
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** A row given as an object (not an array, Buffer or Date). */
export function isRowObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);
}

/** Payload arrays longer than this are converted (and encoded) in slices. */
export const SLICED_PAYLOAD_ROWS = 2048;

/** Rows converted between two looks at the clock (~0.3 ms of work). */
export const SLICE_ROWS = 512;

/** True when converting this payload in one go could hold the event loop for several ms. */
export function needsSlices(payload: unknown): boolean {
  return Array.isArray(payload) && payload.length > SLICED_PAYLOAD_ROWS;
}
