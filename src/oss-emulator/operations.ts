// The OSS operations: each takes the parsed request and writes the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as crypto from 'node:crypto';
import { nameFor, wantsUrlEncoding } from './encoding-type';
import { Errors, OssError } from './errors';
import { decodeToken, encodeToken, listKeys, listUploadPage } from './listing';
import { ResponseContext, sendSmall, sendStream, sendXml } from './respond';
import { MAX_PART_NUMBER, ObjectMeta, Store, WriteAttributes } from './store';
import { child, childrenNamed, parseXml, xmlDocument, XmlElement, XmlNode, XmlSyntaxError } from './xml';

export interface OpRequest {
  req: IncomingMessage;
  res: ServerResponse;
  ctx: ResponseContext;
  store: Store;
  bucket: string;
  key: string;
  query: Map<string, string>;
  /** `http://host[/bucket]`: the prefix of Location URLs. */
  baseUrl: string;
}

const OWNER = { ID: '1000000000000000', DisplayName: '1000000000000000' };
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function quote(etag: string): string {
  return `"${etag}"`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function attributesFrom(req: IncomingMessage): WriteAttributes {
  const userMeta: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    if (name.startsWith('x-oss-meta-')) userMeta[name] = v;
    else if (STORED_HEADERS.includes(name)) headers[name] = v;
  }
  return { contentType: header(req, 'content-type') || 'application/octet-stream', userMeta, headers };
}

function contentLength(req: IncomingMessage): number | undefined {
  // With Transfer-Encoding the chunked framing decides the body length and Content-Length is
  // ignored (RFC 9112 §6.3): oss_ext's AppendObject sends both (see index.ts).
  if (header(req, 'transfer-encoding') !== undefined) return undefined;
  const raw = header(req, 'content-length');
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw Errors.invalidArgument('Content-Length is not a number.', 'Content-Length', raw);
  const n = Number(raw);
  if (n > 5 * 1024 * 1024 * 1024) throw Errors.entityTooLarge();
  return n;
}

function bodyInput(req: IncomingMessage) {
  return { body: req, contentLength: contentLength(req), contentMd5: header(req, 'content-md5') };
}

function objectHeaders(meta: ObjectMeta): Record<string, string | number | undefined> {
  return {
    'Content-Type': meta.contentType,
    ETag: quote(meta.etag),
    'Last-Modified': new Date(meta.lastModified).toUTCString(),
    'Accept-Ranges': 'bytes',
    'x-oss-object-type': meta.objectType,
    'x-oss-storage-class': 'Standard',
    'x-oss-hash-crc64ecma': meta.crc64,
    'x-oss-next-append-position': meta.objectType === 'Appendable' ? meta.size : undefined,
    ...meta.headers,
    ...meta.userMeta,
  };
}

