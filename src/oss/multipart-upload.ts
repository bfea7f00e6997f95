/**
 * Upload of a byte stream of unknown length to OSS (spec/oss.md §2.5): parts of `partSize`
 * bytes uploaded with at most `parallel` in flight (backpressure holds the producer while they
 * are), each part retried with backoff on 5xx/timeouts/resets, `completeMultipartUpload` at
 * the end, `abortMultipartUpload` on failure or cancellation. Output smaller than one part is a
 * single `put` of a Buffer. Memory ≈ (parallel + 1) × partSize.
 */
import { Writable } from 'node:stream';
import type { OssClientLike, OssResponseInfo } from './oss-client';
import { withRetry, RetryOptions, isRetryableOssError } from './retry';
import { OssAbortError, OssOperationError } from './errors';

export interface UploadOptions {
  /** Bytes per part, ≥ 100 KiB. Default 8 MiB. */
  partSize?: number;
  /** Parts in flight. Default 4. */
  parallel?: number;
  /** Content-Type. Always sent (ali-oss would guess it from the key otherwise). Default application/octet-stream. */
  mime?: string;
  retry?: RetryOptions;
  /** Per-request timeout in ms. Default max(60 s, partSize at 1 MiB/s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with the bytes acknowledged by OSS so far. */
  onProgress?: (uploadedBytes: number) => void;
}

export interface UploadResult {
  key: string;
  bytes: number;
  etag: string;
  /** 0 when the object was written with a single PUT. */
  parts: number;
}

const MIN_PART = 100 * 1024;
const MAX_PARTS = 10000;

function headerOf(res: OssResponseInfo | undefined, name: string): string {
  const h = res?.headers as Record<string, unknown> | undefined;
  const v = h?.[name];
  return typeof v === 'string' ? v : '';
}
const unquote = (s: string) => s.replace(/^"|"$/g, '');

/** A Writable sink; `result` settles after the object is complete (or the upload aborted). */
export class MultipartUploadStream extends Writable {
  readonly result: Promise<UploadResult>;
  private resolveResult!: (r: UploadResult) => void;
  private rejectResult!: (e: Error) => void;
  private readonly partSize: number;
  private readonly parallel: number;
  private readonly timeout: number;
  private readonly mime: string;
  private chunks: Buffer[] = [];
  private chunksLen = 0;
  private uploadId: string | null = null;
  private nextPart = 1;
  private readonly inflight = new Set<Promise<void>>();
  private readonly parts: Array<{ number: number; etag: string }> = [];
  private failure: Error | null = null;
  private completed = false;
  private uploaded = 0;
  private total = 0;
  private readonly onAbortSignal: () => void;

