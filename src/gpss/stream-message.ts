// One flow message in stream mode (gpss-write): its rows go into a stream target, and it is
// settled by the commit that holds them — passed on, or failed with the rows the server rejected
// named. Knows no Node-RED: it needs only a way to send the message on and its done callback.
import { describeRejected, type MessageOutcome, type RejectedRow } from './error-rows';
import type { StreamMessage } from './stream-target';
import type { StreamEntry } from './stream-writer';
import type { PackedRows } from './packed-rows';

/** The parts of a flow message stream and job mode read and write (a Node-RED message fits). */
export interface GpssFlowMessage {
  payload?: unknown;
  gpss?: { job?: unknown } & Record<string, unknown>;
}

/** What passes a settled message on (a Node-RED node fits: node.send). */
export interface MessageSender<M> {
  send(msg: M): void;
}

/** Some rows of the message were rejected by the server; the rest of its commit is in the table. */
export class RowsRejectedError extends Error {
  readonly code = 'ROWS_REJECTED';
  constructor(readonly rows: RejectedRow[]) {
    super(`gpss-write: ${describeRejected(rows)}`);
    this.name = 'RowsRejectedError';
  }
}

/** msg.gpss, created when the message has none. */
export function gpssOf(msg: GpssFlowMessage): Record<string, unknown> {
  if (typeof msg.gpss !== 'object' || msg.gpss === null) msg.gpss = {};
  return msg.gpss;
}

/** One message in stream mode, settled by its commit (a class, not closures: one allocation per message). */
const NO_ROWS: Buffer[] = [];

export class MessageEntry<Msg extends GpssFlowMessage = GpssFlowMessage> implements StreamMessage, StreamEntry {
  rows: PackedRows | Buffer[] = NO_ROWS; // its encoded rows (packed), set by entry()
  bytes = 0;
  constructor(
    private readonly msg: Msg,
    // The node, not the per-message send closure Node-RED made (it does exactly node.send(msg)):
    // held messages then keep one object fewer alive until their commit.
    private readonly node: MessageSender<Msg>,
    private readonly done: (err?: Error) => void,
  ) {}
  get payload(): unknown {
    return this.msg.payload;
  }
  entry(rows: PackedRows, bytes: number): StreamEntry {
    this.rows = rows;
    this.bytes = bytes;
    return this;
  }
  empty(): void {
    this.node.send(this.msg);
    this.done();
  }
  failed(err: Error): void {
    this.done(err);
  }
  ack(_stats: unknown, outcome: MessageOutcome): void {
    if (outcome.kind === 'rowsRejected') {
      // The message's other rows are committed: it goes to Catch, not on, naming its rejected rows.
      gpssOf(this.msg).rejectedRows = outcome.rows;
      this.done(new RowsRejectedError(outcome.rows));
      return;
    }
    if (outcome.kind === 'countsOnly') gpssOf(this.msg).rejected = outcome.rejected;
    this.node.send(this.msg);
    this.done();
  }
  fail(err: Error): void {
    this.done(err);
  }
}
