// msg.payload → encoded GPSS rows (DESIGN §3 "Rows in messages"): one row object, an array of
// row objects, or an array of arrays in the job's column order. A value that cannot be
// converted fails this message only, with an error naming the row and the column.

export interface RowEncoderLike {
  encodeObject(row: Record<string, unknown>): Buffer;
  encodeArray(values: unknown[]): Buffer;
}

export class PayloadError extends Error {
  readonly code = 'BAD_PAYLOAD';
  constructor(
    message: string,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

function isRowObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);
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
  let bytes = 0;
  let i = 0;
  // One try around the loop (hot path), the failing index says which row it was.
  try {
    for (; i < list.length; i++) {
      const item = list[i];
      let buf: Buffer;
      if (Array.isArray(item)) buf = encoder.encodeArray(item);
      else if (isRowObject(item)) buf = encoder.encodeObject(item);
      else throw new PayloadError(`expected an object or an array, got ${item === null ? 'null' : typeof item}`);
      rows[i] = buf;
      bytes += buf.length + 6;
    }
  } catch (err) {
    throw rowError(err, list.length > 1 || Array.isArray(payload) ? `row ${i}` : 'row');
  }
  return { rows, bytes };
}

function rowError(err: unknown, where: string): PayloadError {
  const column = typeof err === 'object' && err !== null ? (err as { column?: unknown }).column : undefined;
  const m = err instanceof Error ? err.message : String(err);
  return new PayloadError(`msg.payload ${where}: ${m}`, typeof column === 'string' ? column : undefined);
}