  constructor(private readonly client: OssClientLike, readonly key: string, private readonly options: UploadOptions = {}) {
    // highWaterMark 0-ish: the part buffer itself is the buffer; keep writes flowing in.
    super({ highWaterMark: 64 * 1024 });
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART) throw new RangeError(`partSize must be an integer ≥ ${MIN_PART} bytes (OSS minimum part size)`);
    this.parallel = Math.max(1, Math.floor(options.parallel ?? 4));
    this.timeout = options.timeoutMs ?? Math.max(60000, Math.ceil(this.partSize / (1024 * 1024)) * 1000);
    this.mime = options.mime ?? 'application/octet-stream';
    this.result = new Promise((res, rej) => {
      this.resolveResult = res;
      this.rejectResult = rej;
    });
    // Callers that only pipe and await `result` must not crash on an unhandled rejection.
    this.result.catch(() => undefined);
    this.onAbortSignal = () => this.destroy(new OssAbortError());
    if (options.signal) {
      if (options.signal.aborted) process.nextTick(this.onAbortSignal);
      else options.signal.addEventListener('abort', this.onAbortSignal, { once: true });
    }
  }

  private ctx(operation: string) {
    return { operation, key: this.key, signal: this.options.signal };
  }

  /** Cuts the first `len` buffered bytes into one part Buffer with a single copy. */
  private takePart(len: number): Buffer {
    const part = Buffer.allocUnsafeSlow(len); // unpooled: it may live through retries
    let off = 0;
    while (off < len) {
      const c = this.chunks[0];
      const n = Math.min(c.length, len - off);
      c.copy(part, off, 0, n);
      off += n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    this.chunksLen -= len;
    return part;
  }

  /** Set when an Initiate attempt failed: the server may hold an upload we never learned the id of. */
  private initRetried = false;

  private initPromise: Promise<string> | null = null;

  private ensureUpload(): Promise<string> {
    // One Initiate per object, even when parts race; abortUpload waits for it too.
    this.initPromise ??= this.initiate();
    return this.initPromise;
  }

  private async initiate(): Promise<string> {
    const r = await withRetry(
      (attempt) => {
        if (attempt > 1) this.initRetried = true;
        return this.client.initMultipartUpload(this.key, { mime: this.mime, timeout: this.timeout });
      },
      this.ctx('InitiateMultipartUpload'),
      this.options.retry,
    ).catch((e: Error) => {
      this.initRetried = true;
      throw e;
    });
    this.uploadId = r.uploadId;
    return r.uploadId;
  }

  /**
   * Aborts uploads of this exact key other than `keep` (best effort): an Initiate whose
   * response was lost (reset/truncated after the server acted) leaves an upload behind.
   */
  private async abortStrays(keep: string | null): Promise<void> {
    if (!this.initRetried || !this.client.listUploads) return;
    try {
      const { uploads } = await withRetry(() => this.client.listUploads!({ prefix: this.key, 'max-uploads': 1000 }, { timeout: 30000 }), { operation: 'ListMultipartUploads', key: this.key }, { attempts: 4, ...this.options.retry });
      for (const u of uploads) {
        if (u.name !== this.key || u.uploadId === keep) continue;
        await withRetry(() => this.client.abortMultipartUpload(this.key, u.uploadId, { timeout: 30000 }), { operation: 'AbortMultipartUpload', key: this.key }, { attempts: 4, ...this.options.retry }).catch(() => undefined);
      }
    } catch (err) {
      this.emit('abortFailed', err);
    }
  }

  private startPart(buf: Buffer): void {
    const n = this.nextPart++;
    if (n > MAX_PARTS) throw new OssOperationError(`OSS upload of "${this.key}" needs more than ${MAX_PARTS} parts; raise partSize`, { operation: 'UploadPart', key: this.key });
    const p = (async () => {
      const id = await this.ensureUpload();
      const r = await withRetry(() => this.client.uploadPart(this.key, id, n, buf, 0, buf.length, { timeout: this.timeout }), this.ctx(`UploadPart ${n}`), this.options.retry);
      this.parts.push({ number: n, etag: r.etag });
      this.uploaded += buf.length;
      this.options.onProgress?.(this.uploaded);
    })();
    const tracked = p.then(
      () => {
        this.inflight.delete(tracked);
      },
      (e: Error) => {
        this.inflight.delete(tracked);
        this.failure ??= e;
      },
    );
    this.inflight.add(tracked);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    this.chunks.push(chunk);
    this.chunksLen += chunk.length;
    this.total += chunk.length;
    (async () => {
      while (this.chunksLen >= this.partSize) {
        // Initiate once, before parallel parts race to do it.
        if (!this.uploadId) await this.ensureUpload();
        this.startPart(this.takePart(this.partSize));
        while (this.inflight.size >= this.parallel) await Promise.race(this.inflight);
        if (this.failure) throw this.failure;
      }
    })().then(() => cb(), (e: Error) => cb(e));
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      if (this.failure) throw this.failure;
      if (!this.uploadId) {
        // Smaller than one part: one PUT of a Buffer (retryable, unlike putStream).
        const body = this.chunksLen ? this.takePart(this.chunksLen) : Buffer.alloc(0);
        const r = await withRetry(() => this.client.put(this.key, body, { mime: this.mime, timeout: this.timeout }), this.ctx('PutObject'), this.options.retry);
        this.completed = true;
        this.uploaded = body.length;
        this.options.onProgress?.(this.uploaded);
        return { key: this.key, bytes: body.length, etag: unquote(headerOf(r.res, 'etag')), parts: 0 };
      }
      if (this.chunksLen > 0) this.startPart(this.takePart(this.chunksLen));
      while (this.inflight.size) await Promise.race(this.inflight);
      if (this.failure) throw this.failure;
      const parts = [...this.parts].sort((a, b) => a.number - b.number);
      const id = this.uploadId;
      let attempted = false;
      const r = await withRetry(async () => {
        try {
          return await this.client.completeMultipartUpload(this.key, id, parts, { timeout: this.timeout });
        } catch (err) {
          // A retried Complete whose first attempt did succeed server-side sees NoSuchUpload:
          // accept it when the object exists with a multipart ETag of our part count.
          if (attempted && (err as { status?: number }).status === 404) {
            // A HEAD that fails transiently is retried with the Complete (which sees 404 again and
            // asks again); only a definite answer decides.
            const h = await this.client.head(this.key, { timeout: this.timeout }).catch((headErr: unknown) => {
              if (isRetryableOssError(headErr)) throw headErr;
              return null;
            });
            const etag = h ? unquote(headerOf(h.res, 'etag')) : '';
            if (etag.endsWith(`-${parts.length}`)) return { etag, res: h!.res };
          }
          attempted = true;
          throw err;
        }
      }, this.ctx('CompleteMultipartUpload'), this.options.retry);
      this.completed = true;
      await this.abortStrays(null);
      const etag = unquote(String((r as { etag?: unknown }).etag ?? '') || headerOf(r.res, 'etag') || String(((r as { data?: { ETag?: unknown } }).data?.ETag) ?? ''));
      return { key: this.key, bytes: this.total, etag, parts: parts.length };
    })().then(
      (res) => {
        this.options.signal?.removeEventListener('abort', this.onAbortSignal);
        this.resolveResult(res);
        cb();
      },
      (e: Error) => {
        this.abortUpload().finally(() => {
          this.rejectResult(e);
          cb(e);
        });
      },
    );
  }

  private aborting: Promise<void> | null = null;
  /** Aborts the multipart upload (retried, and after in-flight parts settle so none outlives it). */
  private abortUpload(): Promise<void> {
    this.aborting ??= (async () => {
      this.options.signal?.removeEventListener('abort', this.onAbortSignal);
      // An Initiate still in flight would create an upload after we looked: wait for it.
      if (this.initPromise) await this.initPromise.catch(() => undefined);
      await Promise.allSettled([...this.inflight]);
      if (this.completed) return;
      if (!this.uploadId) return this.abortStrays(null);
      const id = this.uploadId;
      // Not cancellable by the caller's signal: a cancelled export must not leave the upload dangling.
      await withRetry(() => this.client.abortMultipartUpload(this.key, id, { timeout: 30000 }), { operation: 'AbortMultipartUpload', key: this.key }, { attempts: 5, ...this.options.retry }).catch((err: unknown) => {
        // 404 NoSuchUpload means it is gone already; anything else is reported.
        if ((err as OssOperationError).details?.status !== 404) this.emit('abortFailed', err);
      });
      await this.abortStrays(id);
    })();
    return this.aborting;
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.completed) return cb(err);
    this.failure ??= err ?? new OssAbortError('upload destroyed before it finished');
    this.abortUpload().finally(() => {
      this.rejectResult(this.failure!);
      cb(err);
    });
  }
}

