// A message's encoded rows as one run of bytes: what stream mode holds per message until its
// commit. A Buffer view per row (~100 bytes of heap each, plus the array holding them) was a
// third of what every held row cost, and held rows are what each young-generation collection
// copies while messages wait for their commit; here a message holds one small object, its rows'
// end offsets (off the JS heap for more than 16 rows) and a reference to bytes it shares with
// the messages encoded before and after it. A commit reads the runs through RowRuns (below);
// views are made only where a list is needed (collapsing rows by key in Merge/Update).

/** No row ends: a message of one row ends at `end`. */
export class PackedRows {
  constructor(
    /** The bytes (usually a shared encoding slab: never written again below its fill mark). */
    readonly buf: Buffer,
    /** Where the first row starts in `buf`. */
    readonly start: number,
    /** Where the last row ends in `buf`. */
    readonly end: number,
    /** Row i ends at start + ends[i]; null for exactly one row ([start, end)). */
    readonly ends: Uint32Array | null,
  ) {}

  /** Number of rows. */
  get length(): number {
    return this.ends === null ? 1 : this.ends.length;
  }

  /** Bytes of all the rows (without framing). */
  get byteLength(): number {
    return this.end - this.start;
  }

  /** Row i as a view (made on demand: only a commit needs them). */
  at(i: number): Buffer {
    const ends = this.ends;
    if (ends === null) return this.buf.subarray(this.start, this.end);
    return this.buf.subarray(this.start + (i === 0 ? 0 : ends[i - 1]), this.start + ends[i]);
  }

  /** Writes views of the rows into out[k…]; returns the index after the last one. */
  appendTo(out: Uint8Array[], k: number): number {
    const { buf, start, ends } = this;
    if (ends === null) {
      out[k++] = buf.subarray(start, this.end);
      return k;
    }
    let from = start;
    for (let i = 0; i < ends.length; i++) {
      const to = start + ends[i];
      out[k++] = buf.subarray(from, to);
      from = to;
    }
    return k;
  }

  toArray(): Buffer[] {
    const out: Buffer[] = new Array(this.length);
    this.appendTo(out, 0);
    return out;
  }

  /** The rows of several runs as one (copied into one Buffer), in order. */
  static concat(parts: readonly PackedRows[]): PackedRows {
    if (parts.length === 1) return parts[0];
    let rows = 0;
    let bytes = 0;
    for (const p of parts) {
      rows += p.length;
      bytes += p.byteLength;
    }
    const buf = Buffer.allocUnsafeSlow(bytes);
    const ends = new Uint32Array(rows);
    let pos = 0;
    let r = 0;
    for (const p of parts) {
      p.buf.copy(buf, pos, p.start, p.end);
      if (p.ends === null) ends[r++] = pos + p.byteLength;
      else for (let i = 0; i < p.ends.length; i++) ends[r++] = pos + p.ends[i];
      pos += p.byteLength;
    }
    return new PackedRows(buf, 0, bytes, rows === 1 ? null : ends);
  }
}

/**
 * A commit's rows: its messages' packed runs read as one list, in order, without copying them
 * and without a view per row. Views of a 100,000-row commit (~100 bytes of heap each) lived as
 * long as the commit did, were promoted to the old generation with it, and were a quarter of
 * what a bulk load promoted per row: V8 then grew the heap to match. The Writes are cut and
 * serialized straight from the runs through the cursor below (write-request.ts).
 */
export class RowRuns {
  /** Number of rows in all the runs. */
  readonly length: number;
  /** The row at the cursor, after load(): its bytes are buf[start, end). */
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  // Cursor: row `at` of the whole list is row `inRun` of runs[run]. Writes read the rows in
  // order, so each seek is short; a retry of the commit starts again from row 0.
  private run = 0;
  private inRun = 0;
  private at = 0;
  // Where the last seek landed: a Write is sized (nextWriteEnd) and then serialized from the
  // same row, so the second seek goes back here instead of walking the runs from row 0.
  private markRun = 0;
  private markInRun = 0;
  private markAt = 0;

  constructor(readonly runs: readonly PackedRows[]) {
    let n = 0;
    for (let i = 0; i < runs.length; i++) n += runs[i].length;
    this.length = n;
  }

  /** Moves the cursor to row i (0 ≤ i ≤ length). */
  seek(i: number): void {
    if (i < this.at) {
      const fromMark = i >= this.markAt;
      this.run = fromMark ? this.markRun : 0;
      this.inRun = fromMark ? this.markInRun : 0;
      this.at = fromMark ? this.markAt : 0;
    }
    while (this.at < i) {
      const left = this.runs[this.run].length - this.inRun;
      if (i - this.at < left) {
        this.inRun += i - this.at;
        this.at = i;
      } else {
        this.at += left;
        this.run++;
        this.inRun = 0;
      }
    }
    this.markRun = this.run;
    this.markInRun = this.inRun;
    this.markAt = this.at;
  }

  /** Sets buf/start/end to the row at the cursor (which must be < length); does not move. */
  load(): void {
    let r = this.runs[this.run];
    while (this.inRun >= r.length) {
      // An empty run (or the end of one): the row is the next run's first.
      r = this.runs[++this.run];
      this.inRun = 0;
    }
    const ends = r.ends;
    this.buf = r.buf;
    if (ends === null) {
      this.start = r.start;
      this.end = r.end;
    } else {
      this.start = r.start + (this.inRun === 0 ? 0 : ends[this.inRun - 1]);
      this.end = r.start + ends[this.inRun];
    }
  }

  /** Moves the cursor past the row load() read. */
  advance(): void {
    this.inRun++;
    this.at++;
  }

  /** The rows as views (tests, and the paths that need a list). */
  toArray(): Buffer[] {
    const out: Buffer[] = new Array(this.length);
    let k = 0;
    for (const r of this.runs) k = r.appendTo(out, k);
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
