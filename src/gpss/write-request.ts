// WriteRequest wire encoding and batching: the Write RPC's hot path.
//
// protobufjs would build one RowData object per row and re-copy each pre-encoded Row through
// its Writer; here the request is sized once and the Row bytes are copied into it directly:
//
//   WriteRequest { Session Session = 1; repeated RowData Rows = 2; }
//   Session      { string ID = 1; }
//   RowData      { bytes Data = 1; }

/** Default cap for one serialized WriteRequest: well below GPSS's 4 MiB gRPC receive limit. */
export const DEFAULT_MAX_WRITE_BYTES = 2 * 1024 * 1024;

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Bytes one row adds to a WriteRequest: Rows tag + length + RowData{Data tag + length + row}. */
export function rowWireSize(rowBytes: number): number {
  const rowData = 1 + varintSize(rowBytes) + rowBytes;
  return 1 + varintSize(rowData) + rowData;
}

/** Serializes `WriteRequest{Session{ID: session}, Rows: rows.map(Data)}` into one Buffer. */
export function encodeWriteRequest(session: string, rows: readonly Uint8Array[]): Buffer {
  let rowsBytes = 0;
  for (let i = 0; i < rows.length; i++) rowsBytes += rowWireSize(rows[i].length);
  return encodeWriteRequestRange(session, rows, 0, rows.length, rowsBytes);
}

/**
 * Serializes the WriteRequest of rows[from, to), whose rowWireSize() sum the caller already
 * has (`rowsBytes`, e.g. from nextWriteEnd()): the rows are sized once, not twice.
 */
export function encodeWriteRequestRange(session: string, rows: readonly Uint8Array[], from: number, to: number, rowsBytes: number): Buffer {
  const idLen = Buffer.byteLength(session, 'utf8');
  const sessionMsg = idLen > 0 ? 1 + varintSize(idLen) + idLen : 0;
  const buf = Buffer.allocUnsafe(1 + varintSize(sessionMsg) + sessionMsg + rowsBytes);
  let pos = 0;
  buf[pos++] = 0x0a;
  pos = writeVarint(buf, pos, sessionMsg);
  if (idLen > 0) {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, idLen);
    pos += buf.write(session, pos, idLen, 'utf8');
  }
  for (let i = from; i < to; i++) {
    const row = rows[i];
    const n = row.length;
    buf[pos++] = 0x12;
    pos = writeVarint(buf, pos, 1 + varintSize(n) + n);
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, n);
    buf.set(row, pos);
    pos += n;
  }
  if (pos !== buf.length) throw new Error(`encodeWriteRequestRange: rowsBytes ${rowsBytes} does not match the rows`);
  return buf;
}

/** rowWireSize() sum of the last nextWriteEnd() group (module scratch: no allocation). */
export let WRITE_GROUP_BYTES = 0;

/**
 * End (exclusive) of the group of rows starting at `from` that splitIntoWrites() would form
 * under `maxBytes`; the group's rowWireSize() sum is left in WRITE_GROUP_BYTES.
 */
export function nextWriteEnd(rows: readonly Uint8Array[], from: number, maxBytes: number): number {
  const budget = maxBytes - 64;
  let size = 0;
  let to = from;
  for (const n = rows.length; to < n; to++) {
    const s = rowWireSize(rows[to].length);
    if (to > from && size + s > budget) break;
    size += s;
  }
  WRITE_GROUP_BYTES = size;
  return to;
}

/**
 * Splits encoded rows into consecutive groups whose serialized WriteRequest stays at or under
 * `maxBytes` (the session header is budgeted at 64 bytes). Order is kept. A single row larger
 * than the budget gets a group of its own — it cannot be split; the server decides.
 */
export function splitIntoWrites<T extends Uint8Array>(rows: readonly T[], maxBytes: number = DEFAULT_MAX_WRITE_BYTES): T[][] {
  if (!(maxBytes > 64)) throw new RangeError(`maxBytes must be more than 64, got ${maxBytes}`);
  const budget = maxBytes - 64;
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const row of rows) {
    const s = rowWireSize(row.length);
    if (current.length > 0 && size + s > budget) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += s;
  }
  if (current.length > 0) out.push(current);
  return out;
}
