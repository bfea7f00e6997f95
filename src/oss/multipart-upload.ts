/**
 * Upload of a byte stream of unknown length to OSS (spec/oss.md §2.5): parts of `partSize`
 * bytes uploaded with at most `parallel` in flight (backpressure holds the producer while they
 * are), each part retried with backoff on 5xx/timeouts/resets, `completeMultipartUpload` at
 * the end, `abortMultipartUpload` on failure or cancellation. Output smaller than one part is a
 * single `put` of a Buffer. Memory ≈ (parallel + 1) × partSize.
 */
import { Writable } from 'node:stream';
import type { OssClientLike } from './oss-client';
import type { RetryOptions } from './retry';

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
  parts: number;
}

/** A Writable sink; `result` settles after the object is complete (or the upload aborted). */
export declare class MultipartUploadStream extends Writable {
  constructor(client: OssClientLike, key: string, options?: UploadOptions);
  readonly result: Promise<UploadResult>;
}

/** Uploads a Readable / async iterable of Buffers to `key`. */
export declare function uploadStream(client: OssClientLike, key: string, source: AsyncIterable<Buffer | Uint8Array>, options?: UploadOptions): Promise<UploadResult>;
