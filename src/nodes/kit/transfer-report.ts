// How a transfer (an export or import of objects) reports through its node: progress as bytes,
// rows and MB/s, kept short as the status guideline asks (the status itself is throttled by
// ThrottledStatus, status.ts), the final state from the transfer's totals, and the library's
// log lines into the node's log.
import type { Node, NodeStatus } from 'node-red';
import { redactSecrets } from '../../shared/redact';
import { shortCount } from './status';

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

/** "12.3 MB 45.6k rows 9.8 MB/s" — short, as the status guideline asks. */
export function progressText(c: ProgressCounters, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? c.bytes / 1048576 / (elapsedMs / 1000) : 0;
  return `${formatBytes(c.bytes)} ${shortCount(c.rows)} rows ${rate.toFixed(1)} MB/s`;
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
  const text = t('status.done', { objects: s.objects, rows: shortCount(s.rows), bytes: formatBytes(s.bytes) })
    + (s.rejected ? ' ' + t('status.rejected', { count: shortCount(s.rejected) }) : '');
  if (s.warnings?.length) return { fill: 'yellow', shape: 'dot', text: `${text}; ${t('status.dropFailed')}` };
  return { fill: s.rejected ? 'yellow' : 'green', shape: 'dot', text };
}

/**
 * Where a library transfer logs (src/oss TransferLog): the node's log, debug and warnings
 * (prefixed with the node's type), and the one redaction with the node's secrets.
 */
export function transferLog(node: Pick<Node, 'type' | 'log' | 'debug' | 'warn'>, secrets: () => readonly string[]) {
  return {
    info: (text: string) => node.log(text),
    debug: (text: string) => node.debug(`${node.type}: ${text}`),
    warn: (text: string) => node.warn(`${node.type}: ${text}`),
    redact: (text: string) => redactSecrets(text, secrets()),
  };
}
