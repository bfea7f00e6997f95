/**
 * Download side (spec/oss.md §1.8): list objects under a prefix with listV2 paging, read each
 * object as a stream with retries that resume with a ranged GET from the byte reached, and
 * gunzip when the first bytes are the gzip magic `1f 8b` (never by suffix: gpossext output has
 * none). Never holds a whole object in memory.
 */
import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import type { OssClientLike, OssResponseInfo } from './oss-client';
import { withRetry, RetryOptions, isRetryableOssError, ossRetryDelay, sleep, describeOssError, errorStatus } from './retry';
import { OssAbortError, OssOperationError } from './errors';

export interface ObjectInfo {
  key: string;
  /** -1 when unknown (explicit keys); the GET response then tells. */
  size: number;
  etag: string;
}

export interface ListOptions {
  /** Only direct children (delimiter '/'), like `dir=`. Default false (recursive, like `prefix=`). */
  directOnly?: boolean;
  /** Page size, ≤ 1000. Default 1000. */
  pageSize?: number;
  retry?: RetryOptions;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Every object under `prefix`, in key order, skipping "folder" keys ending in `/`. */
export async function listObjects(client: OssClientLike, prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let token: string | undefined;
  for (;;) {
    const query: { prefix: string; 'max-keys': number; 'continuation-token'?: string; delimiter?: string } = { prefix, 'max-keys': Math.min(1000, options.pageSize ?? 1000) };
    if (token) query['continuation-token'] = token;
    if (options.directOnly) query.delimiter = '/';
    const page = await withRetry(() => client.listV2(query, { timeout: options.timeoutMs ?? 60000 }), { operation: 'ListObjectsV2', key: prefix, signal: options.signal }, options.retry);
    for (const o of page.objects ?? []) {
      if (o.name.endsWith('/')) continue;
      out.push({ key: o.name, size: Number(o.size), etag: String(o.etag ?? '').replace(/"/g, '') });
    }
    if (!page.isTruncated || !page.nextContinuationToken) break;
    token = page.nextContinuationToken;
  }
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

export interface ReadObjectOptions {
  /** Object size if known (from listing); otherwise taken from the GET response. */
  size?: number;
  /** 'auto' (default): gunzip when the object starts with 1f 8b. */
  gunzip?: 'auto' | 'always' | 'never';
  retry?: RetryOptions;
  /** Timeout for each GET until headers. Default 60 s. */
  timeoutMs?: number;
  /**
   * A body that delivers nothing for this long while we wait for it is abandoned and resumed
   * with a ranged GET (ali-oss's timeout stops at the headers of a streamed response). Time
   * spent waiting for our consumer does not count. Default: timeoutMs.
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** Called with raw (compressed) bytes received for this object. */
  onBytes?: (n: number) => void;
  /** Buffered bytes per object stream (read-ahead). Default 1 MiB. */
  highWaterMark?: number;
}

/** True when `head` starts with the gzip magic bytes 1f 8b. */
export function isGzipMagic(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The first bytes of every object (a ranged GET of 2 bytes each, `parallel` at a time), to tell
 * gzip from plain objects before an external import: oss_ext decides compression for the whole
 * set. Empty objects are reported as not gzip. Each GET is retried like any other request.
 */
export async function sniffGzip(
  client: OssClientLike,
  objects: readonly ObjectInfo[],
  options: { parallel?: number; retry?: RetryOptions; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Array<ObjectInfo & { gzip: boolean }>> {
  const out: Array<ObjectInfo & { gzip: boolean }> = new Array(objects.length);
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const i = next++;
      const o = objects[i];
      if (o.size === 0) {
        out[i] = { ...o, gzip: false };
        continue;
      }
      const head = await withRetry(
        async () => {
          const r = await client.getStream(o.key, { timeout: options.timeoutMs ?? 60000, headers: { Range: 'bytes=0-1' } });
          const parts: Buffer[] = [];
          for await (const c of r.stream as AsyncIterable<Buffer | string>) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
          return Buffer.concat(parts).subarray(0, 2);
        },
        { operation: 'GetObject', key: o.key, signal: options.signal },
        options.retry,
      );
      out[i] = { ...o, gzip: isGzipMagic(head) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel ?? 8, objects.length)) }, worker));
  return out;
}

class TruncatedBodyError extends Error {
  readonly code = 'TRUNCATED';
  constructor(key: string, got: number, expected: number) {
    super(`body of "${key}" ended at byte ${got} of ${expected}`);
    this.name = 'TruncatedBodyError';
  }
}

function header(res: OssResponseInfo, name: string): string {
  const v = (res.headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

/** Total object size from a 200 (Content-Length) or 206 (Content-Range …/total) response. */
function totalSize(res: OssResponseInfo, offset: number): number {
  if (res.status === 206) {
    const m = /\/(\d+)\s*$/.exec(header(res, 'content-range'));
    if (m) return Number(m[1]);
  }
  const len = header(res, 'content-length');
  return len ? Number(len) + (res.status === 206 ? offset : 0) : -1;
}

/**
 * Raw bytes of one object. A failed or truncated body is resumed with `Range: bytes=<n>-`; a
 * changed ETag between attempts fails (the object was replaced mid-read).
 */
async function* rawObjectBytes(client: OssClientLike, key: string, o: ReadObjectOptions): AsyncGenerator<Buffer> {
  const attempts = Math.max(1, o.retry?.attempts ?? 6);
  let offset = 0;
  let size = o.size !== undefined && o.size >= 0 ? o.size : -1;
  let etag = '';
  let failures = 0;
  for (;;) {
    if (o.signal?.aborted) throw new OssAbortError();
    if (size >= 0 && offset >= size && offset > 0) return;
    let body: Readable | null = null;
    try {
      const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
      const r = await client.getStream(key, { timeout: o.timeoutMs ?? 60000, headers });
      body = r.stream as Readable;
      const status = r.res.status;
      if (status !== 200 && status !== 206) throw Object.assign(new Error(`unexpected status ${status}`), { status });
      const tag = header(r.res, 'etag').replace(/"/g, '');
      if (etag && tag && tag !== etag) {
        throw new OssOperationError(`OSS object "${key}" changed while it was being read (ETag ${etag} → ${tag})`, { operation: 'GetObject', key, status: 412 });
      }
      etag ||= tag;
      const total = totalSize(r.res, offset);
      if (total >= 0) size = total;
      // A server that ignored the Range header sends the whole object again: skip what we have.
      let skip = offset > 0 && status === 200 ? offset : 0;
      let progressed = false;
      const idle = o.idleTimeoutMs ?? o.timeoutMs ?? 60000;
      const stream = body;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => stream.destroy(Object.assign(new Error(`no data from "${key}" for ${idle} ms`), { code: 'ETIMEDOUT' })), idle);
      };
      arm();
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          clearTimeout(timer);
          let c = chunk;
          if (skip > 0) {
            if (c.length <= skip) {
              skip -= c.length;
              arm();
              continue;
            }
            c = c.subarray(skip);
            skip = 0;
          }
          offset += c.length;
          progressed = true;
          o.onBytes?.(c.length);
          yield c;
          arm();
        }
      } finally {
        clearTimeout(timer);
      }
      if (size >= 0 && offset < size) {
        if (progressed) failures = 0;
        throw new TruncatedBodyError(key, offset, size);
      }
      return;
    } catch (err) {
      body?.destroy();
      if (err instanceof OssOperationError || err instanceof OssAbortError) throw err;
      if (o.signal?.aborted) throw new OssAbortError();
      failures++;
      if (!isRetryableOssError(err) || failures >= attempts) {
        throw new OssOperationError(`OSS GetObject of "${key}" failed${isRetryableOssError(err) ? ` after ${failures} attempts` : ''} at byte ${offset}: ${describeOssError(err)}`, {
          operation: 'GetObject', key, status: errorStatus(err), attempts: failures, cause: err,
        });
      }
      await sleep(ossRetryDelay(failures, o.retry), o.signal);
    }
  }
}

/** A Readable of the object's bytes, decompressed when gzip; errors after retries are exhausted. */
export function readObject(client: OssClientLike, key: string, options: ReadObjectOptions = {}): Readable {
  const mode = options.gunzip ?? 'auto';
  const hwm = options.highWaterMark ?? 1024 * 1024;
  const raw = rawObjectBytes(client, key, options);
  if (mode === 'never') return Readable.from(raw, { objectMode: false, highWaterMark: hwm });
  async function* decoded(): AsyncGenerator<Buffer> {
    const head: Buffer[] = [];
    let headLen = 0;
    let done = false;
    while (headLen < 2) {
      const n = await raw.next();
      if (n.done) {
        done = true;
        break;
      }
      head.push(n.value);
      headLen += n.value.length;
    }
    const first = Buffer.concat(head);
    const gz = mode === 'always' || isGzipMagic(first);
    if (!gz) {
      if (first.length) yield first;
      if (!done) for await (const c of { [Symbol.asyncIterator]: () => raw }) yield c;
      return;
    }
    async function* again(): AsyncGenerator<Buffer> {
      yield first;
      if (!done) for await (const c of { [Symbol.asyncIterator]: () => raw }) yield c;
    }
    // createGunzip also reads multi-member files (concatenated gzip), unlike oss_ext.
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    const src = Readable.from(again(), { objectMode: false });
    pipeline(src, gunzip, () => undefined);
    try {
      for await (const c of gunzip as AsyncIterable<Buffer>) yield c;
    } catch (err) {
      if (err instanceof OssOperationError || err instanceof OssAbortError) throw err;
      throw new OssOperationError(`OSS object "${key}" is not valid gzip: ${(err as Error).message}`, { operation: 'Gunzip', key, cause: err });
    } finally {
      src.destroy();
    }
  }
  return Readable.from(decoded(), { objectMode: false, highWaterMark: hwm });
}

/**
 * Yields one stream per object, in order, keeping up to `parallel` downloads open ahead (each
 * bounded by its read-ahead buffer), so network and decompression overlap the consumer.
 * Consume each stream fully before asking for the next.
 */
export async function* readObjects(
  client: OssClientLike,
  objects: readonly ObjectInfo[],
  options: ReadObjectOptions & { parallel?: number } = {},
): AsyncGenerator<{ object: ObjectInfo; stream: Readable }> {
  const parallel = Math.max(1, options.parallel ?? 2);
  const open = (o: ObjectInfo) => {
    const s = readObject(client, o.key, { ...options, size: o.size >= 0 ? o.size : undefined });
    // Start reading ahead now (fills the stream's buffer up to highWaterMark, then waits).
    s.pause();
    s.read(0);
    // Errors of read-ahead streams surface when the consumer reads them; keep them from
    // being unhandled meanwhile.
    s.on('error', () => undefined);
    return { object: o, stream: s };
  };
  const queue: Array<{ object: ObjectInfo; stream: Readable }> = [];
  let next = 0;
  try {
    while (next < objects.length && queue.length < parallel) queue.push(open(objects[next++]));
    while (queue.length) {
      const item = queue.shift()!;
      yield item;
      if (next < objects.length) queue.push(open(objects[next++]));
    }
  } finally {
    for (const q of queue) q.stream.destroy();
  }
}
