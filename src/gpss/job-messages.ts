// Job mode's messages: each message's payload encoded with its job's row encoder (made once per
// job from the columns the job was opened with) and written into the job, in arrival order —
// at once, or behind a large payload that is being encoded in slices (src/shared/slices.ts).
// And what a closed job says about its rows, for a message and a log line.
import { OrderedLane } from '../shared/slices';
import type { TransferStats } from './client';
import { parseErrorRow, type ErrorRowEntry } from './error-rows';
import type { LoadJob } from './load-job';
import { encodePayload, encodePayloadInSlices, needsSlices, type EncodedRows, type RowEncoderLike } from './payload-rows';
import { createRowEncoder, type RowEncoderOptions } from './value-mapping';

export class JobMessages {
  private readonly encoders = new WeakMap<LoadJob, RowEncoderLike>();
  private readonly lanes = new WeakMap<LoadJob, OrderedLane>();

  constructor(private readonly encoderOptions: RowEncoderOptions = {}) {}

  /**
   * Encodes `payload` and writes its rows into `job`; `settled` is called once: with null and
   * the number of rows when they were written, else with the error (a payload that cannot be
   * encoded, a failed job). Never throws.
   */
  write(job: LoadJob, payload: unknown, settled: (err: unknown, rows: number) => void): void {
    let encoder = this.encoders.get(job);
    if (!encoder) {
      try {
        encoder = createRowEncoder(job.columns, this.encoderOptions);
      } catch (err) {
        settled(err, 0);
        return;
      }
      this.encoders.set(job, encoder);
    }
    const lane = this.lanes.get(job);
    if ((!lane || lane.idle) && !needsSlices(payload)) {
      encodeAndWrite(job, payload, encoder, settled);
      return;
    }
    // A large payload is encoded in slices; later messages of the job queue behind it.
    let ordered = lane;
    if (!ordered) {
      ordered = new OrderedLane();
      this.lanes.set(job, ordered);
    }
    const enc = encoder;
    ordered.run(() => {
      // A small payload behind a large one: encoded in its turn at once (no promise).
      if (!needsSlices(payload)) {
        encodeAndWrite(job, payload, enc, settled);
        return;
      }
      return (async () => {
        let encoded: EncodedRows;
        try {
          encoded = await encodePayloadInSlices(payload, enc);
        } catch (err) {
          settled(err, 0);
          return;
        }
        writeRows(job, encoded, settled);
      })();
    });
  }
}

/** Encodes a small payload now and writes its rows into the job. */
function encodeAndWrite(job: LoadJob, payload: unknown, encoder: RowEncoderLike, settled: (err: unknown, rows: number) => void): void {
  let encoded: EncodedRows;
  try {
    encoded = encodePayload(payload, encoder);
  } catch (err) {
    settled(err, 0);
    return;
  }
  writeRows(job, encoded, settled);
}

function writeRows(job: LoadJob, { rows, bytes }: EncodedRows, settled: (err: unknown, rows: number) => void): void {
  job.write(rows, bytes).then(
    () => settled(null, rows.length),
    (err: unknown) => settled(err, 0),
  );
}

/** A closed job's outcome as a message carries it: the counts and the named rejected rows. */
export interface JobOutcome {
  successCount: number;
  errorCount: number;
  errorRows: ErrorRowEntry[];
}

export function jobOutcome(stats: TransferStats): JobOutcome {
  return { successCount: stats.successCount, errorCount: stats.errorCount, errorRows: stats.errorRows.map(parseErrorRow) };
}

/**
 * "the server rejected 3 (under the error limit): row 5: …; row 9: …" — the first few named rows,
 * and how many were not named (with the hint to ask for them when none were asked).
 */
export function describeJobRejections(outcome: JobOutcome, maxErrorRowsAsked: number): string {
  const { errorCount, errorRows } = outcome;
  const shown = errorRows.slice(0, 3).map((e) => (e.row === null ? e.reason : `row ${e.row}: ${e.reason}`));
  const unnamed = errorCount - errorRows.length;
  return (
    `the server rejected ${errorCount} (under the error limit)` +
    (shown.length ? `: ${shown.join('; ')}${errorRows.length > shown.length ? '; …' : ''}` : '') +
    (unnamed > 0 ? ` (${unnamed} not named${maxErrorRowsAsked === 0 ? ': set "max error rows" to list them in msg.payload.errorRows' : ''})` : '')
  );
}
