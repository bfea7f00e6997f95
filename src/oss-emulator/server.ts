// Request handling: address resolution, fault injection, authentication, dispatch to the
// operations, error answers and the request log.
import * as crypto from 'node:crypto';
import type * as http from 'node:http';
import { resolveAddress, parseQuery, hostName } from './addressing';
import { authenticate, checkSkew, type AuthRequest, type SecretLookup } from './auth';
import { Errors, OssError } from './errors';
import { FaultInjector, FaultKind, RequestInfo } from './faults';
import * as ops from './operations';
import { ResponseContext, sendError } from './respond';
import { Store } from './store';

export interface RequestRecord {
  method: string;
  bucket: string;
  key: string;
  operation: string;
  status: number;
  bytes: number;
  fault?: FaultKind;
  requestId: string;
}

export interface HandlerOptions {
  store: Store;
  faults: FaultInjector;
  secrets: ReadonlyMap<string, string>;
  defaultBucket: string | undefined;
  /** Host and port the server listens on (fallback for Location URLs and HostId). */
  host: string;
  port: () => number;
  noAuth: boolean;
  /** Refuse signed requests whose date is further off (403 RequestTimeTooSkewed); 0 = no check. */
  maxClockSkewMs: number;
  /** V4 requests must be signed for this region (e.g. `oss-cn-hangzhou`, scope `cn-hangzhou`). */
  region: string;
  log: ((line: string) => void) | undefined;
  /** Receives each request's record when it arrives; `ctx` is read live for status and bytes. */
  record: (rec: RequestRecord, ctx: ResponseContext) => void;
}

function newRequestId(): string {
  const t = Math.floor(Date.now() / 1000).toString(16).toUpperCase().padStart(8, '0');
  return t + crypto.randomBytes(8).toString('hex').toUpperCase();
}

/** Names the operation from method, key and query, as the router dispatches it. */
export function operationOf(method: string, key: string, query: Map<string, string>): string {
  const has = (k: string) => query.has(k);
  if (key === '') {
    if (method === 'GET' && has('uploads')) return 'ListMultipartUploads';
    if (method === 'GET' && query.get('list-type') === '2') return 'ListObjectsV2';
    if (method === 'GET' && ![...query.keys()].some((k) => BUCKET_SUBRESOURCES.has(k))) return 'ListObjects';
    if (method === 'POST' && has('delete')) return 'DeleteMultipleObjects';
    return 'Unsupported';
  }
  switch (method) {
    case 'PUT':
      if (has('partNumber') && has('uploadId')) return 'UploadPart';
      if ([...query.keys()].some((k) => OBJECT_SUBRESOURCES.has(k))) return 'Unsupported';
      return 'PutObject';
    case 'GET':
      if (has('uploadId')) return 'ListParts';
      if ([...query.keys()].some((k) => OBJECT_SUBRESOURCES.has(k))) return 'Unsupported';
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      if (has('uploadId')) return 'AbortMultipartUpload';
      if ([...query.keys()].some((k) => OBJECT_SUBRESOURCES.has(k))) return 'Unsupported';
      return 'DeleteObject';
    case 'POST':
      if (has('uploads')) return 'InitiateMultipartUpload';
      if (has('uploadId')) return 'CompleteMultipartUpload';
      if (has('append')) return 'AppendObject';
      return 'Unsupported';
    default:
      return 'Unsupported';
  }
}

// Sub-resources of features the emulator does not have; requests using them get 501.
const BUCKET_SUBRESOURCES = new Set(['acl', 'location', 'cors', 'logging', 'website', 'referer', 'lifecycle', 'bucketInfo',
  'tagging', 'versions', 'replication', 'policy', 'stat', 'encryption', 'inventory', 'worm', 'qos', 'uploads', 'delete', 'cname']);
const OBJECT_SUBRESOURCES = new Set(['acl', 'tagging', 'symlink', 'restore', 'objectMeta', 'x-oss-process', 'versionId', 'uploads', 'append', 'delete', 'comp', 'position']);

/**
 * What the lenient HTTP parser (index.ts) no longer refuses but OSS does: control characters
 * in header values (400). A request framed by both Transfer-Encoding and Content-Length is
 * served by its chunked framing and its connection closed after the answer (RFC 9112 §6.1).
 */
export function checkFraming(req: http.IncomingMessage, res: http.ServerResponse): void {
  const raw = req.rawHeaders;
  for (let i = 1; i < raw.length; i += 2) {
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(raw[i])) {
      res.setHeader('Connection', 'close');
      throw Errors.invalidArgument('A header value contains a control character.', raw[i - 1], '');
    }
  }
  if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] !== undefined) {
    res.setHeader('Connection', 'close');
  }
}

/**
 * authenticate(), plus the V1 canonical resource Alibaba's own C SDK (3.1.0, oss_util.c
 * oss_get_bucket_uri, used by oss_ext) signs for a bucket it addresses path-style, as for a
 * bare-IP endpoint: `/bucket`, without the trailing slash ali-oss signs. The emulator accepts
 * that form only for a request whose path named the bucket without a slash, with a V1
 * signature that matches no other form.
 */
function authenticatePathStyleBucket(req: AuthRequest, lookup: SecretLookup, bareBucketPath: boolean, region?: string): void {
  try {
    authenticate(req, lookup, Date.now(), region);
  } catch (err) {
    const v1 = String(req.headers.authorization ?? '').startsWith('OSS ');
    if (!bareBucketPath || !v1 || !(err instanceof OssError) || err.code !== 'SignatureDoesNotMatch' || !req.bucket) throw err;
    try {
      authenticate({ ...req, bucket: undefined, key: req.bucket }, lookup);
    } catch {
      throw err;
    }
  }
}

