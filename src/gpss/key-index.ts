// Upserts that behave the same on every server, in job mode (DESIGN §3 "Delivery guarantee").
// A Merge or Update job is one transaction on the server, and rows with the same match key in
// one transaction make Greenplum fail the load ("multiple updates to a row by the same query is
// not allowed") or update with an arbitrary one of them (gpss-pg keeps the last). Stream mode
// collapses each commit before writing it (collapse.ts); a job cannot: its rows are written as
// the messages arrive, and holding the whole job to collapse it would drop the memory bound.
// So, per job:
// - within one message, rows collapse by key, the last one winning (as a stream commit does);
// - across messages, the job remembers a 64-bit fingerprint of every key it has accepted, and a
//   message holding a key accepted earlier is refused whole (RepeatedKeyError, to Catch; none
//   of its rows is written; the other messages are unaffected);
// - the fingerprints are bounded: `limit` keys in an open-addressing table of uint32 pairs whose
//   size is a power of two at most half full (16 to 32 bytes per key of the limit: 32 MiB for
//   the default 2,000,000, 48 MiB for a moment while it doubles). Past the limit the check
//   stops for the rest of the job, and says so once (`stopped`).
//
// Fingerprints, not keys: keys can be long and there can be millions of them. Two different
// keys with the same fingerprint would refuse a message whose key is new (never the reverse: a
// repeated key always has the same fingerprint). The fingerprint is SipHash-2-4 under a random
// key per job, so for any data the chance of that is at most n²/2^65 for n keys in a job:
// 1.1·10⁻⁷ for a job of 2,000,000 keys, and a retry in a new job draws a new hash key.
// Pure but for that random key; unit-tested.
import { randomBytes } from 'node:crypto';
import { markRepeats, type KeyOf } from './collapse';
import { FingerprintSet } from './fingerprint-set';
import { describeKey } from './key-text';
import { sipHash24, sipKey, sipOut, type SipKey } from './siphash';

/** Keys a job remembers by default before the repeated-key check stops. */
export const DEFAULT_JOB_KEY_LIMIT = 2_000_000;
/** The most a job may be given (1.6 GB of fingerprints would be far past any buffer limit). */
export const MAX_JOB_KEY_LIMIT = 100_000_000;

/** A message holds a match key an earlier message of the same job already wrote. */
export class RepeatedKeyError extends Error {
  readonly code = 'KEY_ALREADY_WRITTEN';
  constructor(
    /** The key as PostgreSQL words it: `(id)=(5)`. */
    readonly key: string,
    /** Rows of the message whose key was written before (zero-based, in the message). */
    readonly rows: number[],
  ) {
    super(
      `key ${key} was already written in this job; Merge/Update in job mode updates a key once per job — ` +
        `commit in between (gpss-close, then a new gpss-connect) or use stream mode. ` +
        `No row of this message was written` +
        (rows.length > 1 ? ` (${rows.length} of its rows repeat keys of earlier messages)` : ''),
    );
    this.name = 'RepeatedKeyError';
  }
}

/** What admit() accepted: the rows to write, and record() to call once they are queued. */
export interface AdmittedRows<T extends Uint8Array> {
  rows: readonly T[];
  /** Rows dropped because a later row of the same message had the same key. */
  collapsed: number;
  /** Remembers the rows' keys (call only when the rows were accepted for writing). */
  record(): void;
}

export interface JobKeyIndexOptions {
  /** The match key of an encoded row (collapse.ts's rowKeyReader), null for none. */
  keyOf: KeyOf;
  /** The match column names, for the error text. */
  matchColumns: readonly string[];
  /** Keys to remember; past it the check stops (see stopped). */
  limit: number;
  /** Called once, when the limit is reached, with the text to log. */
  stopped?: (message: string) => void;
  /** The hash key (16 bytes): random per job unless a test fixes it. */
  hashKey?: Uint8Array;
}

/** The repeated-key check of one Merge/Update load job. */
export class JobKeyIndex {
  private readonly hashKey: SipKey;
  private set: FingerprintSet | null = new FingerprintSet();
  // Scratch for one message's fingerprints (hi, lo pairs), reused.
  private scratch = new Uint32Array(64);
  private admits = 0;