async function readSmallBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Errors.malformedXml(`the request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function checkMd5(req: IncomingMessage, body: string, required: boolean): void {
  const md5 = header(req, 'content-md5');
  if (md5 === undefined) {
    if (required) throw new OssError(400, 'MissingArgument', 'Missing Some Required Arguments.', { ArgumentName: 'Content-MD5' });
    return;
  }
  if (crypto.createHash('md5').update(body, 'utf8').digest('base64') !== md5) throw Errors.badDigest();
}

function parseBodyXml(text: string, root: string): XmlElement {
  let doc: XmlElement;
  try {
    doc = parseXml(text);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw Errors.malformedXml(err.message);
    throw err;
  }
  if (doc.name !== root) throw Errors.malformedXml(`the root element must be <${root}>`);
  return doc;
}

function intParam(query: Map<string, string>, name: string, def: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw Errors.invalidArgument(`${name} must be an integer between ${min} and ${max}.`, name, raw);
  }
  return Number(raw);
}

// ---- objects --------------------------------------------------------------------------

export async function putObject(r: OpRequest): Promise<void> {
  if (header(r.req, 'x-oss-copy-source') !== undefined) throw Errors.notImplemented('CopyObject (x-oss-copy-source)');
  const forbid = (header(r.req, 'x-oss-forbid-overwrite') ?? '').toLowerCase() === 'true';
  const meta = await r.store.put(r.bucket, r.key, bodyInput(r.req), attributesFrom(r.req), forbid);
  await sendSmall(r.ctx, r.res, 200, {
    ETag: quote(meta.etag),
    'Content-MD5': Buffer.from(meta.etag, 'hex').toString('base64'),
    'x-oss-hash-crc64ecma': meta.crc64,
  });
}

export async function appendObject(r: OpRequest): Promise<void> {
  const raw = r.query.get('position') ?? '';
  if (!/^\d+$/.test(raw)) throw Errors.invalidArgument('position must be a non-negative integer.', 'position', raw);
  const meta = await r.store.append(r.bucket, r.key, Number(raw), bodyInput(r.req), attributesFrom(r.req));
  await sendSmall(r.ctx, r.res, 200, {
    ETag: quote(meta.etag),
    'x-oss-next-append-position': meta.size,
    'x-oss-hash-crc64ecma': meta.crc64,
  });
}

/** RFC 7232 order: If-Match, If-Unmodified-Since (412), then If-None-Match, If-Modified-Since (304). */
function evaluateConditions(req: IncomingMessage, meta: ObjectMeta): 200 | 304 | 412 {
  const etagMatches = (list: string) =>
    list.split(',').map((s) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toUpperCase())
      .some((t) => t === '*' || t === meta.etag);
  const seconds = Math.floor(meta.lastModified / 1000);
  const dateOf = (v: string) => { const t = Date.parse(v); return Number.isNaN(t) ? undefined : Math.floor(t / 1000); };
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch)) return 412;
  const ius = header(req, 'if-unmodified-since');
  if (ifMatch === undefined && ius !== undefined) {
    const t = dateOf(ius);
    if (t !== undefined && seconds > t) return 412;
  }
  const inm = header(req, 'if-none-match');
  if (inm !== undefined && etagMatches(inm)) return 304;
  const ims = header(req, 'if-modified-since');
  if (inm === undefined && ims !== undefined) {
    const t = dateOf(ims);
    if (t !== undefined && seconds <= t) return 304;
  }
  return 200;
}

/** One `bytes=` range; undefined = ignore (malformed or multiple: whole object). */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  return { start, end: Math.min(end, size - 1) };
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

export async function getObject(r: OpRequest, headOnly: boolean): Promise<void> {
  if (headOnly) {
    const meta = r.store.head(r.bucket, r.key);
    if (!meta) throw Errors.noSuchKey(r.key);
    const cond = evaluateConditions(r.req, meta);
    if (cond === 412) throw Errors.preconditionFailed(header(r.req, 'if-match') !== undefined ? 'If-Match' : 'If-Unmodified-Since');
    const headers = objectHeaders(meta);
    if (cond === 304) {
      await sendSmall(r.ctx, r.res, 304, { ETag: headers.ETag, 'Last-Modified': headers['Last-Modified'] });
      return;
    }
    await sendSmall(r.ctx, r.res, 200, { ...headers, 'Content-Length': meta.size });
    return;
  }
  const { meta, file } = await r.store.open(r.bucket, r.key);
  let handedOver = false;
  try {
    const cond = evaluateConditions(r.req, meta);
    if (cond === 412) throw Errors.preconditionFailed(header(r.req, 'if-match') !== undefined ? 'If-Match' : 'If-Unmodified-Since');
    const headers = objectHeaders(meta);
    for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
      const v = r.query.get(param);
      if (v !== undefined) headers[name] = v;
    }
    if (cond === 304) {
      await sendSmall(r.ctx, r.res, 304, { ETag: headers.ETag, 'Last-Modified': headers['Last-Modified'] });
      return;
    }
    const range = parseRange(header(r.req, 'range'), meta.size);
    if (range === 'unsatisfiable') throw Errors.invalidRange(meta.size);
    if (meta.size === 0) {
      await sendSmall(r.ctx, r.res, 200, headers, '');
      return;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : meta.size - 1;
    const stream = file.createReadStream({ start, end, autoClose: true });
    handedOver = true;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${meta.size}`;
    await sendStream(r.ctx, r.res, range ? 206 : 200, headers, stream, end - start + 1);
  } finally {
    if (!handedOver) await file.close().catch(() => undefined);
  }
}

export async function deleteObject(r: OpRequest): Promise<void> {
  await r.store.delete(r.bucket, r.key);
  await sendSmall(r.ctx, r.res, 204, {});
}

