// WriteRequest wire encoding and the one place rows are cut into Writes (by exact wire size):
// the Write RPC's hot path.
//
// protobufjs would build one RowData object per row and re-copy each pre-encoded Row through
// its Writer; here the request is sized once and the Row bytes are copied into it directly:
//
//   WriteRequest { Session Session = 1; repeated RowData Rows = 2; }
//   Session      { string ID = 1; }
//   RowData      { bytes Data = 1; }
import { RowRuns } from './packed-rows';

/** Rows to cut into Writes: a list of row buffers, or a commit's packed runs (no view per row). */
export type WriteRows = readonly Uint8Array[] | RowRuns;

/**
 * Hard cap for one serialized WriteRequest: spec gpss-protocol §9's maximum, under a real
 * GPSS's 4 MiB receive limit (grpc-go's default max receive message size).
 */
export const MAX_WRITE_BYTES = 3.5 * 1024 * 1024;
/** Default size of one Write (spec gpss-protocol §9: ≤ 1 MiB by default). */
export const DEFAULT_WRITE_BYTES = 1024 * 1024;

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
export function encodeWriteRequest(session: string, rows: WriteRows): Buffer {
  const to = nextWriteEnd(rows, 0, Infinity);
  return encodeWriteRequestRange(session, rows, 0, to, WRITE_GROUP_BYTES);
}

/**
 * Serializes the WriteRequest of rows[from, to), whose rowWireSize() sum the caller already
 * has (`rowsBytes`, e.g. from nextWriteEnd()): the rows are sized once, not twice.
 */
export function encodeWriteRequestRange(session: string, rows: WriteRows, from: number, to: number, rowsBytes: number): Buffer {
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
  if (rows instanceof RowRuns) pos = writeRuns(buf, pos, rows, from, to);
  else {
    for (let i = from; i < to; i++) {
      const row = rows[i];
      const n = row.length;
      pos = writeRowHeader(buf, pos, n);
      buf.set(row, pos);
      pos += n;
    }
  }
  if (pos !== buf.length) throw new Error(`encodeWriteRequestRange: rowsBytes ${rowsBytes} does not match the rows`);
  return buf;
}

/** RowData framing of a row of n bytes: Rows tag + length + Data tag + length. */
function writeRowHeader(buf: Buffer, pos: number, n: number): number {
  buf[pos++] = 0x12;
  pos = writeVarint(buf, pos, 1 + varintSize(n) + n);
  buf[pos++] = 0x0a;
  return writeVarint(buf, pos, n);
}

/**
 * Rows shorter than this are copied byte by byte: a loop costs ~2 ns a byte, `Buffer.copy` ~80 ns
 * whatever the length (it makes a view), measured on this project's 2-core VM; they cross at ~36.
 */
const SHORT_ROW = 32;

/** Serializes the RowData of runs rows [from, to) at buf[pos…]; returns the end. */
function writeRuns(buf: Buffer, pos: number, runs: RowRuns, from: number, to: number): number {
  runs.seek(from);
  for (let i = from; i < to; i++) {
    runs.load();
    const { buf: src, start, end } = runs;
    const n = end - start;
    pos = writeRowHeader(buf, pos, n);
    if (n < SHORT_ROW) for (let j = start; j < end; j++) buf[pos++] = src[j];
    else pos += src.copy(buf, pos, start, end);
    runs.advance();
  }
  return pos;
}

/** rowWireSize() sum of the last nextWriteEnd() group (module scratch: no allocation). */
export let WRITE_GROUP_BYTES = 0;

/**
 * End (exclusive) of the next Write's rows starting at `from`: as many as fit a serialized
 * WriteRequest of at most `maxBytes` (the session header is budgeted at 64 bytes), at least
 * one (a single row over the budget goes alone: it cannot be split; the server decides).
 * The group's rowWireSize() sum is left in WRITE_GROUP_BYTES.
 */
export function nextWriteEnd(rows: WriteRows, from: number, maxBytes: number): number {
  const budget = maxBytes - 64;
  let size = 0;
  let to = from;
  if (rows instanceof RowRuns) {
    rows.seek(from);
    for (const n = rows.length; to < n; to++) {
      rows.load();
      const s = rowWireSize(rows.end - rows.start);
      if (to > from && size + s > budget) break;
      size += s;
      rows.advance();
    }
    WRITE_GROUP_BYTES = size;
    return to;
  }
  for (const n = rows.length; to < n; to++) {
    const s = rowWireSize(rows[to].length);
    if (to > from && size + s > budget) break;
    size += s;
  }
  WRITE_GROUP_BYTES = size;
  return to;
}
