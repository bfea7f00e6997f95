/**
 * An export of rows arriving in messages (oss-export's messages source): each payload is
 * converted to rows in the column layout, encoded in the export's format and appended to the
 * open object of a MessageObjectWriter, which rolls objects by size or age and acknowledges each
 * payload once its object is stored. Object names are filled in when an object opens: time
 * parts of the prefix and name template (`{{yyyy}}/{{MM}}/…`) with the time it opens. A payload
 * never spans two prefixes: another prefix closes the open object first.
 */
import { createLineEncoder, type LineEncoder } from './codec';
import type { FormatOptions } from './format';
import type { GzipPool } from './parallel-gzip';
import type { OssClientLike } from './oss-client';
import type { OssTransferStats } from './export';
import { objectKey, objectMime } from './naming';
import { checkNameTemplate, expandNameTemplate } from './name-template';
import { checkPrefix, nameStem, parseTableName } from './transfer-options';
import { encodeRowsInSlices, needsSlices, payloadToRows, payloadToRowsInSlices } from './message-rows';
import { FetchOnce } from '../shared/retry-once';
import { MessageObjectWriter, uploadSink, type ObjectSink, type RolledObject } from './message-objects';

export interface MessageExportOptions {
  /** A client per object (ali-oss's abort sets a flag on its client). */
  newClient(): OssClientLike;
  /** Key prefix template of every object (unless a payload brings its own). */
  prefix: string;
  /** Name stem template; '' = the table's name, else "export". */
  objectName: string;
  /** The table the rows are for, as text ("schema.table"; '' = none): the name stem when no objectName is given. */
  table: string;
  format: FormatOptions;
  /** 0 = no gzip, 1–9 = gzip level. */
  gzipLevel: number;
  /** The gzip pool to share (called when the first gzip object opens). */
  gzipPool(): GzipPool;
  partSize: number;
  parallelParts: number;
  /** Uncompressed bytes per object before it rolls. */
  rollBytes: number;
  /** Age of an object before it rolls; 0 = no age limit. */
  rollMs: number;
  /** Bytes accepted and not yet uploaded, over all objects: beyond it a payload is refused. */
  maxBufferBytes: number;
  /**
   * The column layout when settings or the table give it, else null (taken from the first row
   * object). Asked before the first payload; a failure fails that payload and is asked again.
   */
  columns(): Promise<readonly string[] | null>;
  /** How a per-payload prefix is named in errors (e.g. "msg.prefix"). Default "prefix". */
  prefixField?: string;
  /** Called once per object when its upload settles. */
  onObject?(o: RolledObject, totals: MessageObjectWriter['totals'], err?: Error): void;
}

/** The stats of rolled objects, in the shape of every other transfer's stats. */
export function rolledObjectStats(objects: readonly RolledObject[], ms: number): OssTransferStats {
  let rows = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const o of objects) {
    rows += o.rows;
    bytesIn += o.bytesIn;
    bytesOut += o.bytes;
  }
  return { objects: objects.map((o) => ({ key: o.key, bytes: o.bytes, rows: o.rows })), rows, bytesIn, bytesOut, ms };
}

export class MessageExport {
  private writer: MessageObjectWriter | null = null;
  private encoder: LineEncoder | null = null;
  private layout: readonly string[] | null = null;
  // Asked before the first payload; a failure (database down, table missing) fails that payload
  // and the next one asks again.
  private readonly layoutReady = new FetchOnce(async () => {
    const c = await this.o.columns();
    if (c) this.layout = c;
  });
  private openPrefix: string;
  /** When the first object opened (progress rates count from here). */
  startedAt = Date.now();

  constructor(private readonly o: MessageExportOptions) {
    this.openPrefix = o.prefix;
  }

  private ensureLayout(): Promise<void> {
    return this.layoutReady.get();
  }

  private openSink(seq: number): ObjectSink {
    const gzip = this.o.gzipLevel > 0;
    const at = new Date();
    const prefix = checkPrefix(expandNameTemplate(this.openPrefix, at, 'prefix'));
    const name = nameStem(expandNameTemplate(this.o.objectName, at, 'object name'), this.o.table ? parseTableName(this.o.table) : null);
    const key = objectKey({ prefix, name, at, seq, format: this.o.format.format, gzip });
    return uploadSink({
      client: this.o.newClient(),
      key,
      mime: objectMime(this.o.format.format, gzip),
      gzipLevel: this.o.gzipLevel,
      ...(gzip ? { pool: this.o.gzipPool() } : {}),
      partSize: this.o.partSize,
      parallel: this.o.parallelParts,
      onSettled: (err) => {
        // Roll the failed object at once: its payloads fail now, not at the next roll.
        if (err) this.writer?.rollKey(key);
      },
    });
  }

