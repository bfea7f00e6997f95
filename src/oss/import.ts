/**
 * Client-mode import: objects (by keys or under a prefix) downloaded (`parallel` ahead),
 * gunzipped when they start with the gzip magic, and streamed into `COPY table FROM STDIN`,
 * one COPY per object (so a header line per object works), all in ONE transaction that is
 * rolled back on any failure: either every row of every object is visible, or none.
 */
import { Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FormatOptions, resolveFormat, copyWithOptions, quoteIdent } from './format';
import type { OssClientLike } from './oss-client';
import type { RetryOptions } from './retry';
import type { TransferProgress, OssTransferStats } from './export';
import { ParsedRow, RowParser } from './codec';
import { listObjects, ObjectInfo, readObjects } from './download';
import { OssAbortError } from './errors';
import { qualifiedName } from './tables';

export interface ImportOptions {
  /** A connected client, not in a transaction (unless `transaction: false`). Not released here. */
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
  /** With `prefix`: direct children only (like `dir=`). Default false (recursive). */
  directOnly?: boolean;
  /** Objects downloading at once (read-ahead). Default 2. */
  parallel?: number;
  retry?: RetryOptions;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  progressIntervalMs?: number;
  /** Run BEGIN/COMMIT/ROLLBACK here (default true). false: the caller manages the transaction. */
  transaction?: boolean;
}

class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
}

async function resolveObjects(o: { oss: OssClientLike; keys?: readonly string[]; prefix?: string; directOnly?: boolean; retry?: RetryOptions; timeoutMs?: number; signal?: AbortSignal }): Promise<ObjectInfo[]> {
  if (o.keys && o.prefix !== undefined) throw new TypeError('give either keys or prefix, not both');
  if (o.keys) return o.keys.map((key) => ({ key, size: -1, etag: '' }));
  if (o.prefix === undefined) throw new TypeError('keys or prefix is required');
  return listObjects(o.oss, o.prefix, { directOnly: o.directOnly, retry: o.retry, timeoutMs: o.timeoutMs, signal: o.signal });
}

export async function importFromOss(options: ImportOptions): Promise<OssTransferStats> {
  const started = Date.now();
  const f = resolveFormat(options.format);
  const cols = options.columns?.length ? ` (${options.columns.map(quoteIdent).join(', ')})` : '';
  const sql = `COPY ${qualifiedName(options.table)}${cols} FROM STDIN WITH ${copyWithOptions(f, f.header)}`;
  const stats: OssTransferStats = { objects: [], rows: 0, bytesIn: 0, bytesOut: 0, ms: 0 };
  let last = 0;
  const progress = (force = false) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!force && now - last < (options.progressIntervalMs ?? 250)) return;
    last = now;
    options.onProgress({ rows: stats.rows, bytesIn: stats.bytesIn, bytesOut: stats.bytesOut, objects: stats.objects.length, ms: now - started });
  };
  const objects = await resolveObjects(options);
  const tx = options.transaction !== false;
  const client = options.pgClient;
  if (tx) await client.query('BEGIN');
  let current: import('node:stream').Writable | null = null;
  const onAbort = () => current?.destroy(new OssAbortError());
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const it = readObjects(options.oss, objects, {
      parallel: options.parallel ?? 2,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onBytes: (n) => {
        stats.bytesIn += n;
        progress();
      },
    });
    for await (const { object, stream } of it) {
      if (options.signal?.aborted) throw new OssAbortError();
      const copy = client.query(copyFrom(sql));
      current = copy;
      const counter = new ByteCounter((n) => {
        stats.bytesOut += n;
      });
      await pipeline(stream, counter, copy);
      current = null;
      const rows = copy.rowCount ?? 0;
      stats.rows += rows;
      stats.objects.push({ key: object.key, bytes: counter.bytes, rows });
      progress(true);
    }
    if (options.signal?.aborted) throw new OssAbortError();
    if (tx) await client.query('COMMIT');
    stats.ms = Date.now() - started;
    progress(true);
    return stats;
  } catch (err) {
    if (tx) await client.query('ROLLBACK').catch(() => undefined);
    if (options.signal?.aborted && !(err instanceof OssAbortError)) throw new OssAbortError();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

export interface ReadRowsOptions {
  oss: OssClientLike;
  format: FormatOptions;
  keys?: readonly string[];
  prefix?: string;
  directOnly?: boolean;
  /** Rows per yielded batch (a batch never spans two objects). Default 1000. */
  batchSize?: number;
  parallel?: number;
  retry?: RetryOptions;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** oss-import's messages mode: batches of parsed rows, every row exactly once, object by object. */
export async function* readRowsFromOss(options: ReadRowsOptions): AsyncGenerator<{ key: string; rows: ParsedRow[] }> {
  const objects = await resolveObjects(options);
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  for await (const { object, stream } of readObjects(options.oss, objects, { parallel: options.parallel ?? 2, retry: options.retry, timeoutMs: options.timeoutMs, signal: options.signal })) {
    const parser = new RowParser(options.format, { batchSize });
    stream.on('error', (e) => parser.destroy(e));
    stream.pipe(parser);
    for await (const batch of parser as AsyncIterable<ParsedRow[]>) yield { key: object.key, rows: batch };
  }
}
