// On-disk object store. Layout under the data directory:
//   buckets/<bucket>/bucket.json
//   buckets/<bucket>/objects/<sha256(key)>.json   object metadata (holds the key itself)
//   buckets/<bucket>/blobs/<id>                    object bytes, immutable once committed
//   buckets/<bucket>/uploads/<uploadId>/upload.json, part-<n>.json, part-<n>-<id>
//   tmp/<id>                                       bodies being received
// Keys never become path components: the metadata file is named by the key's SHA-256
// and blobs by random ids, so no key (`..`, `/x`, NUL, unicode) can reach outside the
// directory. Every change is temp file + rename, so a crash never leaves a torn object;
// leftovers (tmp files, unreferenced blobs) are swept at start.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { receiveBody, MAX_OBJECT_SIZE } from './body';
import { crc64Combine } from './crc64';
import { Errors, OssError } from './errors';
import { compareKeys, lowerBound } from './keyorder';
import { KeyedMutex } from './mutex';

export type ObjectType = 'Normal' | 'Appendable' | 'Multipart';

export interface ObjectMeta {
  key: string;
  blob: string;
  size: number;
  /** Upper-case hex, without quotes; `<hex>-<parts>` for multipart objects. */
  etag: string;
  crc64: string;
  lastModified: number;
  contentType: string;
  objectType: ObjectType;
  userMeta: Record<string, string>;
  /** Stored standard headers (cache-control, content-disposition, content-encoding, expires). */
  headers: Record<string, string>;
}

export interface PartMeta { partNumber: number; blob: string; size: number; etag: string; crc64: string; lastModified: number }

export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  contentType: string;
  userMeta: Record<string, string>;
  headers: Record<string, string>;
}

interface Upload extends UploadMeta { parts: Map<number, PartMeta> }

export interface WriteAttributes {
  contentType: string;
  userMeta: Record<string, string>;
  headers: Record<string, string>;
}

export interface BodyInput {
  body: Readable;
  contentLength?: number;
  contentMd5?: string;
}

interface Bucket { name: string; created: number; objects: Map<string, ObjectMeta>; keys: string[] }

export const MIN_PART_SIZE = 100 * 1024;
export const MAX_PART_NUMBER = 10000;

export function validateBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name);
}

export function validateKey(key: string): void {
  if (key === '') throw Errors.invalidObjectName('the object name is empty');
  if (Buffer.byteLength(key, 'utf8') > 1023) throw Errors.invalidObjectName('the object name is longer than 1023 bytes');
  if (key.includes('\0')) throw Errors.invalidObjectName('the object name contains a NUL character');
}

function keyFileName(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex') + '.json';
}