  constructor(private readonly options: JobKeyIndexOptions) {
    this.hashKey = sipKey(options.hashKey ?? randomBytes(16));
    if (options.limit <= 0) this.stop();
  }

  /** Keys remembered so far. */
  get keys(): number {
    return this.set ? this.set.size : this.options.limit;
  }

  /** False once the limit was reached: later rows are not checked. */
  get checking(): boolean {
    return this.set !== null;
  }

  /** Bytes of fingerprints held. */
  get bytes(): number {
    return this.set ? this.set.bytes : 0;
  }

  /**
   * The rows of one message: collapsed by key (the last row of a key wins), then checked
   * against the keys of earlier messages. Throws RepeatedKeyError when one repeats.
   */
  admit<T extends Uint8Array>(rows: readonly T[]): AdmittedRows<T> {
    // Each row's key once: for the collapse (exact keys) and for the fingerprints.
    let keys = rows.map(this.options.keyOf);
    let kept: readonly T[] = rows;
    let collapsed = 0;
    const repeats = rows.length > 1 ? markRepeats(keys, new Set()) : null;
    if (repeats) {
      const keptRows: T[] = [];
      const keptKeys: (string | null)[] = [];
      for (let r = 0; r < rows.length; r++) {
        if (repeats.marks[r]) continue;
        keptRows.push(rows[r]);
        keptKeys.push(keys[r]);
      }
      kept = keptRows;
      keys = keptKeys;
      collapsed = repeats.count;
    }
    const set = this.set;
    if (!set) return { rows: kept, collapsed, record: () => undefined };
    if (this.scratch.length < kept.length * 2) this.scratch = new Uint32Array(kept.length * 2);
    const fp = this.scratch;
    let n = 0;
    let repeated: number[] | null = null;
    let firstKey: string | null = null;
    for (let r = 0; r < kept.length; r++) {
      const key = keys[r];
      if (key === null) continue; // a NULL key matches nothing: never an update of one row
      sipHash24(this.hashKey, key);
      if (set.has(sipOut.hi, sipOut.lo)) {
        if (!repeated) {
          repeated = [];
          firstKey = key;
        }
        repeated.push(r);
        continue;
      }
      fp[2 * n] = sipOut.hi;
      fp[2 * n + 1] = sipOut.lo;
      n++;
    }
    if (repeated) {
      throw new RepeatedKeyError(describeKey(firstKey!, this.options.matchColumns), originalIndexes(rows, kept, repeated));
    }
    const admitted = ++this.admits;
    return { rows: kept, collapsed, record: () => this.record(admitted, n) };
  }

  private record(admitted: number, n: number): void {
    // The fingerprints wait in the scratch: record() must follow its admit() before the next.
    if (admitted !== this.admits) throw new Error('JobKeyIndex: record() after another admit()');
    const set = this.set;
    if (!set) return;
    const fp = this.scratch;
    for (let k = 0; k < n; k++) {
      if (set.size >= this.options.limit) {
        this.stop();
        return;
      }
      set.add(fp[2 * k], fp[2 * k + 1]);
    }
  }

  private stop(): void {
    if (!this.set) return;
    this.set = null;
    this.scratch = new Uint32Array(0);
    this.options.stopped?.(
      `the check for repeated Merge/Update keys stopped at ${this.options.limit} keys (the job's key limit); ` +
        `later rows of this job are written unchecked, and a key written twice in it is then up to the server ` +
        `(gpss-pg keeps the last row; Greenplum may fail the commit or keep either row). ` +
        `Commit in smaller jobs, or raise the key limit of gpss-connect`,
    );
  }
}

/** Maps indexes into `kept` (a subsequence of `rows`) back to indexes into `rows`. */
function originalIndexes<T>(rows: readonly T[], kept: readonly T[], at: number[]): number[] {
  if (kept === rows) return at;
  const out: number[] = [];
  let r = 0;
  for (const k of at) {
    while (rows[r] !== kept[k]) r++;
    out.push(r);
  }
  return out;
}
