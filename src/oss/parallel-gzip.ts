/**
 * Parallel gzip, the pigz technique (spec/oss.md §1.5): the input is cut into blocks, each
 * block is raw-deflated in a worker thread with the previous 32 KiB of input as dictionary and
 * ends with a sync flush (the last block is finished), and the compressed blocks are stitched,
 * in order, between ONE gzip header and ONE trailer (CRC-32 of the whole input, combined from
 * the blocks' CRCs, and ISIZE). The result is a standard single-member gzip stream, which is
 * what oss_ext and every reader decode whole.
 */
import os from 'node:os';
import path from 'node:path';
import { Transform, TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { DeflateJob, DeflateResult } from './gzip-worker';

export interface GzipPoolOptions {
  /** Worker threads. Default: number of CPUs. */
  size?: number;
  /** Jobs handed to one worker at once (running + queued). Default 2. */
  perWorker?: number;
}

export interface ParallelGzipOptions {
  /** zlib level 1–9. Default 6. */
  level?: number;
  /** Uncompressed bytes per block (≥ 32 KiB). Default 1 MiB (fewer, larger jobs keep every worker busy; measured best on 2 cores). */
  blockSize?: number;
  /** Blocks being compressed or waiting to be written at once (bounds memory). Default 2 × pool size + 2. */
  maxInFlight?: number;
  /** A pool shared by several streams (e.g. the objects of one export). Default: a private pool, closed at end. */
  pool?: GzipPool;
  /** Pool size when no pool is given. */
  workers?: number;
  /**
   * Deflate window, 9–15 (2^n bytes). Default 15 (32 KiB, as gzip and pigz). Smaller windows are
   * opt-in: with Node's zlib, 13 deflates row-oriented CSV about 1.5–1.8× faster at level 6 and even
   * a little smaller (matches within a few rows), but loses much ratio on data whose repeats lie
   * further apart (measured: +29 % bytes on license texts, +7 % on a binary). Any gunzip reads it.
   */
  windowBits?: number;
}

const DICT = 32 * 1024;

export class GzipError extends Error {
  readonly code = 'OSS_GZIP';
  constructor(message: string) {
    super(message);
    this.name = 'GzipError';
  }
}

interface Pending {
  job: DeflateJob;
  resolve: (r: { data: Buffer; crc: number }) => void;
  reject: (e: Error) => void;
}

/**
 * A fixed set of worker threads that deflate blocks. Each worker holds up to `perWorker` jobs
 * (default 2: one running, one queued in its message port), so a worker that finishes a block
 * starts the next without waiting for the main thread to be scheduled; the rest wait in a
 * shared queue and go to whichever worker frees up first, so a worker the OS runs less often
 * does not hold back blocks another could compress (pigz's shared job list does the same).
 * Idle workers do not keep the process alive.
 */
export class GzipPool {
  readonly size: number;
  private readonly workers: Array<{ w: Worker; queue: Pending[] }> = [];
  private readonly waiting: Pending[] = [];
  private readonly perWorker: number;
  private nextId = 1;
  private closed = false;

  constructor(options: GzipPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? os.availableParallelism?.() ?? os.cpus().length));
    this.perWorker = Math.max(1, Math.floor(options.perWorker ?? 2));
  }

  private post(slot: { w: Worker; queue: Pending[] }, p: Pending): void {
    slot.queue.push(p);
    slot.w.ref();
    slot.w.postMessage(p.job, [p.job.input.buffer as ArrayBuffer]);
  }

  /** Hands waiting jobs to workers with room (spawning up to `size`). */
  private dispatch(): void {
    while (this.waiting.length) {
      let slot = this.workers.length ? this.workers.reduce((a, b) => (b.queue.length < a.queue.length ? b : a)) : null;
      if ((!slot || slot.queue.length > 0) && this.workers.length < this.size) slot = this.spawn();
      if (!slot || slot.queue.length >= this.perWorker) return;
      this.post(slot, this.waiting.shift()!);
    }
  }

  private spawn(): { w: Worker; queue: Pending[] } {
    const w = new Worker(path.join(__dirname, 'gzip-worker.js'));
    const slot = { w, queue: [] as Pending[] };
    w.on('message', (r: DeflateResult) => {
      const p = slot.queue.shift();
      if (p) {
        if (r.error !== undefined || !r.data) p.reject(new GzipError(`deflate failed: ${r.error ?? 'no data'}`));
        else p.resolve({ data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), crc: r.crc ?? 0 });
      }
      this.dispatch();
      if (slot.queue.length === 0) w.unref();
    });
    w.on('error', (err) => this.fail(slot, err));
    w.on('exit', (code) => {
      if (!this.closed) this.fail(slot, new GzipError(`gzip worker exited with code ${code}`));
    });
    w.unref();
    this.workers.push(slot);
    return slot;
  }

  private fail(slot: { w: Worker; queue: Pending[] }, err: Error): void {
    const i = this.workers.indexOf(slot);
    if (i >= 0) this.workers.splice(i, 1);
    for (const p of slot.queue.splice(0)) p.reject(new GzipError(`gzip worker failed: ${err.message}`));
    this.dispatch();
  }

  /**
   * Compresses one block: raw deflate primed with `dictionary` (of which a window smaller than
   * 32 KiB uses the tail), sync-flushed unless `last`.
   * `input` must own its ArrayBuffer entirely: it is transferred to the worker (detached here).
   */
  deflateBlock(input: Uint8Array, dictionary: Uint8Array | null, level: number, last: boolean, windowBits = 15): Promise<{ data: Buffer; crc: number }> {
    if (this.closed) return Promise.reject(new GzipError('gzip pool is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ job: { id: this.nextId++, input, dictionary, level, last, windowBits }, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates the workers; queued blocks are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.workers.splice(0);
    for (const p of this.waiting.splice(0)) p.reject(new GzipError('gzip pool closed'));
    for (const s of slots) for (const p of s.queue.splice(0)) p.reject(new GzipError('gzip pool closed'));
    await Promise.all(slots.map((s) => s.w.terminate()));
  }
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let i = 0;
  while (vec) {
    if (vec & 1) sum ^= mat[i];
    vec >>>= 1;
    i++;
  }
  return sum >>> 0;
}
function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]);
}

