// Match keys as text for error messages, the way PostgreSQL words them: `(id, day)=(5, …)`.
// The key is collapse.ts's (`<length>:<DBValue bytes>` per match column), so the values are
// read back from their wire form: this is the error path only. Pure; unit-tested.

const TEXT_PREVIEW = 32;

/** Reads a varint as a bigint at `pos` of the latin1 string `s`; [value, next] or null. */
function varint(s: string, pos: number): [bigint, number] | null {
  let v = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (pos >= s.length) return null;
    const b = s.charCodeAt(pos++);
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [v, pos];
  }
  return null;
}

const bytesOf = (s: string): Buffer => Buffer.from(s, 'latin1');
const preview = (text: string): string => JSON.stringify(text.length > TEXT_PREVIEW ? text.slice(0, TEXT_PREVIEW) + '…' : text);

/** A DBValue's bytes (latin1 string) as text for an error message. */
function describeDbValue(v: string): string {
  const tag = v.charCodeAt(0);
  const body = v.slice(1);
  const lengthDelimited = (): string | null => {
    const len = varint(body, 0);
    return len ? body.slice(len[1], len[1] + Number(len[0])) : null;
  };
  switch (tag) {
    case 0x08: // Int32Value
    case 0x10: {
      // Int64Value (a negative int32 is sign-extended to 64 bits on the wire)
      const n = varint(body, 0);
      return n ? BigInt.asIntN(64, n[0]).toString() : '?';
    }
    case 0x2d: // Float32Value
      return body.length >= 4 ? String(bytesOf(body).readFloatLE(0)) : '?';
    case 0x31: // Float64Value
      return body.length >= 8 ? String(bytesOf(body).readDoubleLE(0)) : '?';
    case 0x3a: // StringValue
    case 0x62: {
      // OtherValue
      const s = lengthDelimited();
      return s === null ? '?' : preview(bytesOf(s).toString('utf8'));
    }
    case 0x42: {
      // BytesValue
      const s = lengthDelimited();
      if (s === null) return '?';
      const hex = bytesOf(s.slice(0, 16)).toString('hex');
      return `\\x${hex}${s.length > 16 ? '…' : ''}`;
    }
    case 0x52: {
      // TimeStampValue { seconds = 1; nanos = 2 }
      const ts = lengthDelimited();
      if (ts === null) return '?';
      let seconds = 0n;
      let nanos = 0n;
      for (let p = 0; p < ts.length; ) {
        const t = ts.charCodeAt(p);
        const val = varint(ts, p + 1);
        if (!val) return '?';
        if (t === 0x08) seconds = BigInt.asIntN(64, val[0]);
        else if (t === 0x10) nanos = val[0];
        p = val[1];
      }
      const ms = Number(seconds) * 1000;
      const date = new Date(ms);
      if (Number.isNaN(date.getTime())) return `${seconds}s`;
      const iso = date.toISOString(); // …T00:00:00.000Z
      return nanos === 0n ? iso.replace('.000Z', 'Z') : `${iso.slice(0, 19)}.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}Z`;
    }
    default:
      return '?';
  }
}

/**
 * A key from collapse.ts's rowKeyReader (`<length>:<DBValue bytes>` per match column) as
 * PostgreSQL words keys: `(id, day)=(5, 2024-01-01T00:00:00Z)`.
 */
export function describeKey(key: string, matchColumns: readonly string[]): string {
  const values: string[] = [];
  for (let p = 0; p < key.length; ) {
    const colon = key.indexOf(':', p);
    if (colon < 0) break;
    const len = Number(key.slice(p, colon));
    values.push(describeDbValue(key.slice(colon + 1, colon + 1 + len)));
    p = colon + 1 + len;
  }
  return `(${matchColumns.join(', ')})=(${values.join(', ')})`;
}