export async function deleteMultiple(r: OpRequest): Promise<void> {
  const text = await readSmallBody(r.req, 2 * 1024 * 1024);
  checkMd5(r.req, text, true);
  const doc = parseBodyXml(text, 'Delete');
  const quiet = (child(doc, 'Quiet')?.text.trim().toLowerCase() ?? 'false') === 'true';
  const objects = childrenNamed(doc, 'Object');
  if (objects.length === 0) throw Errors.malformedXml('no <Object> to delete');
  if (objects.length > 1000) throw Errors.malformedXml('more than 1000 objects in one request');
  const keys = objects.map((o) => {
    const k = child(o, 'Key');
    if (!k) throw Errors.malformedXml('an <Object> has no <Key>');
    return k.text;
  });
  for (const k of keys) {
    if (k === '' || k.includes('\0')) throw Errors.invalidObjectName('a key in <Delete> is empty or contains NUL');
  }
  const encode = wantsUrlEncoding(r.query);
  for (const k of keys) await r.store.delete(r.bucket, k);
  const body: XmlNode = quiet ? {} : { Deleted: keys.map((k) => ({ Key: nameFor(encode, k) })) };
  if (encode) body.EncodingType = 'url';
  await sendXml(r.ctx, r.res, 200, xmlDocument('DeleteResult', body));
}

// ---- listing --------------------------------------------------------------------------

export async function listObjects(r: OpRequest, v2: boolean): Promise<void> {
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const maxKeys = intParam(r.query, 'max-keys', 100, 1, 1000);
  const encode = wantsUrlEncoding(r.query);
  const sorted = r.store.sortedKeys(r.bucket);
  let after: string;
  const token = r.query.get('continuation-token');
  const startAfter = r.query.get('start-after') ?? '';
  const marker = r.query.get('marker') ?? '';
  if (v2) {
    if (token !== undefined && token !== '') {
      const decoded = decodeToken(token);
      if (decoded === undefined) throw Errors.invalidArgument('The continuation token provided is incorrect.', 'continuation-token', token);
      after = decoded;
    } else after = startAfter;
  } else after = marker;
  const out = listKeys(sorted, { prefix, delimiter, after, maxKeys });
  const fetchOwner = !v2 || r.query.get('fetch-owner') === 'true';
  const contents = out.keys.map((key) => {
    const m = r.store.head(r.bucket, key);
    const node: XmlNode = {
      Key: nameFor(encode, key),
      LastModified: iso(m ? m.lastModified : 0),
      ETag: quote(m ? m.etag : ''),
      Type: m ? m.objectType : 'Normal',
      Size: m ? m.size : 0,
      StorageClass: 'Standard',
    };
    if (fetchOwner) node.Owner = OWNER;
    return node;
  });
  const common = out.commonPrefixes.map((p) => ({ Prefix: nameFor(encode, p) }));
  let body: XmlNode;
  if (v2) {
    body = {
      Name: r.bucket,
      Prefix: nameFor(encode, prefix),
      StartAfter: startAfter !== '' ? nameFor(encode, startAfter) : undefined,
      ContinuationToken: token !== undefined && token !== '' ? nameFor(encode, token) : undefined,
      MaxKeys: maxKeys,
      Delimiter: nameFor(encode, delimiter),
      EncodingType: encode ? 'url' : undefined,
      IsTruncated: out.isTruncated,
      NextContinuationToken: out.isTruncated ? nameFor(encode, encodeToken(out.next)) : undefined,
      KeyCount: out.keys.length + out.commonPrefixes.length,
      Contents: contents,
      CommonPrefixes: common,
    };
  } else {
    body = {
      Name: r.bucket,
      Prefix: nameFor(encode, prefix),
      Marker: nameFor(encode, marker),
      MaxKeys: maxKeys,
      Delimiter: nameFor(encode, delimiter),
      EncodingType: encode ? 'url' : undefined,
      IsTruncated: out.isTruncated,
      NextMarker: out.isTruncated ? nameFor(encode, out.next) : undefined,
      Contents: contents,
      CommonPrefixes: common,
    };
  }
  await sendXml(r.ctx, r.res, 200, xmlDocument('ListBucketResult', body));
}

// ---- multipart ------------------------------------------------------------------------

export async function initiateMultipart(r: OpRequest): Promise<void> {
  const encode = wantsUrlEncoding(r.query);
  const up = await r.store.initiateUpload(r.bucket, r.key, attributesFrom(r.req));
  await sendXml(r.ctx, r.res, 200, xmlDocument('InitiateMultipartUploadResult', {
    Bucket: r.bucket, Key: nameFor(encode, r.key), UploadId: up.uploadId, EncodingType: encode ? 'url' : undefined,
  }));
}

