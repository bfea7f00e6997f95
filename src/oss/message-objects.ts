// The rolling writer of an export of rows arriving in messages (oss-export's messages source):
// each message's encoded rows are appended to the current OSS object;
// the object is closed ("rolled") when it reaches a size or age limit, on a flush request,
// and on close. A message is acknowledged only after the object holding its rows has been
// uploaded (or failed: then with the error): oss-export's delivery guarantee rests on it.
// A message never spans two objects, so every message maps to exactly one upload.
// Memory is bounded: bytes accepted but not yet consumed by uploads are capped, and a
// message beyond the cap fails at once instead of growing the heap.
// An object's messages are acknowledged in 1 ms slices with a turn of the event loop between them (an
// object can hold tens of thousands of messages: acknowledging them in one go held Node-RED's
// loop; see src/shared/slices.ts); flush() and abort() resolve once every one was.
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { SliceQueue } from '../shared/slices';
import { createParallelGzip, type GzipPool } from './parallel-gzip';
import { uploadStream } from './multipart-upload';
import type { OssClientLike } from './oss-client';

/** One object being written (uploadSink: encoded rows → gzip → multipart upload; tests use fakes). */
export interface ObjectSink {
  readonly key: string;
  /** Queue bytes for this object (never blocks; backpressure is accounted via buffered()). */
  write(chunk: Buffer): void;
  /** Bytes queued but not yet consumed by the upload pipeline. */
  buffered(): number;
  /** No more data: resolves with the stored size once the object exists in OSS. */
  end(): Promise<{ bytes: number }>;
  /** Cancel: the object must not appear and no multipart upload may be left behind. */
  abort(): Promise<void>;
}

export interface RolledObject {
  key: string;
  bytes: number; // stored (compressed) bytes
  rows: number;
  bytesIn: number; // uncompressed bytes
}

export interface MessageObjectWriterOptions {
  rollBytes: number;
  rollMs: number; // 0 = no age limit
  maxBufferBytes: number;
  /** Creates the sink for object number `seq` (0-based). May throw (bad prefix, …). */
  open(seq: number): ObjectSink;
  /** Text written at the start of every object (CSV/TEXT header line), or ''. */
  header: string;
  /** Called once per object when its upload settles. */
  onObject?(o: RolledObject, err?: Error): void;
}

export class MessageBufferFullError extends Error {
  readonly code = 'OSS_BUFFER_FULL';
  constructor(limit: number) {
    super(`oss-export buffer full: more than ${Math.round(limit / 1048576)} MB of rows are waiting for upload; slow down the input or raise "max buffer"`);
    this.name = 'MessageBufferFullError';
  }
}

type Ack = (err?: Error) => void;

interface OpenObject {
  sink: ObjectSink;
  acks: Ack[];
  rows: number;
  bytesIn: number;
  timer?: NodeJS.Timeout;
}

export class MessageObjectWriter {
  private current: OpenObject | null = null;
  private seq = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly ending = new Set<OpenObject>();
  private completed: RolledObject[] = [];
  private failures: Error[] = [];
  private closed = false;
  /** Acknowledgements waiting for their turn, in order. */
  private readonly acking = new SliceQueue<[Ack, Error | undefined]>(([ack, err]) => ack(err));
  /** Totals over the writer's life. */
  readonly totals = { rows: 0, bytesIn: 0, bytesOut: 0, objects: 0 };

  constructor(private readonly o: MessageObjectWriterOptions) {}

  /** Bytes accepted and not yet handed to uploads, over all objects. */
  buffered(): number {
    let n = this.current ? this.current.sink.buffered() : 0;
    for (const e of this.ending) n += e.sink.buffered();
    return n;
  }

  /** Objects being written or uploaded. */
  pending(): number {
    return (this.current ? 1 : 0) + this.ending.size;
  }

  /**
   * Appends one message's encoded rows. `ack` is called once, after its object is uploaded
   * (no argument) or failed (the error). Throws MessageBufferFullError (without calling ack) when
   * the buffer is full, and any error of opening an object.
   */
  add(data: Buffer, rows: number, ack: Ack): void {
    if (this.closed) throw new Error('oss-export is closing; message not accepted');
    if (this.buffered() + data.length > this.o.maxBufferBytes && this.buffered() > 0) {
      throw new MessageBufferFullError(this.o.maxBufferBytes);
    }
    if (!this.current) {
      const sink = this.o.open(this.seq++);
      const obj: OpenObject = { sink, acks: [], rows: 0, bytesIn: 0 };
      if (this.o.header) {
        const h = Buffer.from(this.o.header, 'utf8');
        sink.write(h);
        obj.bytesIn += h.length;
      }
      if (this.o.rollMs > 0) {
        obj.timer = setTimeout(() => {
          if (this.current === obj) this.roll();
        }, this.o.rollMs);
      }
      this.current = obj;
    }
    const obj = this.current;
    obj.sink.write(data);
    obj.acks.push(ack);
    obj.rows += rows;
    obj.bytesIn += data.length;
    if (obj.bytesIn >= this.o.rollBytes) this.roll();
  }

