// Rows a server rejected under an error limit, mapped back to the messages that held them
// (DESIGN §3 "Delivery guarantee"). Pure: no I/O, unit-tested.
//
// The ErrorRows format (what gpss-pg sends, documented in the README): each entry is
//
//   row <N>: <reason>
//
// where N is the 1-based position of the rejected row among all rows written in that load
// (one Open … Close), counted in Write order and row order inside each Write, and <reason> is
// the server's text (gpss-pg: `column "<name>": <PostgreSQL message>` when it knows the
// column). The proto marks ErrorRows "not supported", so a real GPSS may send no entries, or
// entries in another format: then only the counts are known and every message of the commit
// is told the commit's rejected count instead (`countsOnly`).

/** One parsed ErrorRows entry. */
export interface ErrorRowEntry {
  /** 1-based position in the load; null when the entry is not in the `row N: reason` format. */
  row: number | null;
  reason: string;
}

/** A rejected row of one message: `index` is the row's 0-based index in that message's rows. */
export interface RejectedRow {
  index: number;
  reason: string;
}

const ENTRY = /^row (\d+): ([\s\S]*)$/;

/** Formats one entry (the server side of the format). */
export function formatErrorRow(row: number, reason: string): string {
  return `row ${row}: ${reason}`;
}

/** Parses one ErrorRows entry; an entry in another format keeps its whole text as reason. */
export function parseErrorRow(entry: string): ErrorRowEntry {
  const m = ENTRY.exec(entry);
  if (!m) return { row: null, reason: entry };
  const row = Number(m[1]);
  return Number.isSafeInteger(row) && row >= 1 ? { row, reason: m[2] } : { row: null, reason: entry };
}

/** What the server said about the rows it rejected in one commit. */
export type Rejections =
  /** Every rejected row is named: `byMessage[i]` lists message i's rejected rows (undefined: none). */
  | { countsOnly: false; total: number; byMessage: (RejectedRow[] | undefined)[] }
  /** Only the count is known: every message of the commit is told `total`. */
  | { countsOnly: true; total: number; why: string };

/**
 * Maps a commit's rejections to its messages. `written[i]` is how many rows message i put into
 * the load, in Write order; `kept[i]`, when given and non-null, is the list of message i's row
 * indexes that were written (rows superseded by a later row with the same key are not).
 * Returns null when nothing was rejected. The mapping is all or nothing: unless every rejected
 * row is named by exactly one well-formed entry with a position inside the load, the result
 * is counts-only (a partial mapping would acknowledge messages holding unnamed rejected rows).
 */
export function mapRejections(
  written: ArrayLike<number>,
  stats: { errorCount: number; errorRows: readonly string[] },
  kept?: readonly (readonly number[] | null)[],
): Rejections | null {
  const total = stats.errorCount;
  if (!(total > 0)) return null;
  const entries = stats.errorRows ?? [];
  if (entries.length === 0) return { countsOnly: true, total, why: 'the server did not name the rejected rows' };
  if (entries.length !== total) return { countsOnly: true, total, why: `the server named ${entries.length} of ${total} rejected rows` };
  // Start position (1-based) of each message's rows in the load.
  const n = written.length;
  const starts = new Float64Array(n + 1);
  starts[0] = 1;
  for (let i = 0; i < n; i++) starts[i + 1] = starts[i] + written[i];
  const loadRows = starts[n] - 1;
  const byMessage: (RejectedRow[] | undefined)[] = new Array<RejectedRow[] | undefined>(n).fill(undefined);
  const seen = new Set<number>();
  for (const text of entries) {
    const { row, reason } = parseErrorRow(text);
    if (row === null) return { countsOnly: true, total, why: `an ErrorRows entry is not in the "row N: reason" format (${JSON.stringify(text.slice(0, 60))})` };
    if (row > loadRows) return { countsOnly: true, total, why: `ErrorRows names row ${row} of a load of ${loadRows} rows` };
    if (seen.has(row)) return { countsOnly: true, total, why: `ErrorRows names row ${row} twice` };
    seen.add(row);
    const m = messageAt(starts, row);
    const offset = row - starts[m];
    const keptRows = kept?.[m];
    const index = keptRows ? keptRows[offset] : offset;
    (byMessage[m] ??= []).push({ index, reason });
  }
  for (const list of byMessage) list?.sort((a, b) => a.index - b.index);
  return { countsOnly: false, total, byMessage };
}

/** The message whose rows [starts[m], starts[m+1]) hold `row` (binary search; empty messages skipped). */
function messageAt(starts: Float64Array, row: number): number {
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Human text of a message's rejected rows, for the error that takes it to Catch. */
export function describeRejected(rows: readonly RejectedRow[], max = 5): string {
  const shown = rows.slice(0, max).map((r) => `row ${r.index}: ${r.reason}`);
  const more = rows.length > max ? `; and ${rows.length - max} more` : '';
  return `${rows.length} row${rows.length === 1 ? '' : 's'} of this message rejected by the server (committed without them): ${shown.join('; ')}${more}`;
}

/** How one message of a committed batch is settled. */
export type MessageOutcome =
  /** All its rows are in (or were superseded by a later row with the same key). */
  | { kind: 'committed' }
  /** The commit succeeded without these rows of the message: the message goes to Catch. */
  | { kind: 'rowsRejected'; rows: RejectedRow[] }
  /** The commit rejected `rejected` rows without saying which: the message goes on, told the count. */
  | { kind: 'countsOnly'; rejected: number };

export const COMMITTED: MessageOutcome = Object.freeze({ kind: 'committed' });

/** Per-message outcomes of a commit with rejections (null when nothing was rejected: all committed). */
export function messageOutcomes(rejections: Rejections | null, messages: number): MessageOutcome[] | null {
  if (!rejections) return null;
  const out: MessageOutcome[] = new Array(messages);
  if (rejections.countsOnly) {
    const counts: MessageOutcome = Object.freeze({ kind: 'countsOnly', rejected: rejections.total });
    out.fill(counts);
    return out;
  }
  for (let i = 0; i < messages; i++) {
    const rows = rejections.byMessage[i];
    out[i] = rows ? { kind: 'rowsRejected', rows } : COMMITTED;
  }
  return out;
}

/**
 * MaxErrorRows to ask for at Close: every rejected row of a commit of `rows` rows, but at most
 * MAX_ERROR_ROWS entries so that the Close response stays far below gRPC's 4 MiB default
 * receive limit (gpss-pg caps each reason at MAX_REASON_CHARS). A commit with more rejected
 * rows than that is reported by counts.
 */
export function errorRowsToAsk(rows: number): number {
  return Math.max(1, Math.min(rows, MAX_ERROR_ROWS));
}
export const MAX_ERROR_ROWS = 5000;
/** Longest reason gpss-pg puts in an ErrorRows entry (longer ones end in "…"). */
export const MAX_REASON_CHARS = 300;