export async function uploadPart(r: OpRequest): Promise<void> {
  const raw = r.query.get('partNumber') ?? '';
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PART_NUMBER) {
    throw Errors.invalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`, 'partNumber', raw);
  }
  const uploadId = r.query.get('uploadId') ?? '';
  const part = await r.store.uploadPart(r.bucket, r.key, uploadId, Number(raw), bodyInput(r.req));
  await sendSmall(r.ctx, r.res, 200, {
    ETag: quote(part.etag),
    'Content-MD5': Buffer.from(part.etag, 'hex').toString('base64'),
    'x-oss-hash-crc64ecma': part.crc64,
  });
}

export async function completeMultipart(r: OpRequest): Promise<void> {
  const encode = wantsUrlEncoding(r.query);
  const uploadId = r.query.get('uploadId') ?? '';
  // Look the upload up before reading the body, so an unknown id fails fast.
  r.store.getUpload(r.bucket, r.key, uploadId);
  const text = await readSmallBody(r.req, 8 * 1024 * 1024);
  checkMd5(r.req, text, false);
  let requested: Array<{ partNumber: number; etag: string }> | 'all';
  if ((header(r.req, 'x-oss-complete-all') ?? '').toLowerCase() === 'yes') {
    if (text.trim() !== '') throw Errors.invalidArgument('x-oss-complete-all requires an empty body.', 'x-oss-complete-all', 'yes');
    requested = 'all';
  } else {
    const doc = parseBodyXml(text, 'CompleteMultipartUpload');
    requested = childrenNamed(doc, 'Part').map((p) => {
      const n = child(p, 'PartNumber')?.text.trim() ?? '';
      const etag = child(p, 'ETag')?.text.trim();
      if (!/^\d+$/.test(n) || etag === undefined) throw Errors.malformedXml('each <Part> needs a numeric <PartNumber> and an <ETag>');
      return { partNumber: Number(n), etag };
    });
  }
  const meta = await r.store.completeUpload(r.bucket, r.key, uploadId, requested);
  const location = `${r.baseUrl}/${r.key.split('/').map(encodeURIComponent).join('/')}`;
  await sendXml(r.ctx, r.res, 200, xmlDocument('CompleteMultipartUploadResult', {
    EncodingType: encode ? 'url' : undefined,
    Location: location, Bucket: r.bucket, Key: nameFor(encode, r.key), ETag: quote(meta.etag),
  }), { ETag: quote(meta.etag), 'x-oss-hash-crc64ecma': meta.crc64 });
}

export async function abortMultipart(r: OpRequest): Promise<void> {
  await r.store.abortUpload(r.bucket, r.key, r.query.get('uploadId') ?? '');
  await sendSmall(r.ctx, r.res, 204, {});
}

export async function listParts(r: OpRequest): Promise<void> {
  const encode = wantsUrlEncoding(r.query);
  const uploadId = r.query.get('uploadId') ?? '';
  const { parts } = r.store.getUpload(r.bucket, r.key, uploadId);
  const maxParts = intParam(r.query, 'max-parts', 1000, 1, 1000);
  const marker = intParam(r.query, 'part-number-marker', 0, 0, MAX_PART_NUMBER);
  const after = parts.filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  await sendXml(r.ctx, r.res, 200, xmlDocument('ListPartsResult', {
    Bucket: r.bucket, Key: nameFor(encode, r.key), UploadId: uploadId,
    EncodingType: encode ? 'url' : undefined,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.length ? page[page.length - 1].partNumber : marker,
    MaxParts: maxParts, IsTruncated: truncated,
    Part: page.map((p) => ({
      PartNumber: p.partNumber, LastModified: iso(p.lastModified), ETag: quote(p.etag), HashCrc64ecma: p.crc64, Size: p.size,
    })),
  }));
}

export async function listMultipartUploads(r: OpRequest): Promise<void> {
  const encode = wantsUrlEncoding(r.query);
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const keyMarker = r.query.get('key-marker') ?? '';
  const idMarker = r.query.get('upload-id-marker') ?? '';
  const maxUploads = intParam(r.query, 'max-uploads', 1000, 1, 1000);
  const page = listUploadPage(r.store.listUploads(r.bucket), { prefix, delimiter, keyMarker, uploadIdMarker: idMarker, maxUploads });
  await sendXml(r.ctx, r.res, 200, xmlDocument('ListMultipartUploadsResult', {
    Bucket: r.bucket, EncodingType: encode ? 'url' : undefined,
    KeyMarker: nameFor(encode, keyMarker), UploadIdMarker: idMarker,
    NextKeyMarker: nameFor(encode, page.nextKeyMarker), NextUploadIdMarker: page.nextUploadIdMarker,
    Delimiter: nameFor(encode, delimiter), Prefix: nameFor(encode, prefix), MaxUploads: maxUploads, IsTruncated: page.isTruncated,
    Upload: page.uploads.map((u) => ({ Key: nameFor(encode, u.key), UploadId: u.uploadId, Initiated: iso(u.initiated) })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: nameFor(encode, p) })),
  }));
}
