// A WriteRequest decoder for the server: keeps the request buffer and records where each
// RowData.Data lies in it, instead of materialising a message object and a Buffer per row.
//
//   WriteRequest { Session Session = 1; repeated RowData Rows = 2; }
//   Session { string ID = 1; }   RowData { bytes Data = 1; }

export interface WriteRows {
  sessionId: string;
  buf: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  count: number;
}

export class WireError extends Error {}

// The value of the last varint read (module-level: no allocation per call on the hot path).
let VALUE = 0;

/** Reads a varint at `pos`; returns the position after it and leaves the value in VALUE. */
function varint(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireError('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) {
      VALUE = value;
      return pos;
    }
    mul *= 128;
  }
  throw new WireError('varint longer than 10 bytes');
}

function skip(buf: Buffer, pos: number, end: number, wire: number): number {
  switch (wire) {
    case 0:
      return varint(buf, pos, end);
    case 1:
      pos += 8;
      break;
    case 2:
      pos = varint(buf, pos, end) + VALUE;
      break;
    case 5:
      pos += 4;
      break;
    default:
      throw new WireError(`unsupported wire type ${wire}`);
  }
  if (pos > end) throw new WireError('field runs past the end of the message');
  return pos;
}

/** Two-byte varint (lengths of 128..16383, most rows) read inline; else the general reader. */
function len(buf: Buffer, pos: number, end: number): number {
  if (pos + 1 < end) {
    const a = buf[pos];
    if (a < 0x80) {
      VALUE = a;
      return pos + 1;
    }
    const b = buf[pos + 1];
    if (b < 0x80) {
      VALUE = (a & 0x7f) | (b << 7);
      return pos + 2;
    }
  }
  return varint(buf, pos, end);
}

// Scratch row spans, reused by every call (decoding is synchronous); each result gets one
// exact-size copy. Sizing fresh arrays per request for the smallest plausible rows allocated
// several times the rows' real need, on every Write.
let scratchStarts = new Int32Array(4096);
let scratchEnds = new Int32Array(4096);
const MAX_SCRATCH = 1 << 18; // rows; a larger request's spans are not kept for the next one

/** Decodes a serialized WriteRequest (grpc-js hands the server the raw request bytes). */
export function decodeWriteRequest(buf: Buffer): WriteRows {
  let starts = scratchStarts;
  let ends = scratchEnds;
  let count = 0;
  let sessionId = '';
  let pos = 0;
  const end = buf.length;
  while (pos < end) {
    // Fast path: RowData { Data = 1 (bytes) } with only its Data field, lengths ≤ 2 bytes.
    if (buf[pos] === 0x12) {
      const q = len(buf, pos + 1, end);
      const msgEnd = q + VALUE;
      if (msgEnd <= end && buf[q] === 0x0a && q < msgEnd) {
        const r = len(buf, q + 1, msgEnd);
        if (r + VALUE === msgEnd) {
          if (count === starts.length) {
            const ns = new Int32Array(count * 2);
            ns.set(starts);
            starts = ns;
            const ne = new Int32Array(count * 2);
            ne.set(ends);
            ends = ne;
          }
          starts[count] = r;
          ends[count] = msgEnd;
          count++;
          pos = msgEnd;
          continue;
        }
      }
    }
    pos = varint(buf, pos, end);
    const tag = VALUE;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if ((field === 1 || field === 2) && wire === 2) {
      const q = varint(buf, pos, end);
      const msgEnd = q + VALUE;
      if (msgEnd > end) throw new WireError('field runs past the end of the message');
      let r = q;
      let s = -1;
      let e = -1;
      while (r < msgEnd) {
        r = varint(buf, r, msgEnd);
        const t = VALUE;
        if (t === 0x0a) {
          const r3 = varint(buf, r, msgEnd);
          if (r3 + VALUE > msgEnd) throw new WireError('field runs past the end of the message');
          s = r3;
          e = r3 + VALUE;
          r = e;
        } else r = skip(buf, r, msgEnd, t % 8);
      }
      if (field === 1) {
        if (s >= 0) sessionId = buf.toString('utf8', s, e);
      } else {
        if (count === starts.length) {
          const ns = new Int32Array(count * 2);
          ns.set(starts);
          starts = ns;
          const ne = new Int32Array(count * 2);
          ne.set(ends);
          ends = ne;
        }
        starts[count] = s < 0 ? q : s;
        ends[count] = s < 0 ? q : e;
        count++;
      }
      pos = msgEnd;
    } else pos = skip(buf, pos, end, wire);
  }
  if (starts.length <= MAX_SCRATCH) {
    scratchStarts = starts;
    scratchEnds = ends;
  }
  // One allocation for both spans (kept by the Write while it renders, across awaits).
  const spans = new Int32Array(2 * count);
  spans.set(starts.subarray(0, count));
  spans.set(ends.subarray(0, count), count);
  return { sessionId, buf, starts: spans.subarray(0, count), ends: spans.subarray(count), count };
}
