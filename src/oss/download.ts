/**
 * Download side (spec/oss.md §1.8): list objects under a prefix with listV2 paging, read each
 * object as a stream with retries that resume with a ranged GET from the byte reached, and
 * gunzip when the first bytes are the gzip magic `1f 8b` (never by suffix: gpossext output has
 * none). Never holds a whole object in memory.
 */
import type { Readable } from 'node:stream';
import type { OssClientLike } from './oss-client';
import type { RetryOptions } from './retry';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
}

export interface ListOptions {
  /** Only direct children (delimiter '/'). Default false (recursive, like `prefix=`). */
  directOnly?: boolean;
  /** Page size, ≤ 1000. Default 1000. */
  pageSize?: number;
  retry?: RetryOptions;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Every object under `prefix`, in key order, skipping "folder" keys ending in `/`. */
export declare function listObjects(client: OssClientLike, prefix: string, options?: ListOptions): Promise<ObjectInfo[]>;

export interface ReadObjectOptions {
  /** Object size if known (from listing); otherwise a HEAD finds it. */
  size?: number;
  /** 'auto' (default): gunzip when the object starts with 1f 8b. */
  gunzip?: 'auto' | 'always' | 'never';
  retry?: RetryOptions;
  /** Timeout for each GET until headers. Default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with raw (compressed) bytes received for this object. */
  onBytes?: (n: number) => void;
}

/** A Readable of the object's bytes, decompressed when gzip; errors after retries are exhausted. */
export declare function readObject(client: OssClientLike, key: string, options?: ReadObjectOptions): Readable;

/** True when `head` starts with the gzip magic bytes 1f 8b. */
export declare function isGzipMagic(head: Uint8Array): boolean;

/**
 * Yields one stream per object, in order, keeping up to `parallel` downloads open ahead (each
 * bounded by its stream buffer), so network and decompression overlap the consumer.
 */
export declare function readObjects(client: OssClientLike, objects: readonly ObjectInfo[], options?: ReadObjectOptions & { parallel?: number }): AsyncGenerator<{ object: ObjectInfo; stream: Readable }>;