  private getWriter(): MessageObjectWriter {
    if (this.writer) return this.writer;
    const encoder = createLineEncoder(this.o.format);
    if (encoder.format.header && !this.layout) throw new Error('header: true needs the column names (set columns or table, or send row objects)');
    this.encoder = encoder;
    this.startedAt = Date.now();
    const writer = new MessageObjectWriter({
      rollBytes: this.o.rollBytes,
      rollMs: this.o.rollMs,
      maxBufferBytes: this.o.maxBufferBytes,
      header: encoder.format.header && this.layout ? encoder.encodeHeader(this.layout) : '',
      open: (seq) => this.openSink(seq),
      onObject: (o, err) => this.o.onObject?.(o, writer.totals, err),
    });
    this.writer = writer;
    return writer;
  }

  /**
   * Appends one payload's rows. `ack` is called once, when the object holding them is stored
   * (no argument) or failed (the error). Throws (without calling ack) on a payload that is not
   * rows of the layout, a bad prefix, or a full buffer. `prefix`: this payload's own prefix
   * template (undefined: the export's).
   */
  async add(payload: unknown, ack: (err?: Error) => void, prefix?: string): Promise<void> {
    await this.ensureLayout();
    // A large payload is converted and encoded in slices: the event loop keeps turning.
    const large = needsSlices(payload);
    const { rows, columns } = large ? await payloadToRowsInSlices(payload, this.layout) : payloadToRows(payload, this.layout);
    if (!this.layout && columns) this.layout = columns;
    const writer = this.getWriter();
    const encodeRow = this.encoder!.encodeRow;
    let text = '';
    if (large) text = await encodeRowsInSlices(rows, encodeRow);
    else for (const row of rows) text += encodeRow(row);
    const buf = Buffer.from(text, 'utf8');
    const wanted = prefix !== undefined ? checkPrefix(prefix) : this.o.prefix;
    if (wanted !== this.openPrefix) {
      checkNameTemplate(wanted, this.o.prefixField ?? 'prefix');
      writer.roll();
      this.openPrefix = wanted;
    }
    writer.add(buf, rows.length, ack);
  }

  /**
   * Waits for the layout as add() does (one await), so a flush that follows payloads without
   * waiting for them still comes after them.
   */
  ready(): Promise<void> {
    return this.ensureLayout();
  }

  /**
   * flush() as the stats of the objects stored since the last flush (`ms` counted from the
   * call); fails with the first upload error instead, if there was one.
   */
  async flushStats(): Promise<OssTransferStats> {
    const t0 = Date.now();
    const r = await this.flush();
    if (r.errors.length) throw r.errors[0];
    return rolledObjectStats(r.objects, Date.now() - t0);
  }

  /** Closes the open object (its payloads complete when it is stored). */
  roll(): void {
    this.writer?.roll();
  }

  /** Rolls the open object and waits for every upload: the objects stored and the errors since the last flush. */
  flush(): Promise<{ objects: RolledObject[]; errors: Error[] }> {
    return this.writer ? this.writer.flush() : Promise.resolve({ objects: [], errors: [] });
  }

  /** Rows and uncompressed bytes taken so far (uploaded or buffered), and objects open or uploading. */
  progress(): { bytes: number; rows: number; pending: number } {
    const w = this.writer;
    if (!w) return { bytes: 0, rows: 0, pending: 0 };
    return { bytes: w.totals.bytesIn + w.buffered(), rows: w.totals.rows, pending: w.pending() };
  }

  /**
   * Takes no more payloads and uploads what it holds, for at most `deadlineMs`; past the
   * deadline it aborts (no dangling multipart uploads) and the waiting payloads fail with `reason`.
   */
  async close(deadlineMs: number, reason: Error): Promise<void> {
    const w = this.writer;
    if (!w) return;
    w.stop();
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      w.flush().then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), deadlineMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (!flushed) await w.abort(reason);
  }
}
