/**
 * Client-mode import: objects (by keys or under a prefix) downloaded (`parallel` ahead),
 * gunzipped when they start with the gzip magic, and streamed into `COPY table FROM STDIN`,
 * one COPY per object, all in ONE transaction that is rolled back on any failure.
 */
import type { ClientBase } from 'pg';
import type { FormatOptions } from './format';
import type { OssClientLike } from './oss-client';
import type { RetryOptions } from './retry';
import type { TransferProgress, TransferStats } from './export';
import type { ParsedRow } from './codec';

export interface ImportOptions {
  pgClient: ClientBase;
  /** Target table: plain name or { schema, table }. */
  table: string | { schema?: string; table: string };
  /** Columns in file order; default all columns of the table. */
  columns?: readonly string[];
  format: FormatOptions;
  oss: OssClientLike;
  /** Explicit keys (imported in this order); or `prefix` (all objects under it, key order). */
  keys?: readonly string[];
  prefix?: string;
  /** Objects downloading at once. Default 2. */
  parallel?: number;
  retry?: RetryOptions;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /** Run BEGIN/COMMIT here (default true). false: the caller manages the transaction. */
  transaction?: boolean;
}

export declare function importFromOss(options: ImportOptions): Promise<TransferStats>;

export interface ReadRowsOptions {
  oss: OssClientLike;
  format: FormatOptions;
  keys?: readonly string[];
  prefix?: string;
  /** Rows per yielded batch. Default 1000. */
  batchSize?: number;
  parallel?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
}

/** oss-import's messages mode: batches of parsed rows, every row exactly once, object by object. */
export declare function readRowsFromOss(options: ReadRowsOptions): AsyncGenerator<{ key: string; rows: ParsedRow[] }>;
