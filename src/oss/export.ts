/**
 * Client-mode export: `COPY (query) TO STDOUT` → (row boundaries, header/newline handling) →
 * parallel gzip → multipart upload, rolling over to a new object at `rolloverBytes` of
 * uncompressed data, always on a row boundary. Also `ObjectRollingWriter` for rows that arrive
 * as messages (oss-export's messages mode).
 */
import type { ClientBase } from 'pg';
import type { FormatOptions } from './format';
import type { OssClientLike } from './oss-client';
import type { UploadOptions } from './multipart-upload';
import type { CodecValue } from './codec';
import type { GzipPool } from './parallel-gzip';

export interface TransferProgress {
  rows: number;
  bytesIn: number;
  bytesOut: number;
  objects: number;
  ms: number;
}

export interface TransferStats {
  objects: Array<{ key: string; bytes: number; rows: number }>;
  rows: number;
  /** export: uncompressed bytes read from the database; import: bytes downloaded */
  bytesIn: number;
  /** export: bytes uploaded; import: uncompressed bytes fed to COPY */
  bytesOut: number;
  ms: number;
}

export interface ObjectWriterOptions {
  oss: OssClientLike;
  /** Key prefix, e.g. `exports/sales/` (used as is). */
  prefix: string;
  /** Name stem of the objects (`<prefix><name>_<ts>_<seq>.<ext>[.gz]`). */
  name: string;
  format: FormatOptions;
  /** 0 = no compression, 1–9 = gzip level. Default 1 (spec §5.2). */
  gzipLevel?: number;
  /** Uncompressed bytes per object before rolling over. Default 256 MiB. */
  rolloverBytes?: number;
  /** Column names, written as a header line in every object when `format.header`. */
  columns?: readonly string[];
  upload?: Omit<UploadOptions, 'signal' | 'onProgress' | 'mime'>;
  /** Gzip worker pool to share; default: one private pool for this writer. */
  gzipPool?: GzipPool;
  gzipWorkers?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /** Timestamp in the object names. Default: now. */
  at?: Date;
}

export interface ExportQueryOptions extends Omit<ObjectWriterOptions, 'columns'> {
  pgClient: ClientBase;
  /** SELECT statement; or `table` */
  query?: string;
  /** Table to export; `schema.table` as { schema, table } or a plain name. */
  table?: string | { schema?: string; table: string };
}

export declare function exportQueryToOss(options: ExportQueryOptions): Promise<TransferStats>;

/** Rows (arrays, in column order) → rolling objects. `close()` finishes the last object. */
export declare class ObjectRollingWriter {
  constructor(options: ObjectWriterOptions);
  /** Appends rows; resolves when they are accepted (backpressure). */
  writeRows(rows: readonly (readonly CodecValue[])[]): Promise<void>;
  /** Appends bytes that hold whole rows already encoded in the writer's format. */
  writeEncoded(chunk: Buffer, rows: number): Promise<void>;
  /** Finishes the current object now (control message / timer), if it has rows. */
  flush(): Promise<void>;
  /** Finishes the last object and returns the stats. */
  close(): Promise<TransferStats>;
  /** Aborts the object being uploaded (no dangling multipart upload). */
  abort(err?: Error): Promise<void>;
}
