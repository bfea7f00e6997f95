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

function varint(buf: Buffer, pos: number, end: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireError('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
  throw new WireError('varint longer than 10 bytes');
}

function skip(buf: Buffer, pos: number, end: number, wire: number): number {
  switch (wire) {
    case 0:
      return varint(buf, pos, end)[1];
    case 1:
      pos += 8;
      break;
    case 2: {
      const [len, p] = varint(buf, pos, end);
      pos = p + len;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new WireError(`unsupported wire type ${wire}`);
  }
  if (pos > end) throw new WireError('field runs past the end of the message');
  return pos;
}

/** Decodes a serialized WriteRequest (grpc-js hands the server the raw request bytes). */
export function decodeWriteRequest(buf: Buffer): WriteRows {
  let starts = new Int32Array(1024);
  let ends = new Int32Array(1024);
  let count = 0;
  let sessionId = '';
  let pos = 0;
  const end = buf.length;
  while (pos < end) {
    const [tag, p] = varint(buf, pos, end);
    pos = p;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if ((field === 1 || field === 2) && wire === 2) {
      const [len, q] = varint(buf, pos, end);
      const msgEnd = q + len;
      if (msgEnd > end) throw new WireError('field runs past the end of the message');
      let r = q;
      let s = -1;
      let e = -1;
      while (r < msgEnd) {
        const [t, r2] = varint(buf, r, msgEnd);
        r = r2;
        if (t === 0x0a) {
          const [l, r3] = varint(buf, r, msgEnd);
          if (r3 + l > msgEnd) throw new WireError('field runs past the end of the message');
          s = r3;
          e = r3 + l;
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
  return { sessionId, buf, starts, ends, count };
}
