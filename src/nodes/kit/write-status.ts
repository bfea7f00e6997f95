// The status of a writing node (gpss-write's stream mode), composed from its progress. Pure:
// unit-tested without Node-RED. In order: the last error; rows held longer than the commit
// interval (+3 s) with no commit — "waiting for the database", not a healthy stream; rows held —
// the rate over a short window and the held rows; else the rows committed so far. Rows the
// server rejected add a suffix (and turn a committed status yellow).
import type { NodeStatus } from 'node-red';
import { errorStatus } from './errors';
import { shortCount } from './status';

type Translate = (key: string, vars?: Record<string, string | number>) => string;

export interface WriteProgress {
  /** The last failure (a retry in progress is prefixed "retrying: "); '' after a commit. */
  lastError: string;
  heldRows: number;
  /** How long the oldest held rows have waited for a commit. */
  waitingMs: number;
  commitIntervalMs: number;
  committedRows: number;
  rejectedRows: number;
  /** Committed rows per second (read only when rows are held: it prunes its window). */
  ratePerSecond(): number;
}

/** The status to show, or null to leave it as it is (nothing written yet). */
export function writeStatus(p: WriteProgress, t: Translate): NodeStatus | null {
  const held = shortCount(p.heldRows);
  const rejected = p.rejectedRows > 0 ? t('status.rejected', { count: shortCount(p.rejectedRows) }) : '';
  if (p.lastError) return errorStatus(p.lastError);
  if (p.waitingMs > p.commitIntervalMs + 3000) return { fill: 'yellow', shape: 'ring', text: t('status.waiting', { seconds: Math.round(p.waitingMs / 1000), held }) + rejected };
  if (p.heldRows > 0) return { fill: 'blue', shape: 'dot', text: t('status.writing', { rate: shortCount(p.ratePerSecond()), held }) + rejected };
  if (p.committedRows > 0) return { fill: rejected ? 'yellow' : 'green', shape: 'dot', text: t('status.committed', { count: shortCount(p.committedRows) }) + rejected };
  return null;
}
