/**
 * Client-mode export: `COPY (query) TO STDOUT` → (row boundaries, header/newline handling) →
 * parallel gzip → multipart upload, rolling over to a new object at `rolloverBytes` of
 * uncompressed data, always on a row boundary. `ObjectRollingWriter` is that rolling part
 * (whole rows of encoded bytes in, objects out, with backpressure); exportQueryToOss writes
 * through one per stripe. Rows arriving in messages, each acknowledged when its object is
 * stored, roll through `MessageObjectWriter` (message-objects.ts) instead.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { FormatOptions, ResolvedFormat, resolveFormat, copyWithOptions, newlineBytes } from './format';
import type { OssClientLike } from './oss-client';
import { MultipartUploadStream, UploadOptions, UploadResult } from './multipart-upload';
import { createLineEncoder, RowBoundaryScanner } from './codec';
import { GzipPool, ParallelGzip } from './parallel-gzip';
import { objectKey, objectMime } from './naming';
import { OssAbortError } from './errors';
import { qualifiedName } from './tables';
import { copyOut, CopyRows } from './copy-out';
import { MAX_STRIPES } from './stripes';

export interface TransferProgress {
  rows: number;
  bytesIn: number;
  bytesOut: number;
  objects: number;
  ms: number;
}

export interface OssTransferStats {
  objects: Array<{ key: string; bytes: number; rows: number; etag?: string }>;
  rows: number;
  /** export: uncompressed bytes read from the database; import: bytes downloaded */
  bytesIn: number;
  /** export: bytes uploaded; import: uncompressed bytes fed to COPY */
  bytesOut: number;
  ms: number;
  /** Problems that did not fail the transfer (e.g. an external table's DROP), secrets removed. */
  warnings?: string[];
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
  /** Gzip worker pool to share; default: one private pool for this writer, closed by close()/abort(). */
  gzipPool?: GzipPool;
  gzipWorkers?: number;
  /** Uncompressed bytes per gzip block. Default 1 MiB. */
  gzipBlockSize?: number;
  signal?: AbortSignal;
  /** Called at most every `progressIntervalMs` (default 250) while transferring, and at the end. */
  onProgress?: (p: TransferProgress) => void;
  progressIntervalMs?: number;
  /** Timestamp in the object names. Default: now. */
  at?: Date;
  /** Sequence numbers used in names: seqStart, seqStart + seqStep, … (default 0, 1). */
  seqStart?: number;
  seqStep?: number;
}

interface OpenObject {
  key: string;
  sink: MultipartUploadStream;
  head: Writable;
  gzip: ParallelGzip | null;
  bytesIn: number;
  rows: number;
  done: Promise<UploadResult>;
  error: Error | null;
  /** Compressed bytes of this object uploaded so far. */
  uploaded: number;
}

function waitDrain(w: Writable, obj: OpenObject): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(obj.error ?? new Error('object stream closed'));
    };
    w.on('drain', onDrain);
    w.on('error', onError);
    w.on('close', onClose);
  });
}

/** Pre-encoded row bytes (whole rows in the writer's format) → rolling objects. */
export class ObjectRollingWriter {
  readonly format: ResolvedFormat;
  private readonly o: ObjectWriterOptions;
  private readonly level: number;
  private readonly rollover: number;
  private readonly at: Date;
  private pool: GzipPool | null = null;
  private readonly ownPool: boolean;
  private current: OpenObject | null = null;
  private seq: number;
  private readonly seqStep: number;
  private headerBytes: Buffer | null = null;
  private readonly started = Date.now();
  private lastProgress = 0;
  private uploadedDone = 0;
  /**
   * The object finishing behind the one being written (at most one): rolling over does not wait
   * for its last gzip blocks, parts and Complete, so COPY and the gzip workers keep going.
   */
  private finishing: { obj: OpenObject; promise: Promise<void> } | null = null;
  private finishError: Error | null = null;
  private closed = false;
  readonly stats: OssTransferStats = { objects: [], rows: 0, bytesIn: 0, bytesOut: 0, ms: 0 };