  /**
   * Closes the current object if it is `key` (its upload failed early): its messages get the
   * error now instead of at the next size/age roll, and later messages start a new object.
   */
  rollKey(key: string): void {
    if (this.current && this.current.sink.key === key) this.roll();
  }

  /** Closes the current object (if any); its upload completes in the background. */
  roll(): void {
    const obj = this.current;
    if (!obj) return;
    this.current = null;
    if (obj.timer) clearTimeout(obj.timer);
    this.ending.add(obj);
    const p = obj.sink.end().then(
      ({ bytes }) => {
        this.ending.delete(obj);
        const done: RolledObject = { key: obj.sink.key, bytes, rows: obj.rows, bytesIn: obj.bytesIn };
        this.totals.rows += obj.rows;
        this.totals.bytesIn += obj.bytesIn;
        this.totals.bytesOut += bytes;
        this.totals.objects++;
        this.completed.push(done);
        this.o.onObject?.(done);
        for (const a of obj.acks) this.acking.push([a, undefined]);
      },
      (err: unknown) => {
        this.ending.delete(obj);
        const e = err instanceof Error ? err : new Error(String(err));
        this.failures.push(e);
        this.o.onObject?.({ key: obj.sink.key, bytes: 0, rows: obj.rows, bytesIn: obj.bytesIn }, e);
        for (const a of obj.acks) this.acking.push([a, e]);
      },
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /**
   * Rolls the current object and waits for every upload. Returns the objects completed and
   * the errors seen since the previous flush.
   */
  async flush(): Promise<{ objects: RolledObject[]; errors: Error[] }> {
    this.roll();
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
    await this.acking.whenDrained();
    const out = { objects: this.completed, errors: this.failures };
    this.completed = [];
    this.failures = [];
    return out;
  }

  /** Cancels everything: pending messages are acknowledged with `reason`. */
  async abort(reason: Error): Promise<void> {
    this.closed = true;
    const all: OpenObject[] = [...this.ending];
    if (this.current) {
      if (this.current.timer) clearTimeout(this.current.timer);
      all.push(this.current);
      // Ack the current object's messages here: its end() was never called.
      const cur = this.current;
      this.current = null;
      await cur.sink.abort().catch(() => undefined);
      for (const a of cur.acks) this.acking.push([a, reason]);
      all.pop();
    }
    // Objects already ending settle through roll()'s handlers (their end() rejects on abort).
    await Promise.all(all.map((e) => e.sink.abort().catch(() => undefined)));
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
    await this.acking.whenDrained();
  }

  /** Stop accepting messages (close started); flush still works. */
  stop(): void {
    this.closed = true;
  }
}

/**
 * One object of a messages export: encoded rows are queued into a PassThrough, go through the
 * parallel gzip pool (one single-member gzip stream) and into a streaming multipart upload.
 * Writes never block (MessageObjectWriter caps the bytes queued); a failed upload stops the
 * queueing at once; abort cancels the upload (the multipart upload is aborted, nothing dangles).
 */
export interface UploadSinkOptions {
  client: OssClientLike;
  key: string;
  mime: string;
  /** 0 = store as is; 1–9 = gzip level. */
  gzipLevel: number;
  /** Required when gzipLevel > 0. */
  pool?: GzipPool;
  partSize: number;
  parallel: number;
  /** Called once when the upload settles (to forget its AbortController, …). */
  onSettled?: (err?: Error) => void;
}

export function uploadSink(o: UploadSinkOptions): ObjectSink {
  const ac = new AbortController();
  const input = new PassThrough({ highWaterMark: 1048576 });
  let source: Readable = input;
  if (o.gzipLevel > 0) {
    const gz = createParallelGzip({ level: o.gzipLevel, ...(o.pool ? { pool: o.pool } : {}) });
    // pipeline: an error on either side destroys both, so the upload sees it.
    source = pipeline(input, gz, () => undefined);
  }
  const settled = uploadStream(o.client, o.key, source, { mime: o.mime, partSize: o.partSize, parallel: o.parallel, signal: ac.signal });
  settled.then(
    () => o.onSettled?.(),
    (err: unknown) => {
      // Stop queueing rows for an upload that cannot succeed.
      input.destroy();
      o.onSettled?.(err instanceof Error ? err : new Error(String(err)));
    },
  );
  return {
    key: o.key,
    write: (c) => {
      if (!input.destroyed) input.write(c);
    },
    buffered: () => (input.destroyed ? 0 : input.writableLength + input.readableLength),
    end: async () => {
      if (!input.destroyed) input.end();
      const r = await settled;
      return { bytes: r.bytes };
    },
    abort: async () => {
      ac.abort();
      input.destroy();
      await settled.catch(() => undefined);
    },
  };
}
