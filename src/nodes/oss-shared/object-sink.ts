// One object of oss-export's messages mode: encoded rows are queued into a PassThrough, go
// through the parallel gzip pool (one single-member gzip stream) and into a streaming
// multipart upload. Writes never block (the roller caps the bytes queued); a failed upload
// stops the queueing at once; abort cancels the upload (the library aborts the multipart
// upload, so nothing dangles).
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createParallelGzip, uploadStream, type GzipPool, type OssClientLike } from '../../oss';
import type { ObjectSink } from './roller';

export interface ObjectSinkOptions {
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

export function createObjectSink(o: ObjectSinkOptions): ObjectSink {
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
