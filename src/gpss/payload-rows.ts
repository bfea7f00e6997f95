// A message's payload → encoded GPSS rows (DESIGN §3 "Rows in messages"): one row object, an array of
// row objects, or an array of arrays in the job's column order. A value that cannot be
// converted fails this message only, with an error naming the row and the column.
// Stream mode packs a message's rows (packPayload: one PackedRows, see packed-rows.ts); job mode
// writes them at once and takes a view per row (encodePayload).
import { isRowObject, needsSlices, PayloadError, SLICE_ROWS } from '../shared/payload-shape';
import { SliceClock } from '../shared/slices';
import { PackedRows } from './packed-rows';

export { needsSlices, PayloadError, SLICED_PAYLOAD_ROWS } from '../shared/payload-shape';

export interface RowEncoderLike {
  encodeObject(row: Record<string, unknown>): Buffer;
  encodeArray(values: unknown[]): Buffer;
}

/** An encoder that can also pack a message's rows (value-mapping.ts's RowEncoder). */
export interface RowPackerLike extends RowEncoderLike {
  beginRun(expectedRows?: number): void;
  placeObject(row: Record<string, unknown>): void;
  placeArray(values: unknown[]): void;
  endRun(): PackedRows;
  abortRun(): void;
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

export interface PackedPayload {
  rows: PackedRows;
  /** What the buffer counts: the rows' bytes plus 6 of framing per row (as encodePayload). */
  bytes: number;
}

/** encodePayload(), packed: the same bytes and errors, one PackedRows instead of a Buffer per row. */
export function packPayload(payload: unknown, encoder: RowPackerLike): PackedPayload {
  if (isRowObject(payload)) {
    encoder.beginRun();
    try {
      encoder.placeObject(payload);
    } catch (err) {
      encoder.abortRun();
      throw rowError(err, 'row');
    }
    const rows = encoder.endRun();
    return { rows, bytes: rows.byteLength + 6 };
  }
  if (!Array.isArray(payload)) {
    throw new PayloadError(
      `msg.payload must be a row object, an array of row objects or an array of value arrays; got ${payload === null ? 'null' : typeof payload}`,
    );
  }
  const rows = packRange(payload, 0, payload.length, encoder);
  return { rows, bytes: rows.byteLength + 6 * rows.length };
}

/** packPayload() for a large array in slices, like encodePayloadInSlices (one run per slice, joined). */
export async function packPayloadInSlices(payload: unknown, encoder: RowPackerLike): Promise<PackedPayload> {
  if (!needsSlices(payload)) return packPayload(payload, encoder);
  const list = payload as unknown[];
  const parts: PackedRows[] = [];
  const clock = new SliceClock();
  for (let from = 0; from < list.length; from += SLICE_ROWS) {
    // A run never spans the await: another message may use the encoder meanwhile.
    parts.push(packRange(list, from, Math.min(list.length, from + SLICE_ROWS), encoder));
    await clock.pace();
  }
  const rows = PackedRows.concat(parts);
  return { rows, bytes: rows.byteLength + 6 * rows.length };
}

/** Packs list[from, to) as one run. Errors name the row (its index in `list`). */
function packRange(list: readonly unknown[], from: number, to: number, encoder: RowPackerLike): PackedRows {
  let i = from;
  encoder.beginRun(to - from);
  try {
    for (; i < to; i++) {
      const item = list[i];
      if (Array.isArray(item)) encoder.placeArray(item);
      else if (isRowObject(item)) encoder.placeObject(item);
      else throw new PayloadError(`expected an object or an array, got ${item === null ? 'null' : typeof item}`);
    }
  } catch (err) {
    encoder.abortRun();
    throw rowError(err, `row ${i}`);
  }
  return encoder.endRun();
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
