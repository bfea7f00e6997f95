// A message's payload → encoded GPSS rows (DESIGN §3 "Rows in messages"): one row object, an array of
// row objects, or an array of arrays in the job's column order. A value that cannot be
// converted fails this message only, with an error naming the row and the column.
import { isRowObject, needsSlices, PayloadError, SLICE_ROWS } from '../shared/payload-shape';
import { SliceClock } from '../shared/slices';

export { needsSlices, PayloadError, SLICED_PAYLOAD_ROWS } from '../shared/payload-shape';

export interface RowEncoderLike {
  encodeObject(row: Record<string, unknown>): Buffer;
  encodeArray(values: unknown[]): Buffer;
}

export interface EncodedRows {
  rows: Buffer[];
  bytes: number;
}

export function encodePayload(payload: unknown, encoder: RowEncoderLike): EncodedRows {
  // One row object per message is the common stream case: no one-element list to iterate.
  if (isRowObject(payload)) {
    let buf: Buffer;
    try {
      buf = encoder.encodeObject(payload);
    } catch (err) {
      throw rowError(err, 'row');
    }
    return { rows: [buf], bytes: buf.length + 6 };
  }
  let list: unknown[];
  if (Array.isArray(payload)) list = payload;
  else {
    throw new PayloadError(
      `msg.payload must be a row object, an array of row objects or an array of value arrays; got ${payload === null ? 'null' : typeof payload}`,
    );
  }
  const rows: Buffer[] = new Array(list.length);
  return { rows, bytes: encodeRange(list, 0, list.length, encoder, rows) };
}

/**
 * encodePayload() for a large array, yielding to the event loop every millisecond (100,000 rows take
 * ~60 ms to encode: long enough for Node-RED to stop reading its sockets). Same result and errors.
 */
export async function encodePayloadInSlices(payload: unknown, encoder: RowEncoderLike): Promise<EncodedRows> {
  if (!needsSlices(payload)) return encodePayload(payload, encoder);
  const list = payload as unknown[];
  const rows: Buffer[] = new Array(list.length);
  const clock = new SliceClock();
  let bytes = 0;
  for (let from = 0; from < list.length; from += SLICE_ROWS) {
    bytes += encodeRange(list, from, Math.min(list.length, from + SLICE_ROWS), encoder, rows);
    await clock.pace();
  }
  return { rows, bytes };
}

/** Encodes list[from, to) into rows[from, to); returns their bytes. Errors name the row. */
function encodeRange(list: readonly unknown[], from: number, to: number, encoder: RowEncoderLike, rows: Buffer[]): number {
  let bytes = 0;
  let i = from;
  // One try around the loop (hot path), the failing index says which row it was.
  try {
    for (; i < to; i++) {
      const item = list[i];
      let buf: Buffer;
      if (Array.isArray(item)) buf = encoder.encodeArray(item);
      else if (isRowObject(item)) buf = encoder.encodeObject(item);
      else throw new PayloadError(`expected an object or an array, got ${item === null ? 'null' : typeof item}`);
      rows[i] = buf;
      bytes += buf.length + 6;
    }
  } catch (err) {
    throw rowError(err, `row ${i}`);
  }
  return bytes;
}

function rowError(err: unknown, where: string): PayloadError {
  const column = typeof err === 'object' && err !== null ? (err as { column?: unknown }).column : undefined;
  const m = err instanceof Error ? err.message : String(err);
  return new PayloadError(`msg.payload ${where}: ${m}`, typeof column === 'string' ? column : undefined);
}
