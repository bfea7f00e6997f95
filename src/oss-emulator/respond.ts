// Writing responses, with the two body-level faults applied here: 'slow' trickles object
// bodies (or holds back other responses) and 'truncate' announces a Content-Length and
// then closes the connection after sending about half of it.
import type { ServerResponse } from 'node:http';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pipeline as pipelineCb } from 'node:stream';
import { OssError, errorXml } from './errors';

export interface ResponseContext {
  requestId: string;
  hostId: string;
  method: string;
  fault?: 'slow' | 'truncate';
  slowBytesPerSecond: number;
  slowDelayMs: number;
  status: number;
  bytesSent: number;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function destroySoon(res: ServerResponse): void {
  // Let the bytes already written reach the socket, then cut the connection mid-body.
  const sock = res.socket;
  if (!sock) return;
  sock.write('', () => sock.destroy());
  setTimeout(() => sock.destroy(), 50).unref();
}

function setHeaders(res: ServerResponse, headers: Record<string, string | number | undefined>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) res.setHeader(name, value);
  }
}

/** A response whose body (if any) is small and already in memory. */
export async function sendSmall(
  ctx: ResponseContext, res: ServerResponse, status: number,
  headers: Record<string, string | number | undefined>, body?: string,
): Promise<void> {
  const buf = body === undefined ? Buffer.alloc(0) : Buffer.from(body, 'utf8');
  ctx.status = status;
  if (ctx.fault === 'slow') await delay(ctx.slowDelayMs);
  setHeaders(res, headers);
  if (ctx.fault === 'truncate' && ctx.method !== 'HEAD' && status !== 204 && status !== 304) {
    const announced = Math.max(buf.length, 16);
    res.setHeader('Content-Length', announced);
    res.writeHead(status);
    const half = buf.subarray(0, Math.floor(buf.length / 2));
    ctx.bytesSent = half.length;
    if (half.length) res.write(half);
    else res.flushHeaders();
    destroySoon(res);
    return;
  }
  // HEAD announces the object's length (set by the caller) but sends no body.
  if (status !== 204 && status !== 304 && !(ctx.method === 'HEAD' && res.hasHeader('Content-Length'))) res.setHeader('Content-Length', buf.length);
  res.writeHead(status);
  ctx.bytesSent = buf.length;
  res.end(ctx.method === 'HEAD' ? undefined : buf);
}

export function sendXml(ctx: ResponseContext, res: ServerResponse, status: number, xml: string, headers: Record<string, string | number | undefined> = {}): Promise<void> {
  return sendSmall(ctx, res, status, { 'Content-Type': 'application/xml', ...headers }, xml);
}

export function sendError(ctx: ResponseContext, res: ServerResponse, err: OssError): Promise<void> {
  const xml = errorXml(err, ctx.requestId, ctx.hostId);
  if (ctx.method === 'HEAD') {
    // HEAD answers carry no body; OSS puts the error document, base64, in x-oss-err.
    return sendSmall(ctx, res, err.status, { ...err.headers, 'x-oss-err': Buffer.from(xml).toString('base64') });
  }
  return sendXml(ctx, res, err.status, xml, err.headers);
}

class Trickle extends Transform {
  constructor(private readonly bytesPerSecond: number) { super(); }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const step = Math.max(1, Math.floor(this.bytesPerSecond / 20)); // 20 slices a second
    void (async () => {
      for (let off = 0; off < chunk.length; off += step) {
        this.push(chunk.subarray(off, off + step));
        await delay(50);
      }
      cb();
    })();
  }
}

class Cut extends Transform {
  private sent = 0;
  constructor(private readonly limit: number, private readonly onLimit: () => void) { super(); }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const room = this.limit - this.sent;
    if (room <= 0) { cb(); return; }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.sent += part.length;
    this.push(part);
    if (this.sent >= this.limit) this.onLimit();
    cb();
  }
}

/** Streams an object body of known length. Resolves when sent (or the client went away). */
export async function sendStream(
  ctx: ResponseContext, res: ServerResponse, status: number,
  headers: Record<string, string | number | undefined>, body: Readable, length: number,
): Promise<void> {
  ctx.status = status;
  setHeaders(res, headers);
  res.setHeader('Content-Length', length);
  res.writeHead(status);
  if (ctx.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  let counted = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) { counted += chunk.length; cb(null, chunk); },
  });
  const transforms: Transform[] = [];
  let cutDone = false;
  if (ctx.fault === 'truncate') transforms.push(new Cut(Math.floor(length / 2), () => { cutDone = true; }));
  if (ctx.fault === 'slow') transforms.push(new Trickle(ctx.slowBytesPerSecond));
  transforms.push(counter);
  try {
    if (ctx.fault === 'truncate') {
      // Do not end the response (that would be a clean short body); drop the socket instead.
      const out = pipelineCb([body, ...transforms], () => undefined) as unknown as Readable;
      for await (const chunk of out) {
        if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
        if (cutDone) break;
      }
      body.destroy();
      destroySoon(res);
      return;
    }
    await pipeline([body, ...transforms, res]);
  } catch {
    // Client disconnected or the file failed mid-way: the connection is already unusable.
    res.destroy();
  } finally {
    ctx.bytesSent = counted;
  }
}
