// Loopback OSS-compatible emulator (DESIGN §7, spec/oss.md §3.6): the real ali-oss client
// talks to it with verified V1/V4 signatures; objects live on disk, written atomically.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultInjector, FaultKind, FaultSettings } from './faults';
import type { ResponseContext } from './respond';
import { createRequestHandler, RequestRecord } from './server';
import { Store } from './store';

export type { FaultKind, FaultSettings, RequestInfo } from './faults';
export { FAULT_KINDS, parseFaultKinds } from './faults';

export interface OssEmulatorOptions {
  /** 'HOST:PORT'; default '127.0.0.1:9000'; port 0 picks a free port. */
  listen?: string;
  dataDir: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Created at start (if missing). The first is the default bucket for cname-style requests. */
  buckets?: string[];
  faultRate?: number;
  faultKinds?: FaultKind[];
  /** Debugging only: accept requests without checking signatures. */
  noAuth?: boolean;
  /**
   * Refuse signed requests whose x-oss-date/Date is further than this from now with 403
   * RequestTimeTooSkewed, as OSS does (default 15 min, OSS's limit); 0 turns the check off.
   */
  maxClockSkewMs?: number;
  /** V4 requests must be signed for this region, as OSS checks (default `oss-cn-hangzhou`). */
  region?: string;
  /**
   * A client must send its request headers within this time (default 30 s), and the whole
   * request, body included, within `requestTimeoutMs` (default 10 min); past either the
   * connection gets 408 and is closed, so a client trickling bytes cannot hold it open.
   */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** One line per request (method, bucket, key, operation, status, bytes, ms); never secrets. */
  log?: (line: string) => void;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60_000;
export const DEFAULT_REGION = 'oss-cn-hangzhou';
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10 * 60_000;

export type { RequestRecord } from './server';
export { operationOf } from './server';

export interface RunningOssEmulator {
  host: string;
  port: number;
  /** 'http://127.0.0.1:PORT' */
  endpoint: string;
  dataDir: string;
  setFaults(f: FaultSettings): void;
  createBucket(name: string): Promise<void>;
  /** For tests: uploads initiated and neither completed nor aborted. */
  listMultipartUploads(bucket: string): Promise<{ key: string; uploadId: string }[]>;
  /** The most recent requests (at most 10,000), oldest first. */
  requests(): readonly RequestRecord[];
  clearRequests(): void;
  stop(): Promise<void>;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new Error(`listen must be HOST:PORT (e.g. 127.0.0.1:9000), got "${listen}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startOssEmulator(options: OssEmulatorOptions): Promise<RunningOssEmulator> {
  if (!options.accessKeyId || !options.accessKeySecret) throw new Error('startOssEmulator: accessKeyId and accessKeySecret are required');
  if (!options.dataDir) throw new Error('startOssEmulator: dataDir is required');
  const { host, port } = parseListen(options.listen ?? '127.0.0.1:9000');
  const maxClockSkewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  if (!Number.isFinite(maxClockSkewMs) || maxClockSkewMs < 0) throw new Error('startOssEmulator: maxClockSkewMs must be ≥ 0 (0 = no check)');
  const region = options.region ?? DEFAULT_REGION;
  if (!/^(oss-)?[a-z0-9]+(-[a-z0-9]+)+$/.test(region)) throw new Error(`startOssEmulator: region must look like oss-cn-hangzhou, got "${region}"`);
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(Number.isInteger(headersTimeout) && headersTimeout > 0 && Number.isInteger(requestTimeout) && requestTimeout >= headersTimeout)) {
    throw new Error('startOssEmulator: headersTimeoutMs must be a positive whole number of ms and requestTimeoutMs at least as large');
  }
  const store = await Store.open(options.dataDir);
  try {
    for (const b of options.buckets ?? []) await store.createBucket(b);
  } catch (err) {
    await store.close();
    throw err;
  }
  const defaultBucket = options.buckets?.[0];
  const faults = new FaultInjector({ rate: options.faultRate ?? 0, kinds: options.faultKinds });
  const log = options.log;
  // Pushed when a request arrives and read live, so a client that has its answer already
  // sees the request here (the handler's bookkeeping may finish a moment later).
  const records: Array<{ rec: RequestRecord; ctx: ResponseContext }> = [];
  const secrets = new Map([[options.accessKeyId, options.accessKeySecret]]);
  let actual = port;

  const handle = createRequestHandler({
    store, faults, secrets, defaultBucket, host, port: () => actual, log,
    noAuth: !!options.noAuth, maxClockSkewMs, region,
    record: (rec, ctx) => {
      records.push({ rec, ctx });
      if (records.length > 10000) records.splice(0, records.length - 10000);
    },
  });

  // oss_ext (aliyun OSS C SDK 3.1.0, libcurl) sends AppendObject with both
  // `Transfer-Encoding: chunked` and `Content-Length`. HTTP lets a server serve such a request
  // by its chunked framing (RFC 9112 §6.3); Node's strict parser answers 400 before any
  // handler runs, and oss_ext then reports
  // its INSERT as a success with nothing written. The lenient parser accepts the pair (chunked
  // wins), but also relaxes other checks; the handler puts back the ones that matter here:
  // control characters in header values are refused, and a connection that sent both
  // framing headers is closed after the answer (RFC 9112 §6.1), so no second request can
  // ride on a body boundary two parsers might disagree about. Loopback test tool only.
  // Node checks the two timeouts only every connectionsCheckingInterval (default 30 s): check
  // often enough that a trickling client is cut off close to the configured bound.
  const checkEvery = Math.max(50, Math.min(5_000, Math.floor(headersTimeout / 4)));
  const server = http.createServer({ insecureHTTPParser: true, connectionsCheckingInterval: checkEvery, headersTimeout, requestTimeout }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log?.(`oss-emulator: unhandled ${String(err)}`);
      res.destroy();
    });
  });
  // Outlive agentkeepalive's 15 s free-socket timeout so reused sockets never race our
  // close (spec/oss.md §3.6.1). The headers/request timeouts count from a request's first
  // byte (Node ≥ 18), not from the idle time of a kept-alive socket.
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await store.close();
    throw new Error(`OSS emulator cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  actual = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;

  return {
    host,
    port: actual,
    endpoint: `http://${hostForUrl}:${actual}`,
    dataDir: store.root,
    setFaults: (f) => faults.set(f),
    createBucket: (name) => store.createBucket(name),
    listMultipartUploads: async (bucket) => store.listUploads(bucket).map((u) => ({ key: u.key, uploadId: u.uploadId })),
    requests: () => records.map(({ rec, ctx }) => ({ ...rec, status: rec.fault === 'reset' ? 0 : ctx.status, bytes: Math.max(rec.bytes, ctx.bytesSent) })),
    clearRequests: () => { records.length = 0; },
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