/** CRC-32 of A‖B from crc(A), crc(B) and len(B) (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  if (lenB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320;
  let row = 1;
  for (let n = 1; n < 32; n++) {
    odd[n] = row;
    row <<= 1;
  }
  gf2Square(even, odd);
  gf2Square(odd, even);
  let crc1 = crcA >>> 0;
  let len = lenB;
  do {
    gf2Square(even, odd);
    if (len & 1) crc1 = gf2Times(even, crc1);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len & 1) crc1 = gf2Times(odd, crc1);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc1 ^ crcB) >>> 0;
}

interface InFlight {
  promise: Promise<{ data: Buffer; crc: number }>;
  length: number;
  settled: { data: Buffer; crc: number } | null;
  error: Error | null;
}

/** A Transform: bytes in, one single-member gzip stream out; output order = input order. */
export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly windowBits: number;
  private readonly blockSize: number;
  private readonly maxInFlight: number;
  private readonly pool: GzipPool;
  private readonly ownPool: boolean;
  private parts: Buffer[] = [];
  private partsLen = 0;
  private dict: Buffer | null = null;
  private readonly inflight: InFlight[] = [];
  private crc = 0;
  private headerSent = false;
  private _bytesIn = 0;
  private _bytesOut = 0;

  constructor(options: ParallelGzipOptions = {}) {
    super({ readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 1024 * 1024 });
    const level = options.level ?? 6;
    if (!Number.isInteger(level) || level < 1 || level > 9) throw new GzipError(`gzip level must be an integer 1–9, got ${level}`);
    const blockSize = options.blockSize ?? 1024 * 1024;
    if (!Number.isInteger(blockSize) || blockSize < DICT) throw new GzipError(`gzip blockSize must be at least ${DICT} bytes`);
    const windowBits = options.windowBits ?? 15;
    if (!Number.isInteger(windowBits) || windowBits < 9 || windowBits > 15) throw new GzipError(`gzip windowBits must be an integer 9–15, got ${windowBits}`);
    this.windowBits = windowBits;
    this.level = level;
    this.blockSize = blockSize;
    this.ownPool = !options.pool;
    this.pool = options.pool ?? new GzipPool({ size: options.workers });
    this.maxInFlight = Math.max(1, options.maxInFlight ?? this.pool.size * 2 + 2);
  }

  /** Uncompressed bytes consumed so far. */
  get bytesIn(): number {
    return this._bytesIn;
  }
  /** Compressed bytes produced so far (header and trailer included). */
  get bytesOut(): number {
    return this._bytesOut;
  }

  private out(b: Buffer): void {
    this._bytesOut += b.length;
    this.push(b);
  }

  private header(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL (2 = max compression, 4 = fastest) OS=3 (Unix), as pigz/gzip.
    this.out(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, this.level === 9 ? 2 : this.level === 1 ? 4 : 0, 3]));
  }

  private submit(last: boolean): void {
    const len = this.partsLen;
    // A fresh, unpooled ArrayBuffer of exactly `len` bytes: it is transferred to the worker.
    // allocUnsafeSlow skips zero-filling memory that the copy below overwrites entirely.
    const block = Buffer.allocUnsafeSlow(len);
    let off = 0;
    for (const p of this.parts) {
      block.set(p, off);
      off += p.length;
    }
    this.parts = [];
    this.partsLen = 0;
    const dict = this.dict;
    // The next block's dictionary: the last 32 KiB of input before it (may span blocks when small).
    if (len >= DICT) this.dict = Buffer.from(block.subarray(len - DICT));
    else if (len > 0) {
      const prev = dict ?? Buffer.alloc(0);
      const joined = Buffer.concat([prev, Buffer.from(block)]);
      this.dict = joined.subarray(Math.max(0, joined.length - DICT));
    }
    const entry: InFlight = { promise: this.pool.deflateBlock(block, dict, this.level, last, this.windowBits), length: len, settled: null, error: null };
    entry.promise.then(
      (r) => {
        entry.settled = r;
      },
      (e: Error) => {
        entry.error = e;
      },
    );
    this.inflight.push(entry);
  }

  /** Writes out finished blocks in order; waits for the oldest while more than `keep` are pending. */
  private async drain(keep: number): Promise<void> {
    while (this.inflight.length > 0) {
      const head = this.inflight[0];
      if (!head.settled && !head.error) {
        if (this.inflight.length <= keep) return;
        await head.promise.catch(() => undefined);
      }
      this.inflight.shift();
      if (head.error) throw head.error;
      const r = head.settled!;
      this.crc = crc32Combine(this.crc, r.crc, head.length);
      this.out(r.data);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.header();
    this._bytesIn += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(chunk.length - off, this.blockSize - this.partsLen);
      this.parts.push(off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take));
      this.partsLen += take;
      off += take;
      if (this.partsLen === this.blockSize) this.submit(false);
    }
    this.drain(this.maxInFlight - 1).then(() => cb(), (e: Error) => cb(e));
  }

  override _flush(cb: TransformCallback): void {
    this.header();
    this.submit(true);
    this.drain(0)
      .then(() => {
        const t = Buffer.alloc(8);
        t.writeUInt32LE(this.crc >>> 0, 0);
        t.writeUInt32LE(this._bytesIn % 0x100000000, 4);
        this.out(t);
        return this.ownPool ? this.pool.close() : undefined;
      })
      .then(() => cb(), (e: Error) => cb(e));
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.ownPool) this.pool.close().then(() => cb(err), () => cb(err));
    else cb(err);
  }
}

export function createParallelGzip(options?: ParallelGzipOptions): ParallelGzip {
  return new ParallelGzip(options);
}
