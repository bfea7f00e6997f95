// Running a query whose result is wanted whole: one statement or a script of several (without
// parameters node-postgres sends the text as one simple query, so DDL scripts work).
import type { PoolClient, QueryResult } from 'pg';
import type { BoundQuery } from './parameters';
import { queryInputError } from './parameters';

export type Row = Record<string, unknown>;

/** What a statement did: its command tag and count, as PostgreSQL reports them. */
export interface StatementOutcome {
  /** "SELECT", "INSERT", "CREATE", … */
  command: string;
  /** Rows returned or affected; null for commands without a count (DDL). */
  rowCount: number | null;
}

export interface StatementResult extends StatementOutcome {
  /** The rows of the (last) statement. */
  rows: Row[];
  /** A script: every statement's outcome and rows, in order (absent for a single statement). */
  statements?: Array<StatementOutcome & { rows: Row[] }>;
}

/**
 * Runs `q` on `client`. A script that leaves a transaction open (BEGIN without COMMIT) is
 * refused: its pooled connection would carry the transaction to whatever runs on it next.
 */
export async function runStatement(client: PoolClient, q: BoundQuery): Promise<StatementResult> {
  const raw = (await client.query(q.text, q.values)) as QueryResult | QueryResult[];
  if (client.getTransactionStatus() !== 'I') {
    await client.query('ROLLBACK');
    throw queryInputError('msg.query', 'the query left a transaction open (BEGIN without COMMIT or ROLLBACK); it was rolled back: each message runs on any pooled connection, so a transaction must end within its query');
  }
  const results = Array.isArray(raw) ? raw : [raw];
  const last = results[results.length - 1];
  const out: StatementResult = { command: last.command, rowCount: last.rowCount ?? null, rows: last.rows };
  if (results.length > 1) out.statements = results.map((r) => ({ command: r.command, rowCount: r.rowCount ?? null, rows: r.rows }));
  return out;
}
