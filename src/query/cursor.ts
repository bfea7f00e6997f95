// Reading a large result in batches through a server-side cursor (DECLARE … CURSOR FOR in a
// transaction, then FETCH FORWARD n), so that memory holds at most about two batches whatever the
// result's size: the one being sent and the next one read ahead. One row more than a batch is
// read ahead, so the last batch is known to be the last when it is sent.
import type { PoolClient } from 'pg';
import type { BoundQuery } from './parameters';
import { queryInputError } from './parameters';
import { scanSql } from './sql-text';
import type { Row } from './statement';

/** The statements a cursor can be declared for (PostgreSQL and Greenplum). */
const CURSOR_KEYWORDS = new Set(['SELECT', 'VALUES', 'TABLE', 'WITH']);
const CURSOR_NAME = 'gpflow_query_cursor';

/** The query text a cursor can be declared for, or a queryInputError saying why not. */
export function cursorQueryText(q: BoundQuery): string {
  const statements = scanSql(q.text).statements;
  if (statements.length !== 1) {
    throw queryInputError('msg.query', `batches are read through a cursor, which takes one statement; this query has ${statements.length}`);
  }
  const s = statements[0];
  if (!CURSOR_KEYWORDS.has(s.keyword)) {
    throw queryInputError(
      'msg.query',
      `batches are read through a cursor (DECLARE … CURSOR FOR), which takes a SELECT, VALUES, TABLE or WITH … SELECT; this query starts with ${s.keyword || JSON.stringify(q.text.slice(s.start, s.start + 20).trim())}: run it with the output "all rows in one message"`,
    );
  }
  // Without the ";" that ended it: DECLARE takes exactly one query.
  return q.text.slice(0, s.end);
}

export interface Batch {
  rows: Row[];
  /** No row follows this batch. */
  last: boolean;
}

/** A cursor over one query on one connection: open(), next() until last, then close(). */
class CursorReader {
  private carry: Row[] = [];
  private exhausted = false;
  private opened = false;

  constructor(
    private readonly client: PoolClient,
    readonly batchSize: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }

  async open(q: BoundQuery): Promise<void> {
    const text = cursorQueryText(q);
    await this.client.query('BEGIN');
    this.opened = true;
    await this.client.query(`DECLARE ${CURSOR_NAME} NO SCROLL CURSOR FOR ${text}`, q.values);
  }

  /** The next batch: batchSize rows (fewer only in the last one, which may be empty). */
  async next(): Promise<Batch> {
    const want = this.batchSize + 1 - this.carry.length;
    let fetched: Row[] = [];
    if (!this.exhausted) {
      fetched = (await this.client.query(`FETCH FORWARD ${want} FROM ${CURSOR_NAME}`)).rows as Row[];
      if (fetched.length < want) this.exhausted = true;
    }
    const rows = this.carry.length ? this.carry.concat(fetched) : fetched;
    if (rows.length > this.batchSize) {
      this.carry = rows.splice(this.batchSize);
      return { rows, last: false };
    }
    this.carry = [];
    return { rows, last: true };
  }

  /** Ends the cursor's transaction: COMMIT after the last batch, ROLLBACK when given up. */
  async close(completed: boolean): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.carry = [];
    await this.client.query(completed ? 'COMMIT' : 'ROLLBACK');
  }
}

export interface BatchSink {
  /** Resolves when the flow may take the next batch (the first one too); rejects to stop. */
  turn(): Promise<void>;
  /** One batch; `total` counts the rows sent so far, this batch included. */
  send(batch: Batch, index: number, total: number): void;
}

/**
 * Reads `q` through a cursor on `client` and hands the batches to `sink` at its pace: each batch
 * is read ahead while the previous one is out, and sent when sink.turn() resolves. The cursor is
 * closed in every case (COMMIT after the last batch; ROLLBACK on an error or when turn() rejects).
 */
export async function readInBatches(client: PoolClient, q: BoundQuery, batchSize: number, sink: BatchSink): Promise<{ batches: number; rows: number }> {
  const reader = new CursorReader(client, batchSize);
  let index = 0;
  let total = 0;
  try {
    await reader.open(q);
    for (;;) {
      const batch = await reader.next();
      await sink.turn();
      total += batch.rows.length;
      sink.send(batch, index++, total);
      if (batch.last) break;
    }
  } catch (err) {
    // The connection's transaction state is settled by withSession if this ROLLBACK fails.
    await reader.close(false).catch(() => undefined);
    throw err;
  }
  await reader.close(true);
  return { batches: index, rows: total };
}