function newId(): string {
  return crypto.randomBytes(16).toString('hex');
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

async function unlinkQuiet(p: string): Promise<void> {
  await fsp.unlink(p).catch(() => undefined);
}

export class Store {
  private readonly buckets = new Map<string, Bucket>();
  private readonly uploads = new Map<string, Upload>();
  private readonly locks = new KeyedMutex();

  private constructor(readonly root: string) {}

  static async open(root: string): Promise<Store> {
    const store = new Store(path.resolve(root));
    await fsp.mkdir(store.root, { recursive: true });
    await store.lock();
    try {
      await store.load();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private get lockPath(): string { return path.join(this.root, 'emulator.pid'); }

  /**
   * One emulator per data directory: a second one would sweep the first one's temporary
   * files at start. A lock left by a dead process is taken over.
   */
  private async lock(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fsp.writeFile(this.lockPath, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      const owner = Number((await fsp.readFile(this.lockPath, 'utf8').catch(() => '')).trim());
      let alive = false;
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0);
          alive = true;
        } catch (err) {
          alive = isErrno(err, 'EPERM');
        }
      }
      if (alive) {
        throw new Error(`OSS emulator data directory ${this.root} is in use by process ${owner}${owner === process.pid ? ' (this process: stop the other emulator first)' : ''}`);
      }
      await unlinkQuiet(this.lockPath);
    }
    throw new Error(`could not lock the OSS emulator data directory ${this.root}`);
  }

  /** Releases the data directory. */
  async close(): Promise<void> {
    const owner = (await fsp.readFile(this.lockPath, 'utf8').catch(() => '')).trim();
    if (owner === String(process.pid)) await unlinkQuiet(this.lockPath);
  }

  private get tmpDir(): string { return path.join(this.root, 'tmp'); }
  private bucketDir(b: string): string { return path.join(this.root, 'buckets', b); }
  private blobPath(b: string, blob: string): string { return path.join(this.bucketDir(b), 'blobs', blob); }
  private metaPath(b: string, key: string): string { return path.join(this.bucketDir(b), 'objects', keyFileName(key)); }
  private uploadDir(u: UploadMeta): string { return path.join(this.bucketDir(u.bucket), 'uploads', u.uploadId); }

  private tmpPath(): string { return path.join(this.tmpDir, newId()); }

  private async writeJsonAtomic(target: string, value: unknown): Promise<void> {
    const tmp = this.tmpPath();
    await fsp.writeFile(tmp, JSON.stringify(value), { flag: 'wx' });
    try {
      await fsp.rename(tmp, target);
    } catch (err) {
      await unlinkQuiet(tmp);
      throw err;
    }
  }

  // ---- start-up -------------------------------------------------------------------

  private async load(): Promise<void> {
    await fsp.rm(this.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
    await fsp.mkdir(path.join(this.root, 'buckets'), { recursive: true });
    for (const name of await fsp.readdir(path.join(this.root, 'buckets'))) {
      if (!validateBucketName(name)) continue;
      let info: { created?: number };
      try {
        info = JSON.parse(await fsp.readFile(path.join(this.bucketDir(name), 'bucket.json'), 'utf8')) as { created?: number };
      } catch {
        continue;
      }
      const bucket: Bucket = { name, created: info.created ?? Date.now(), objects: new Map(), keys: [] };
      const referenced = new Set<string>();
      const objDir = path.join(this.bucketDir(name), 'objects');
      for (const file of await fsp.readdir(objDir)) {
        if (!file.endsWith('.json')) continue;
        try {
          const meta = JSON.parse(await fsp.readFile(path.join(objDir, file), 'utf8')) as ObjectMeta;
          if (keyFileName(meta.key) !== file) continue;
          bucket.objects.set(meta.key, meta);
          referenced.add(meta.blob);
        } catch {
          // A metadata file is only ever renamed into place whole; an unreadable one is foreign.
        }
      }
      bucket.keys = [...bucket.objects.keys()].sort(compareKeys);
      for (const blob of await fsp.readdir(path.join(this.bucketDir(name), 'blobs'))) {
        if (!referenced.has(blob)) await unlinkQuiet(this.blobPath(name, blob));
      }
      this.buckets.set(name, bucket);
      await this.loadUploads(name);
    }
  }

  private async loadUploads(bucket: string): Promise<void> {
    const dir = path.join(this.bucketDir(bucket), 'uploads');
    for (const id of await fsp.readdir(dir)) {
      const udir = path.join(dir, id);
      let meta: UploadMeta;
      try {
        meta = JSON.parse(await fsp.readFile(path.join(udir, 'upload.json'), 'utf8')) as UploadMeta;
      } catch {
        await fsp.rm(udir, { recursive: true, force: true });
        continue;
      }
      const upload: Upload = { ...meta, bucket, uploadId: id, parts: new Map() };
      const files = await fsp.readdir(udir);
      for (const f of files) {
        if (!/^part-\d+\.json$/.test(f)) continue;
        try {
          const part = JSON.parse(await fsp.readFile(path.join(udir, f), 'utf8')) as PartMeta;
          upload.parts.set(part.partNumber, part);
        } catch {
          // ignore: see above
        }
      }
      const blobs = new Set([...upload.parts.values()].map((p) => p.blob));
      for (const f of files) {
        if (f !== 'upload.json' && !f.endsWith('.json') && !blobs.has(f)) await unlinkQuiet(path.join(udir, f));
      }
      this.uploads.set(id, upload);
    }
  }

  // ---- buckets --------------------------------------------------------------------

  async createBucket(name: string): Promise<void> {
    if (!validateBucketName(name)) throw Errors.invalidArgument(`Invalid bucket name "${name}": 3-63 characters of a-z, 0-9 and "-", not starting or ending with "-".`, 'bucket', name);
    if (this.buckets.has(name)) return;
    const dir = this.bucketDir(name);
    for (const sub of ['objects', 'blobs', 'uploads']) await fsp.mkdir(path.join(dir, sub), { recursive: true });
    const created = Date.now();
    await this.writeJsonAtomic(path.join(dir, 'bucket.json'), { name, created });
    this.buckets.set(name, { name, created, objects: new Map(), keys: [] });
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  bucketNames(): string[] {
    return [...this.buckets.keys()].sort();
  }

  private bucket(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw Errors.noSuchBucket(name);
    return b;
  }

  /** Sorted keys (UTF-8 order) of a bucket; the array is live, do not modify. */
  sortedKeys(bucket: string): readonly string[] {
    return this.bucket(bucket).keys;
  }

  // ---- objects --------------------------------------------------------------------

  head(bucket: string, key: string): ObjectMeta | undefined {
    return this.bucket(bucket).objects.get(key);
  }

  /**
   * Opens the current version of an object for reading. A concurrent overwrite may unlink
   * the blob between the index lookup and the open; the retry then reads the new version.
   */
  async open(bucket: string, key: string): Promise<{ meta: ObjectMeta; file: fsp.FileHandle }> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const meta = this.head(bucket, key);
      if (!meta) throw Errors.noSuchKey(key);
      try {
        return { meta, file: await fsp.open(this.blobPath(bucket, meta.blob), 'r') };
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    throw Errors.internal();
  }

  private async commitObject(bucket: string, meta: ObjectMeta, forbidOverwrite = false): Promise<void> {
    const b = this.bucket(bucket);
    await this.locks.run(`o:${bucket}\0${meta.key}`, async () => {
      const previous = b.objects.get(meta.key);
      if (forbidOverwrite && previous) throw Errors.fileAlreadyExists();
      await this.writeJsonAtomic(this.metaPath(bucket, meta.key), meta);
      b.objects.set(meta.key, meta);
      if (!previous) b.keys.splice(lowerBound(b.keys, meta.key, false), 0, meta.key);
      if (previous && previous.blob !== meta.blob) await unlinkQuiet(this.blobPath(bucket, previous.blob));
    });
  }

  async put(bucket: string, key: string, input: BodyInput, attrs: WriteAttributes, forbidOverwrite = false): Promise<ObjectMeta> {
    this.bucket(bucket);
    validateKey(key);
    if (forbidOverwrite && this.head(bucket, key)) {
      input.body.resume();
      throw Errors.fileAlreadyExists();
    }
    const tmp = this.tmpPath();
    const blob = newId();
    try {
      const got = await receiveBody(input.body, tmp, { expectedLength: input.contentLength, contentMd5: input.contentMd5 });
      await fsp.rename(tmp, this.blobPath(bucket, blob));
      const meta: ObjectMeta = {
        key, blob, size: got.size, etag: got.md5.toString('hex').toUpperCase(), crc64: got.crc64,
        lastModified: Date.now(), objectType: 'Normal', ...attrs,
      };
      try {
        await this.commitObject(bucket, meta, forbidOverwrite);
      } catch (err) {
        await unlinkQuiet(this.blobPath(bucket, blob));
        throw err;
      }
      return meta;
    } finally {
      await unlinkQuiet(tmp);
    }
  }

  /**
   * AppendObject: writes in place past the committed size, then commits the new size.
   * Readers only ever read up to the size of the metadata they hold, so a failed or
   * in-flight append is invisible; the next append first cuts such leftovers off.
   */
  async append(bucket: string, key: string, position: number, input: BodyInput, attrs: WriteAttributes): Promise<ObjectMeta> {
    const b = this.bucket(bucket);
    validateKey(key);
    return this.locks.run(`o:${bucket}\0${key}`, async () => {
      const previous = b.objects.get(key);
      if (previous && previous.objectType !== 'Appendable') {
        input.body.resume();
        throw Errors.objectNotAppendable();
      }
      const current = previous ? previous.size : 0;
      if (position !== current) {
        input.body.resume();
        throw Errors.positionNotEqualToLength(current);
      }
      const blob = previous ? previous.blob : newId();
      const blobPath = this.blobPath(bucket, blob);
      const limit = MAX_OBJECT_SIZE - current;
      let got;
      if (!previous) {
        const tmp = this.tmpPath();
        try {
          got = await receiveBody(input.body, tmp, { expectedLength: input.contentLength, contentMd5: input.contentMd5, limit });
          await fsp.rename(tmp, blobPath);
        } finally {
          await unlinkQuiet(tmp);
        }
      } else {
        await fsp.truncate(blobPath, current);
        try {
          got = await receiveBody(input.body, blobPath, {
            expectedLength: input.contentLength, contentMd5: input.contentMd5, crcStart: previous.crc64, appendAt: current, limit,
          });
        } catch (err) {
          await fsp.truncate(blobPath, current).catch(() => undefined);
          throw err;
        }
      }
      // An appendable object's ETag is not the MD5 of its content on OSS either; chain it.
      const etag = previous
        ? crypto.createHash('md5').update(previous.etag).update(got.md5).digest('hex').toUpperCase()
        : got.md5.toString('hex').toUpperCase();
      const meta: ObjectMeta = previous
        ? { ...previous, size: current + got.size, etag, crc64: got.crc64, lastModified: Date.now() }
        : { key, blob, size: got.size, etag, crc64: got.crc64, lastModified: Date.now(), objectType: 'Appendable', ...attrs };
      try {
        await this.writeJsonAtomic(this.metaPath(bucket, key), meta);
      } catch (err) {
        if (previous) await fsp.truncate(blobPath, current).catch(() => undefined);
        else await unlinkQuiet(blobPath);
        throw err;
      }
      b.objects.set(key, meta);
      if (!previous) b.keys.splice(lowerBound(b.keys, key, false), 0, key);
      return meta;
    });
  }

  /** Deletes an object; a missing key is not an error (OSS answers 204 either way). */
  async delete(bucket: string, key: string): Promise<boolean> {
    const b = this.bucket(bucket);
    return this.locks.run(`o:${bucket}\0${key}`, async () => {
      const previous = b.objects.get(key);
      if (!previous) return false;
      await unlinkQuiet(this.metaPath(bucket, key));
      b.objects.delete(key);
      const i = lowerBound(b.keys, key, false);
      if (b.keys[i] === key) b.keys.splice(i, 1);
      await unlinkQuiet(this.blobPath(bucket, previous.blob));
      return true;
    });
  }

  // ---- multipart ------------------------------------------------------------------

  async initiateUpload(bucket: string, key: string, attrs: WriteAttributes): Promise<UploadMeta> {
    this.bucket(bucket);
    validateKey(key);
    const uploadId = crypto.randomBytes(16).toString('hex').toUpperCase();
    const meta: UploadMeta = { uploadId, bucket, key, initiated: Date.now(), ...attrs };
    const dir = this.uploadDir(meta);
    await fsp.mkdir(dir, { recursive: true });
    await this.writeJsonAtomic(path.join(dir, 'upload.json'), meta);
    this.uploads.set(uploadId, { ...meta, parts: new Map() });
    return meta;
  }

  private upload(bucket: string, key: string, uploadId: string): Upload {
    const u = this.uploads.get(uploadId);
    if (!u || u.bucket !== bucket || u.key !== key) throw Errors.noSuchUpload(uploadId);
    return u;
  }

  getUpload(bucket: string, key: string, uploadId: string): { upload: UploadMeta; parts: PartMeta[] } {
    const u = this.upload(bucket, key, uploadId);
    const { parts, ...upload } = u;
    return { upload, parts: [...parts.values()].sort((a, b) => a.partNumber - b.partNumber) };
  }

  listUploads(bucket: string): UploadMeta[] {
    this.bucket(bucket);
    return [...this.uploads.values()]
      .filter((u) => u.bucket === bucket)
      .map(({ parts: _parts, ...u }) => u)
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated - b.initiated || (a.uploadId < b.uploadId ? -1 : 1));
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, input: BodyInput): Promise<PartMeta> {
    const u = this.upload(bucket, key, uploadId);
    const tmp = this.tmpPath();
    try {
      const got = await receiveBody(input.body, tmp, { expectedLength: input.contentLength, contentMd5: input.contentMd5 });
      return await this.locks.run(`u:${uploadId}`, async () => {
        if (this.uploads.get(uploadId) !== u) throw Errors.noSuchUpload(uploadId);
        const blob = `part-${partNumber}-${newId()}`;
        const dir = this.uploadDir(u);
        await fsp.rename(tmp, path.join(dir, blob));
        const part: PartMeta = { partNumber, blob, size: got.size, etag: got.md5.toString('hex').toUpperCase(), crc64: got.crc64, lastModified: Date.now() };
        await this.writeJsonAtomic(path.join(dir, `part-${partNumber}.json`), part);
        const previous = u.parts.get(partNumber);
        u.parts.set(partNumber, part);
        if (previous) await unlinkQuiet(path.join(dir, previous.blob));
        return part;
      });
    } finally {
      await unlinkQuiet(tmp);
    }
  }

  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const u = this.upload(bucket, key, uploadId);
    await this.locks.run(`u:${uploadId}`, async () => {
      if (this.uploads.get(uploadId) !== u) throw Errors.noSuchUpload(uploadId);
      this.uploads.delete(uploadId);
      await fsp.rm(this.uploadDir(u), { recursive: true, force: true });
    });
  }

  /**
   * CompleteMultipartUpload: validates the part list as OSS does, then concatenates the
   * parts (streamed) into one new blob and commits it; the object appears only now.
   */
  async completeUpload(
    bucket: string, key: string, uploadId: string, requested: ReadonlyArray<{ partNumber: number; etag: string }> | 'all',
  ): Promise<ObjectMeta> {
    const u = this.upload(bucket, key, uploadId);
    return this.locks.run(`u:${uploadId}`, async () => {
      if (this.uploads.get(uploadId) !== u) throw Errors.noSuchUpload(uploadId);
      let chosen: PartMeta[];
      if (requested === 'all') {
        chosen = [...u.parts.values()].sort((a, b) => a.partNumber - b.partNumber);
      } else {
        if (requested.length === 0) throw Errors.malformedXml('the part list is empty');
        chosen = [];
        let last = 0;
        for (const r of requested) {
          if (r.partNumber <= last) throw Errors.invalidPartOrder();
          last = r.partNumber;
          const part = u.parts.get(r.partNumber);
          const etag = r.etag.replace(/^"|"$/g, '').toUpperCase();
          if (!part || part.etag !== etag) throw Errors.invalidPart(r.partNumber);
          chosen.push(part);
        }
      }
      if (chosen.length === 0) throw Errors.invalidPart(0);
      for (let i = 0; i < chosen.length - 1; i++) {
        if (chosen[i].size < MIN_PART_SIZE) throw Errors.entityTooSmall(chosen[i].partNumber);
      }
      const dir = this.uploadDir(u);
      const tmp = this.tmpPath();
      const blob = newId();
      try {
        // The object's CRC-64 comes from the parts' (each computed as its bytes arrived) without
        // reading the bytes again; the bytes are joined in the kernel where it can (copyFile) and
        // otherwise through one reused buffer, and the result's size is checked against the parts'.
        const size = await concatenateFiles(chosen.map((p) => path.join(dir, p.blob)), tmp);
        const expected = chosen.reduce((n, p) => n + p.size, 0);
        if (size !== expected) throw Errors.internal();
        let crc = chosen[0].crc64;
        for (let i = 1; i < chosen.length; i++) crc = crc64Combine(crc, chosen[i].crc64, chosen[i].size);
        await fsp.rename(tmp, this.blobPath(bucket, blob));
        const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag, 'hex')));
        const meta: ObjectMeta = {
          key, blob, size,
          etag: `${crypto.createHash('md5').update(md5s).digest('hex').toUpperCase()}-${chosen.length}`,
          crc64: crc, lastModified: Date.now(), objectType: 'Multipart',
          contentType: u.contentType, userMeta: u.userMeta, headers: u.headers,
        };
        try {
          await this.commitObject(bucket, meta);
        } catch (err) {
          await unlinkQuiet(this.blobPath(bucket, blob));
          throw err;
        }
        this.uploads.delete(uploadId);
        await fsp.rm(dir, { recursive: true, force: true });
        return meta;
      } finally {
        await unlinkQuiet(tmp);
      }
    });
  }
}

/** Writes the files one after another into a new file `to`; returns the bytes written. */
async function concatenateFiles(files: string[], to: string): Promise<number> {
  await fsp.copyFile(files[0], to, fs.constants.COPYFILE_EXCL);
  let pos = (await fsp.stat(to)).size;
  if (files.length === 1) return pos;
  const out = await fsp.open(to, 'r+');
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (const file of files.slice(1)) {
      const inp = await fsp.open(file, 'r');
      try {
        for (;;) {
          const { bytesRead } = await inp.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          let off = 0;
          while (off < bytesRead) {
            const { bytesWritten } = await out.write(buf, off, bytesRead - off, pos);
            off += bytesWritten;
            pos += bytesWritten;
          }
        }
      } finally {
        await inp.close();
      }
    }
  } finally {
    await out.close();
  }
  return pos;
}

export { OssError };
