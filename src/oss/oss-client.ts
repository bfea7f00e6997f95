/**
 * The subset of an `ali-oss` client (`new OSS({...})`) this library calls. An ali-oss 6.x
 * instance satisfies it structurally; declaring it here keeps `any` from ali-oss's typings out
 * of our API and documents exactly which calls we depend on.
 */
import type { Readable } from 'node:stream';

export interface OssResponseInfo {
  status: number;
  headers: Record<string, string | string[] | undefined> | object;
}

export interface OssObjectMeta {
  name: string;
  size: number;
  etag: string;
  lastModified?: string;
}

export interface OssClientLike {
  put(name: string, file: Buffer, options?: { timeout?: number; mime?: string; headers?: object }): Promise<{ name: string; res: OssResponseInfo }>;
  initMultipartUpload(name: string, options?: { timeout?: number; mime?: string; headers?: object }): Promise<{ uploadId: string; res?: OssResponseInfo }>;
  uploadPart(name: string, uploadId: string, partNo: number, file: Buffer, start: number, end: number, options?: { timeout?: number; headers?: object }): Promise<{ name: string; etag: string; res?: OssResponseInfo }>;
  completeMultipartUpload(name: string, uploadId: string, parts: Array<{ number: number; etag: string }>, options?: { timeout?: number }): Promise<{ bucket?: string; name?: string; etag?: string; data?: unknown; res: OssResponseInfo }>;
  abortMultipartUpload(name: string, uploadId: string, options?: { timeout?: number }): Promise<unknown>;
  listV2(query: { prefix?: string; 'continuation-token'?: string; 'max-keys'?: string | number; delimiter?: string }, options?: { timeout?: number }): Promise<{ objects?: OssObjectMeta[] | null; nextContinuationToken?: string | null; isTruncated: boolean }>;
  getStream(name: string, options?: { timeout?: number; headers?: object }): Promise<{ stream?: Readable | unknown; res: OssResponseInfo }>;
  /** Optional (ali-oss has it): used to clean up uploads whose Initiate response was lost. */
  listUploads?(query: { prefix?: string; 'max-uploads'?: number }, options?: { timeout?: number }): Promise<{ uploads: Array<{ name: string; uploadId: string }> }>;
  head(name: string, options?: { timeout?: number }): Promise<{ status: number; res: OssResponseInfo; meta?: unknown }>;
}
