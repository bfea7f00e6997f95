// The status of a transfer (an export or import of objects): progress as bytes, rows and MB/s,
// kept short as the status guideline asks (the status itself is throttled by ThrottledStatus,
// status.ts), and the final state from the transfer's totals.
import type { NodeStatus } from 'node-red';

export interface ProgressCounters {
  bytes: number; // bytes moved so far (uncompressed side)
  rows: number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1048576).toFixed(1)} MB`;
  return `${(n / 1073741824).toFixed(2)} GB`;
}

export function formatCount(n: number): string {
  if (n < 10000) return String(n);
  if (n < 1e6) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(2)}M`;
}

/** "12.3 MB 45.6k rows 9.8 MB/s" — short, as the status guideline asks. */
export function progressText(c: ProgressCounters, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? c.bytes / 1048576 / (elapsedMs / 1000) : 0;
  return `${formatBytes(c.bytes)} ${formatCount(c.rows)} rows ${rate.toFixed(1)} MB/s`;
}

/** A blue dot with the progress since `startedAt`. */
export function progressStatus(c: ProgressCounters, startedAt: number, label = ''): NodeStatus {
  return { fill: 'blue', shape: 'dot', text: `${label}${progressText(c, Date.now() - startedAt)}` };
}

/** What a transfer moved, for its final status. */
export interface TransferTotals {
  objects: number;
  rows: number;
  bytes: number;
  /** Problems that did not fail it (a failed cleanup): yellow, with the `status.dropFailed` text. */
  warnings?: readonly string[];
  /** Rows skipped under a reject limit: yellow, with the `status.rejected` text. */
  rejected?: number;
}

/**
 * The final status of a transfer from the node's locale texts `status.done` ({objects, rows,
 * bytes}), `status.rejected` ({count}) and `status.dropFailed`.
 */
export function transferDoneStatus(t: (key: string, vars?: Record<string, string | number>) => string, s: TransferTotals): NodeStatus {
  const text = t('status.done', { objects: s.objects, rows: formatCount(s.rows), bytes: formatBytes(s.bytes) })
    + (s.rejected ? ' ' + t('status.rejected', { count: formatCount(s.rejected) }) : '');
  if (s.warnings?.length) return { fill: 'yellow', shape: 'dot', text: `${text}; ${t('status.dropFailed')}` };
  return { fill: s.rejected ? 'yellow' : 'green', shape: 'dot', text };
}