export function createRequestHandler(o: HandlerOptions): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  const { store, faults, secrets, defaultBucket, host, log } = o;
  return async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = newRequestId();
    const hostHeader = typeof req.headers.host === 'string' ? req.headers.host : '';
    const ctx: ResponseContext = {
      requestId, hostId: hostName(hostHeader) || host, method, status: 0, bytesSent: 0,
      slowBytesPerSecond: faults.slowBytesPerSecond, slowDelayMs: faults.slowDelayMs,
    };
    res.setHeader('Server', 'AliyunOSS');
    res.setHeader('Date', new Date().toUTCString());
    res.setHeader('x-oss-request-id', requestId);
    let info: RequestInfo = { method, bucket: '', key: '', operation: 'Unknown' };
    let fault: FaultKind | undefined;
    const rec: RequestRecord = { method, bucket: '', key: '', operation: 'Unknown', status: 0, bytes: 0, requestId };
    o.record(rec, ctx);
    try {
      checkFraming(req, res);
      const url = req.url ?? '/';
      const qi = url.indexOf('?');
      const rawPath = qi >= 0 ? url.slice(0, qi) : url;
      const pairs = parseQuery(qi >= 0 ? url.slice(qi + 1) : '');
      const query = new Map<string, string>();
      for (const [k, v] of pairs) if (!query.has(k)) query.set(k, v);
      const addr = resolveAddress(hostHeader, rawPath, (b) => store.hasBucket(b), defaultBucket);
      const operation = operationOf(method, addr.key, query);
      info = { method, bucket: addr.bucket ?? '', key: addr.key, operation };
      Object.assign(rec, { bucket: info.bucket, key: info.key, operation });

      fault = faults.pick(info);
      if (fault) rec.fault = fault;
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault === '500' || fault === '503') {
        req.resume();
        throw fault === '500' ? Errors.internal() : Errors.unavailable();
      }
      if (fault === 'slow' || fault === 'truncate') ctx.fault = fault;

      if (!o.noAuth) {
        const authReq = { method, headers: req.headers, bucket: addr.bucket, key: addr.key, query: pairs };
        authenticatePathStyleBucket(authReq, (id) => secrets.get(id), addr.style === 'path' && addr.key === '' && !rawPath.endsWith('/'), o.region);
        if (o.maxClockSkewMs > 0) checkSkew(authReq, o.maxClockSkewMs);
      }
      if (!addr.bucket) throw Errors.invalidArgument('No bucket in the Host header or path, and no default bucket.', 'bucket', '');
      if (!store.hasBucket(addr.bucket)) throw Errors.noSuchBucket(addr.bucket);

      const r: ops.OpRequest = { req, res, ctx, store, bucket: addr.bucket, key: addr.key, query,
        // Location URLs name the object the way this request addressed it.
        baseUrl: `http://${hostHeader || `${host}:${o.port()}`}${addr.style === 'virtual-host' ? '' : `/${addr.bucket}`}`,
      };
      switch (operation) {
        case 'PutObject': return await ops.putObject(r);
        case 'AppendObject': return await ops.appendObject(r);
        case 'GetObject': return await ops.getObject(r, false);
        case 'HeadObject': return await ops.getObject(r, true);
        case 'DeleteObject': return await ops.deleteObject(r);
        case 'DeleteMultipleObjects': return await ops.deleteMultiple(r);
        case 'ListObjects': return await ops.listObjects(r, false);
        case 'ListObjectsV2': return await ops.listObjects(r, true);
        case 'InitiateMultipartUpload': return await ops.initiateMultipart(r);
        case 'UploadPart': return await ops.uploadPart(r);
        case 'CompleteMultipartUpload': return await ops.completeMultipart(r);
        case 'AbortMultipartUpload': return await ops.abortMultipart(r);
        case 'ListParts': return await ops.listParts(r);
        case 'ListMultipartUploads': return await ops.listMultipartUploads(r);
        default: throw Errors.notImplemented(`${method} ${[...query.keys()].join('&') || '(no sub-resource)'} on ${addr.key === '' ? 'a bucket' : 'an object'}`);
      }
    } catch (err) {
      if (!(err instanceof OssError)) {
        const e = err as NodeJS.ErrnoException;
        // A client that went away mid-body is not a server error worth an answer.
        if (e && (e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.code === 'ECONNRESET' || req.destroyed)) {
          ctx.status = 499;
          res.destroy();
          return;
        }
        log?.(`oss-emulator: internal error ${method} ${info.bucket}/${info.key}: ${e?.stack ?? String(err)}`);
      }
      const ossErr = err instanceof OssError ? err : Errors.internal();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Do not leave the rest of a rejected upload unread on a keep-alive connection.
      if (!req.readableEnded) req.resume();
      await sendError(ctx, res, ossErr);
    } finally {
      rec.status = fault === 'reset' ? 0 : ctx.status;
      rec.bytes = ctx.bytesSent;
      log?.(`${method} /${info.bucket}/${info.key} ${info.operation} ${rec.status}${fault ? ` fault=${fault}` : ''} ${rec.bytes}B ${Date.now() - started}ms`);
    }
  };
}
