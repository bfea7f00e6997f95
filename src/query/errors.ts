// The text of a failed query for a Catch node: the server's message with what helps to fix it
// (SQLSTATE, the line the error cursor points at, DETAIL and HINT). The SQLSTATE itself also
// travels in the error's `cause` (src/shared/error-details.ts); this is only the readable part.
import { sqlStateOf } from '../shared/error-details';

interface PgErrorFields {
  position?: unknown;
  detail?: unknown;
  hint?: unknown;
}

/** Line (1-based) of the character at `position` (1-based, in characters as PostgreSQL counts). */
export function lineAt(text: string, position: number): number {
  const chars = Array.from(text).slice(0, Math.max(0, position - 1));
  let line = 1;
  for (const c of chars) if (c === '\n') line++;
  return line;
}

/** "syntax error at or near "SELEC" (SQLSTATE 42601, line 2)" and the server's DETAIL/HINT. */
export function describeQueryError(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const f = (err && typeof err === 'object' ? err : {}) as PgErrorFields;
  const notes: string[] = [];
  const state = sqlStateOf(err);
  if (state) notes.push(`SQLSTATE ${state}`);
  const position = Number(f.position);
  if (Number.isInteger(position) && position > 0 && text.includes('\n')) notes.push(`line ${lineAt(text, position)}`);
  let out = notes.length ? `${message} (${notes.join(', ')})` : message;
  if (typeof f.detail === 'string' && f.detail) out += `; ${f.detail}`;
  if (typeof f.hint === 'string' && f.hint) out += `; hint: ${f.hint}`;
  return out;
}

/**
 * A failed query as reported: the described text (`describeQueryError`), after `prefix` when
 * given, and the SQLSTATE as `code` and `sqlState` for whoever shapes it for a Catch node.
 */
export class QueryError extends Error {
  readonly sqlState?: string;
  readonly code?: string;
  constructor(err: unknown, text: string, prefix?: string) {
    const described = describeQueryError(err, text);
    super(prefix ? `${prefix}: ${described}` : described);
    this.name = 'QueryError';
    const state = sqlStateOf(err);
    if (state) {
      this.sqlState = state;
      this.code = state;
    }
  }
}