  constructor(options: ObjectWriterOptions) {
    this.o = options;
    this.format = resolveFormat(options.format);
    this.level = options.gzipLevel ?? 1;
    if (!Number.isInteger(this.level) || this.level < 0 || this.level > 9) throw new RangeError(`gzipLevel must be 0 (none) or 1–9, got ${options.gzipLevel}`);
    this.rollover = options.rolloverBytes ?? 256 * 1024 * 1024;
    if (!(this.rollover > 0)) throw new RangeError('rolloverBytes must be positive');
    this.at = options.at ?? new Date();
    this.seq = options.seqStart ?? 0;
    this.seqStep = options.seqStep ?? 1;
    this.ownPool = !options.gzipPool;
    this.pool = options.gzipPool ?? null;
    if (this.format.header && options.columns) this.headerBytes = Buffer.from(createLineEncoder(this.format).encodeHeader(options.columns));
    // Validate naming up front, before any data moves.
    objectKey({ prefix: options.prefix, name: options.name, at: this.at, seq: 0, format: this.format.format, gzip: this.level > 0 });
  }

  private seqNext(): number {
    const s = this.seq;
    this.seq += this.seqStep;
    return s;
  }

  /** Uncompressed bytes in the object being written (0 when none is open). */
  get currentBytes(): number {
    return this.current?.bytesIn ?? 0;
  }

  /** Sets the header line (with its terminator) written at the start of every object. */
  setHeaderLine(line: Buffer): void {
    this.headerBytes = line;
  }

  private progress(force = false): void {
    const cb = this.o.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (!force && now - this.lastProgress < (this.o.progressIntervalMs ?? 250)) return;
    this.lastProgress = now;
    cb({ rows: this.stats.rows, bytesIn: this.stats.bytesIn, bytesOut: this.uploadedDone + (this.current?.uploaded ?? 0) + (this.finishing?.obj.uploaded ?? 0), objects: this.stats.objects.length, ms: now - this.started });
  }

  private open(): OpenObject {
    if (this.o.signal?.aborted) throw new OssAbortError();
    const gz = this.level > 0;
    const key = objectKey({ prefix: this.o.prefix, name: this.o.name, at: this.at, seq: this.seqNext(), format: this.format.format, gzip: gz });
    let obj: OpenObject | null = null;
    const sink = new MultipartUploadStream(this.o.oss, key, {
      ...this.o.upload,
      mime: objectMime(this.format.format, gz),
      signal: this.o.signal,
      onProgress: (n) => {
        if (obj) obj.uploaded = n;
        this.progress();
      },
    });
    let gzip: ParallelGzip | null = null;
    if (gz) {
      this.pool ??= new GzipPool({ size: this.o.gzipWorkers });
      gzip = new ParallelGzip({ level: this.level, pool: this.pool, blockSize: this.o.gzipBlockSize });
    }
    obj = { key, sink, head: gzip ?? sink, gzip, bytesIn: 0, rows: 0, done: null as unknown as Promise<UploadResult>, error: null, uploaded: 0 };
    const piped = gzip ? pipeline(gzip, sink) : new Promise<void>((res, rej) => sink.on('finish', res).on('error', rej));
    obj.done = piped.then(() => sink.result);
    obj.done.catch((e: Error) => {
      obj.error ??= e;
    });
    this.current = obj;
    if (this.headerBytes) {
      obj.head.write(this.headerBytes);
      obj.bytesIn += this.headerBytes.length;
      this.stats.bytesIn += this.headerBytes.length;
    }
    return obj;
  }

  /** Waits for the object finishing in the background, if any; its failure fails the writer. */
  private async settleFinishing(): Promise<void> {
    if (this.finishing) await this.finishing.promise;
    if (this.finishError) throw this.finishError;
  }

  /**
   * Rolls over: the current object finishes in the background (after the one before it, so at
   * most two objects are open and objects are recorded in order); the next write opens a new one.
   */
  private async rollOver(): Promise<void> {
    await this.settleFinishing();
    const obj = this.current;
    if (!obj) return;
    const promise = this.finishCurrent().then(
      () => {
        this.finishing = null;
      },
      (e: Error) => {
        this.finishing = null;
        this.finishError ??= e;
      },
    );
    this.finishing = { obj, promise };
  }

