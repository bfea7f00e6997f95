// Upserts that behave the same on every server (DESIGN §3 "Delivery guarantee"): within one
// Merge or Update commit, rows with the same match key are collapsed, the last one winning,
// before they are written. Greenplum may fail the whole statement on such rows ("multiple
// updates to a row by the same query is not allowed") or update with an arbitrary one of
// them; gpss-pg keeps the last. Pure: no I/O, unit-tested.
//
// The key of a row is the encoded bytes of its match columns' DBValues. The row encoder maps
// every value of a column to that column's one wire form (ints to Int32/Int64Value, a Date or
// ISO text of a timestamp column to TimeStampValue, …), so equal keys give equal bytes;
// values that differ only in their text (numeric "1.0" and "1") are left to the server, which
// then behaves as it would without the collapse. A row whose key holds a NULL is never
// collapsed: NULL matches nothing in the load's join, so such rows are not updates of one row.

/** A row's match key, or null when it has none (a NULL key column, or a malformed row). */
export type KeyOf = (row: Uint8Array) => string | null;

const TAG_ROW_COLUMN = 0x0a; // Row.Columns = 1, length-delimited
const TAG_NULL = 0x58; // DBValue.NullValue = 11, varint

/**
 * Resolves match column names to indexes like the server does (exact names, as Greenplum
 * resolves GPSS's quoted identifiers). Returns null when a name cannot be resolved: the server
 * will refuse the Open, so there is nothing to collapse.
 */
export function matchColumnIndexes(columns: readonly string[], matchColumns: readonly string[]): number[] | null {
  const out: number[] = [];
  for (const name of matchColumns) {
    const i = columns.indexOf(name);
    if (i < 0) return null;
    out.push(i);
  }
  return out.length ? out : null;
}

/** Reads a varint at `pos`; returns [value, next position], or null past the end. */
function varint(buf: Uint8Array, pos: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 5; k++) {
    if (pos >= buf.length) return null;
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
  return null;
}

/**
 * A KeyOf for rows encoded in the table's column order (what gpss-write's encoder produces):
 * the key is the bytes of the DBValues at `indexes`, each prefixed by its length.
 */
export function rowKeyReader(indexes: readonly number[]): KeyOf {
  const last = Math.max(...indexes);
  const want = new Int32Array(last + 1).fill(-1);
  indexes.forEach((col, k) => (want[col] = k));
  const parts: string[] = new Array(indexes.length);
  return (row) => {
    let pos = 0;
    let found = 0;
    for (let col = 0; col <= last; col++) {
      if (pos >= row.length || row[pos] !== TAG_ROW_COLUMN) return null;
      const len = varint(row, pos + 1);
      if (!len) return null;
      const start = len[1];
      const end = start + len[0];
      if (end > row.length) return null;
      const k = want[col];
      if (k >= 0) {
        // An empty DBValue is a NULL too (no value set).
        if (end === start || row[start] === TAG_NULL) return null;
        parts[k] = `${end - start}:${Buffer.from(row.buffer, row.byteOffset + start, end - start).toString('latin1')}`;
        found++;
      }
      pos = end;
    }
    return found === indexes.length ? parts.join('') : null;
  };
}

export interface Collapsed<T extends Uint8Array> {
  /** The rows to write, per message (the message's own array when none of its rows was dropped). */
  rows: (readonly T[])[];
  /** Per message: the indexes of the rows kept, or null when all were kept. */
  kept: (number[] | null)[];
  /** Rows dropped because a later row had the same key. */
  dropped: number;
}

/**
 * Walking `keys` backwards, marks each key `seen` already holds (a later row has it) and adds
 * the others to `seen`. Returns the marks (1 = a later row has this key), or null for none.
 * Null keys are never marked.
 */
export function markRepeats(keys: readonly (string | null)[], seen: Set<string>): { marks: Uint8Array; count: number } | null {
  let out: { marks: Uint8Array; count: number } | null = null;
  for (let r = keys.length - 1; r >= 0; r--) {
    const key = keys[r];
    if (key === null) continue;
    if (seen.has(key)) {
      out ??= { marks: new Uint8Array(keys.length), count: 0 };
      out.marks[r] = 1;
      out.count++;
    } else seen.add(key);
  }
  return out;
}

/**
 * Collapses rows with the same key across `messages` (in order), keeping the last row of each
 * key in its own place. Rows without a key are all kept.
 */
export function collapseByKey<T extends Uint8Array>(messages: readonly { rows: readonly T[] }[], keyOf: KeyOf): Collapsed<T> {
  // The last (message, row) per key, found by walking backwards once.
  const seen = new Set<string>();
  const drop: (Uint8Array | null)[] = new Array(messages.length).fill(null);
  let dropped = 0;
  for (let m = messages.length - 1; m >= 0; m--) {
    const repeats = markRepeats(messages[m].rows.map(keyOf), seen);
    if (repeats) {
      drop[m] = repeats.marks;
      dropped += repeats.count;
    }
  }
  const out: Collapsed<T> = { rows: new Array(messages.length), kept: new Array(messages.length).fill(null), dropped };
  for (let m = 0; m < messages.length; m++) {
    const rows = messages[m].rows;
    const d = drop[m];
    if (!d) {
      out.rows[m] = rows;
      continue;
    }
    const keptRows: T[] = [];
    const keptIndexes: number[] = [];
    for (let r = 0; r < rows.length; r++) {
      if (d[r]) continue;
      keptRows.push(rows[r]);
      keptIndexes.push(r);
    }
    out.rows[m] = keptRows;
    out.kept[m] = keptIndexes;
  }
  return out;
}