/** Uploads an async iterable of Buffers (e.g. a Readable) to `key`. */
export async function uploadStream(client: OssClientLike, key: string, source: AsyncIterable<Buffer | Uint8Array>, options?: UploadOptions): Promise<UploadResult> {
  const sink = new MultipartUploadStream(client, key, options);
  // The failure is reported through `result`; without a listener the 'error' event would crash.
  sink.on('error', () => undefined);
  try {
    for await (const chunk of source) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (!sink.write(b)) {
        await new Promise<void>((resolve, reject) => {
          const onErr = (e: Error) => {
            sink.off('drain', onDrain);
            reject(e);
          };
          const onDrain = () => {
            sink.off('error', onErr);
            resolve();
          };
          sink.once('drain', onDrain);
          sink.once('error', onErr);
        });
      }
    }
    sink.end();
  } catch (err) {
    sink.destroy(err as Error);
  }
  return sink.result;
}

/**
 * Aborts every unfinished multipart upload whose key starts with `prefix` and returns how many.
 * For cleanup after an outage in which the server acted on Initiate but the answers were lost
 * (then no client can know the upload ids until listing works again). Do not run it while
 * another export writes under the same prefix.
 */
export async function abortMultipartUploadsUnder(client: OssClientLike, prefix: string, options: { retry?: RetryOptions; signal?: AbortSignal } = {}): Promise<number> {
  if (!client.listUploads) throw new TypeError('this OSS client cannot list multipart uploads');
  const { uploads } = await withRetry(() => client.listUploads!({ prefix, 'max-uploads': 1000 }, { timeout: 30000 }), { operation: 'ListMultipartUploads', key: prefix, signal: options.signal }, options.retry);
  let n = 0;
  for (const u of uploads) {
    if (!u.name.startsWith(prefix)) continue;
    await withRetry(() => client.abortMultipartUpload(u.name, u.uploadId, { timeout: 30000 }), { operation: 'AbortMultipartUpload', key: u.name, signal: options.signal }, options.retry).catch((err: unknown) => {
      if ((err as OssOperationError).details?.status !== 404) throw err;
    });
    n++;
  }
  return n;
}