  private async finishCurrent(): Promise<void> {
    const obj = this.current;
    if (!obj) return;
    this.current = null;
    obj.head.end();
    const r = await obj.done;
    this.uploadedDone += r.bytes;
    this.stats.bytesOut = this.uploadedDone;
    this.stats.objects.push({ key: r.key, bytes: r.bytes, rows: obj.rows, etag: r.etag });
    this.progress(true);
  }

  /** Appends bytes that hold whole rows already encoded in the writer's format; resolves when accepted (backpressure). */
  async writeEncoded(chunk: Buffer, rows: number): Promise<void> {
    if (this.closed) throw new Error('ObjectRollingWriter is closed');
    if (this.o.signal?.aborted) throw new OssAbortError();
    if (this.finishError) throw this.finishError;
    const obj = this.current ?? this.open();
    if (obj.error) throw obj.error;
    obj.bytesIn += chunk.length;
    obj.rows += rows;
    this.stats.bytesIn += chunk.length;
    this.stats.rows += rows;
    if (!obj.head.write(chunk)) await waitDrain(obj.head, obj);
    if (obj.error) throw obj.error;
    this.progress();
    if (obj.bytesIn >= this.rollover) await this.rollOver();
  }

  /** Finishes the current object now (control message / timer), if it has rows (or always, with evenIfEmpty). */
  async flush(opts: { evenIfEmpty?: boolean } = {}): Promise<void> {
    await this.settleFinishing();
    if (opts.evenIfEmpty && !this.current) this.open();
    if (this.current && (this.current.rows > 0 || opts.evenIfEmpty)) await this.finishCurrent();
  }

  /** The number of objects finished or open. */
  get objectCount(): number {
    return this.stats.objects.length + (this.current ? 1 : 0) + (this.finishing ? 1 : 0);
  }

  /**
   * Finishes the last object and returns the stats. With `emptyObject`, an export that wrote
   * no rows still produces one (empty or header-only) object, so "no data" is visible in OSS.
   */
  async close(opts: { emptyObject?: boolean } = {}): Promise<OssTransferStats> {
    if (this.closed) return this.stats;
    try {
      await this.settleFinishing();
      if (opts.emptyObject && this.objectCount === 0) this.open();
      await this.finishCurrent();
      this.closed = true;
      this.stats.ms = Date.now() - this.started;
      this.progress(true);
      return this.stats;
    } catch (err) {
      await this.abort(err as Error);
      throw err;
    } finally {
      if (this.ownPool && this.pool) await this.pool.close();
    }
  }

  /** Aborts the object being uploaded (no dangling multipart upload); finished objects stay. */
  async abort(err?: Error): Promise<void> {
    this.closed = true;
    const objs = [this.current, this.finishing?.obj].filter((o): o is OpenObject => !!o);
    const finishing = this.finishing?.promise;
    this.current = null;
    const e = err ?? new OssAbortError();
    for (const obj of objs) {
      obj.gzip?.destroy(e);
      obj.sink.destroy(e);
      await obj.sink.result.catch(() => undefined);
      await obj.done.catch(() => undefined);
    }
    await finishing;
    if (this.ownPool && this.pool) await this.pool.close();
  }
}

export interface ExportQueryOptions extends Omit<ObjectWriterOptions, 'columns'> {
  /** A connected client; it is not released here. After a failure or cancellation mid-COPY, discard it. */
  pgClient: ClientBase;
  /** SELECT statement; or `table` */
  query?: string;
  /** Table to export: a plain name or { schema, table }. */
  table?: string | { schema?: string; table: string };
  /** With no rows, still write one (empty or header-only) object. Default true. */
  emptyObject?: boolean;
  /**
   * Write this many objects side by side (rows dealt round-robin in chunks) and roll them over
   * together, so the number of objects is always a multiple of it — set it to the primary
   * segment count when gpossext will import the objects (spec §1.8). Default 1.
   */
  stripes?: number;
}

