/**
 * Parallel gzip, the pigz technique (spec/oss.md §1.5): the input is cut into blocks, each
 * block is raw-deflated in a worker thread with the previous 32 KiB of input as dictionary and
 * ends with a sync flush (the last block is finished), and the compressed blocks are stitched,
 * in order, between ONE gzip header and ONE trailer (CRC-32 of the whole input, combined from
 * the blocks' CRCs, and ISIZE). The result is a standard single-member gzip stream, which is
 * what oss_ext and every reader decode whole.
 */
import { Transform } from 'node:stream';

export interface GzipPoolOptions {
  /** Worker threads. Default: number of CPUs. */
  size?: number;
}

export interface ParallelGzipOptions {
  /** zlib level 1–9. Default 6. */
  level?: number;
  /** Uncompressed bytes per block (≥ 32 KiB). Default 256 KiB. */
  blockSize?: number;
  /** Blocks being compressed or waiting to be written at once (bounds memory). Default 2 × pool size + 2. */
  maxInFlight?: number;
  /** A pool shared by several streams (e.g. the objects of one export). Default: a private pool, closed at end. */
  pool?: GzipPool;
  /** Pool size when no pool is given. */
  workers?: number;
}

export declare class GzipPool {
  constructor(options?: GzipPoolOptions);
  readonly size: number;
  /** Compresses one block: raw deflate primed with `dictionary`, sync-flushed unless `last`. */
  deflateBlock(input: Buffer, dictionary: Buffer | null, level: number, last: boolean): Promise<{ data: Buffer; crc: number }>;
  /** Terminates the workers. */
  close(): Promise<void>;
}

/** A Transform: bytes in, one single-member gzip stream out; output order = input order. */
export declare class ParallelGzip extends Transform {
  constructor(options?: ParallelGzipOptions);
  /** Uncompressed bytes consumed so far. */
  readonly bytesIn: number;
  /** Compressed bytes produced so far. */
  readonly bytesOut: number;
}

export declare function createParallelGzip(options?: ParallelGzipOptions): ParallelGzip;

/** CRC-32 of A‖B from crc(A), crc(B) and len(B) (zlib's crc32_combine). */
export declare function crc32Combine(crcA: number, crcB: number, lenB: number): number;
