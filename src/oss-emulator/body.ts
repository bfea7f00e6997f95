// Receives a request body into a temporary file while hashing it (MD5 for ETag and
// Content-MD5 checks, CRC-64 for x-oss-hash-crc64ecma). Streams only: memory stays
// bounded whatever the size.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { Transform, TransformCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64 } from './crc64';
import { Errors } from './errors';

export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * 1024;

export interface ReceivedBody { size: number; md5: Buffer; crc64: string }

export class HashingStream extends Transform {
  readonly md5 = crypto.createHash('md5');
  readonly crc: Crc64;
  size = 0;

  /** `withMd5: false` skips MD5 where no ETag needs it (multipart assembly). */
  constructor(private readonly limit: number, crcStart?: string, private readonly withMd5 = true) {
    super();
    this.crc = new Crc64(crcStart);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      cb(Errors.entityTooLarge());
      return;
    }
    if (this.withMd5) this.md5.update(chunk);
    this.crc.update(chunk);
    cb(null, chunk);
  }
}

export interface ReceiveOptions {
  /** Content-Length the client announced, if any. */
  expectedLength?: number;
  /** Base64 Content-MD5 the client sent, if any. */
  contentMd5?: string;
  /** Continue the CRC from this value (AppendObject). */
  crcStart?: string;
  /** Write into an existing file at this offset instead of creating `path`. */
  appendAt?: number;
  limit?: number;
}

/**
 * Streams `body` into `path`. On any failure (client abort, size or digest mismatch) the
 * bytes written are discarded by the caller (it owns `path`); this function only throws.
 */
export async function receiveBody(body: Readable, path: string, opts: ReceiveOptions = {}): Promise<ReceivedBody> {
  if (opts.contentMd5 !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(opts.contentMd5)) {
    body.resume();
    throw Errors.invalidDigest();
  }
  const hasher = new HashingStream(opts.limit ?? MAX_OBJECT_SIZE, opts.crcStart);
  const out = opts.appendAt !== undefined
    ? fs.createWriteStream(path, { flags: 'r+', start: opts.appendAt })
    : fs.createWriteStream(path, { flags: 'wx' });
  await pipeline(body, hasher, out);
  if (opts.expectedLength !== undefined && hasher.size !== opts.expectedLength) throw Errors.incompleteBody();
  const md5 = hasher.md5.digest();
  if (opts.contentMd5 !== undefined && md5.toString('base64') !== opts.contentMd5) throw Errors.badDigest();
  return { size: hasher.size, md5, crc64: hasher.crc.value() };
}