/**
 * Splits COPY output into whole rows: returns the bytes up to the last row end (with the
 * terminator rewritten when the target newline is not LF) and the number of rows in them.
 */
class CopyRowSplitter {
  private readonly scanner: RowBoundaryScanner;
  private carry: Buffer | null = null;
  private readonly nl: Buffer | null;
  constructor(f: ResolvedFormat) {
    // COPY always writes LF; scan for LF whatever the target newline is.
    this.scanner = new RowBoundaryScanner({ ...f, newline: 'LF' });
    this.nl = f.newline === 'LF' ? null : newlineBytes(f.newline);
  }
  /**
   * Whole rows from `chunk` (plus the carried partial row), as one or two pieces: when a row was
   * carried, it is completed in a small piece of its own (carry + the rest of that one row), so
   * the bulk of the chunk goes on as a subarray instead of being copied behind the carry.
   * `firstRowLength`: the length of the first row in the first piece (terminator included).
   */
  push(chunk: Buffer): { pieces: Array<{ data: Buffer; rows: number }>; firstRowLength: number } | null {
    let i = this.scanner.next(chunk, 0);
    if (i === -1) {
      this.carry = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
      return null;
    }
    const nlLen = this.nl ? this.nl.length : 1;
    const pieces: Array<{ data: Buffer; rows: number }> = [];
    let from = 0;
    let firstRowLength: number;
    if (this.carry) {
      let first: Buffer = Buffer.concat([this.carry, chunk.subarray(0, i + 1)]);
      if (this.nl) first = this.rewrite(first, [first.length - 1]);
      pieces.push({ data: first, rows: 1 });
      firstRowLength = first.length;
      from = i + 1;
      this.carry = null;
      i = this.scanner.next(chunk, from);
    } else firstRowLength = i + nlLen;
    let rows = 0;
    let last = -1;
    const ends: number[] = [];
    while (i !== -1) {
      rows++;
      last = i;
      if (this.nl) ends.push(i - from);
      i = this.scanner.next(chunk, i + 1);
    }
    if (rows) {
      const body = chunk.subarray(from, last + 1);
      pieces.push({ data: this.nl ? this.rewrite(body, ends) : body, rows });
    } else last = from - 1;
    this.carry = last + 1 < chunk.length ? Buffer.from(chunk.subarray(last + 1)) : null;
    return { pieces, firstRowLength };
  }
  private rewrite(data: Buffer, ends: number[]): Buffer {
    const parts: Buffer[] = [];
    let from = 0;
    for (const e of ends) {
      parts.push(data.subarray(from, e), this.nl!);
      from = e + 1;
    }
    return Buffer.concat(parts);
  }
  /** A final row without terminator (COPY never produces one, but be exact). */
  end(): Buffer | null {
    const c = this.carry;
    this.carry = null;
    return c && c.length ? c : null;
  }
}

/** COPY (query | table) TO STDOUT → gzip → multipart upload, rolling objects over by size. */
export async function exportQueryToOss(options: ExportQueryOptions): Promise<OssTransferStats> {
  if (!options.query === !options.table) throw new TypeError('exportQueryToOss needs exactly one of query or table');
  const stripes = options.stripes ?? 1;
  if (!Number.isInteger(stripes) || stripes < 1 || stripes > MAX_STRIPES) throw new RangeError(`stripes must be an integer from 1 to ${MAX_STRIPES}`);
  const started = Date.now();
  const at = options.at ?? new Date();
  const rollover = options.rolloverBytes ?? 256 * 1024 * 1024;
  // One gzip pool for all stripes; owned here when the caller gave none.
  const pool = options.gzipPool ?? ((options.gzipLevel ?? 1) > 0 ? new GzipPool({ size: options.gzipWorkers }) : undefined);
  const writers: ObjectRollingWriter[] = [];
  const progress = options.onProgress;
  const sum = (): TransferProgress => {
    const p = { rows: 0, bytesIn: 0, bytesOut: 0, objects: 0, ms: Date.now() - started };
    for (const w of writers) {
      p.rows += w.stats.rows;
      p.bytesIn += w.stats.bytesIn;
      p.bytesOut += w.stats.bytesOut;
      p.objects += w.stats.objects.length;
    }
    return p;
  };
  for (let i = 0; i < stripes; i++) {
    writers.push(new ObjectRollingWriter({
      ...options, at, gzipPool: pool, seqStart: i, seqStep: stripes,
      // With stripes the export decides when all roll over together.
      rolloverBytes: stripes > 1 ? Number.MAX_SAFE_INTEGER : rollover,
      onProgress: progress && (stripes === 1 ? progress : () => progress(sum())),
    }));
  }
  const f = writers[0].format;
  const source = options.query
    // The query on its own lines, so a trailing `-- comment` cannot swallow the parenthesis; a
    // table as SELECT * so views and foreign tables work too (COPY <view> TO is refused).
    ? `(\n${options.query.trim().replace(/;\s*$/, '')}\n)`
    : `(SELECT * FROM ${qualifiedName(options.table!)})`;
  const sql = `COPY ${source} TO STDOUT WITH ${copyWithOptions(f, f.header)}`;
  // COPY writes LF; when that is the target newline, whole rows and their count come from the
  // COPY parser itself (one CopyData message per row), with no scan of the bytes; otherwise the
  // splitter finds the row ends to rewrite them.
  const rowsFromCopy = f.newline === 'LF';
  const splitter = rowsFromCopy ? null : new CopyRowSplitter(f);
  let headerPending = f.header;
  let next = 0;
  const copy = options.pgClient.query(copyOut(sql, { rows: rowsFromCopy }));
  const onAbort = () => copy.destroy(new OssAbortError());
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) throw new OssAbortError();
    const write = async (data: Buffer, rows: number) => {
      const w = writers[next];
      next = (next + 1) % stripes;
      await w.writeEncoded(data, rows);
      if (stripes > 1 && w.currentBytes >= rollover) {
        // Roll every stripe over at once: the object count stays a multiple of `stripes`.
        await Promise.all(writers.map((x) => x.flush({ evenIfEmpty: true })));
      }
    };
    const writePiece = async (piece: CopyRows) => {
      let { data, rows } = piece;
      if (headerPending) {
        // The first line COPY writes is the header: keep it for every object instead.
        const cut = piece.firstRowLength;
        for (const w of writers) w.setHeaderLine(Buffer.from(data.subarray(0, cut)));
        data = data.subarray(cut);
        rows -= 1;
        headerPending = false;
        if (!rows) return;
      }
      await write(data, rows);
    };
    if (splitter) {
      for await (const chunk of copy as AsyncIterable<Buffer>) {
        const got = splitter.push(chunk);
        if (!got) continue;
        for (const [k, piece] of got.pieces.entries()) await writePiece({ ...piece, firstRowLength: k === 0 ? got.firstRowLength : 0 });
      }
      const tail = splitter.end();
      if (tail) await write(Buffer.concat([tail, newlineBytes(f.newline)]), 1);
    } else {
      for await (const piece of copy as AsyncIterable<CopyRows>) await writePiece(piece);
    }
    const emptyObject = options.emptyObject ?? true;
    if (stripes > 1) {
      // Stripes that got fewer objects write an empty one, so every stripe has as many.
      const max = Math.max(...writers.map((w) => w.objectCount));
      await Promise.all(writers.map((w) => (w.objectCount < max ? w.flush({ evenIfEmpty: true }) : undefined)));
    }
    const all = await Promise.all(writers.map((w) => w.close({ emptyObject })));
    const stats: OssTransferStats = { objects: [], rows: 0, bytesIn: 0, bytesOut: 0, ms: Date.now() - started };
    for (const s of all) {
      stats.objects.push(...s.objects);
      stats.rows += s.rows;
      stats.bytesIn += s.bytesIn;
      stats.bytesOut += s.bytesOut;
    }
    stats.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return stats;
  } catch (err) {
    copy.destroy();
    await Promise.all(writers.map((w) => w.abort(err as Error)));
    if (options.signal?.aborted && !(err instanceof OssAbortError)) throw new OssAbortError();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!options.gzipPool && pool) await pool.close();
  }
}
