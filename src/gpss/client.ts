// Typed promise wrapper over grpc-js for the eight GPSS RPCs (spec §2–§3, §8–§9).
//
// Every call carries a deadline. Requests go through a plain grpc.Client with the serializers
// of proto/gpss.proto, except Write, whose request is serialized by write-request.ts straight
// from the pre-encoded Row bytes.
import * as grpc from '@grpc/grpc-js';
import { gpssServiceDefinition, GpssMethod } from './proto';
import { encodeWriteRequestRange, MAX_WRITE_BYTES, nextWriteEnd, WRITE_GROUP_BYTES, type WriteRows } from './write-request';
import type { ColumnInfoMessage } from './wire-types';
import { classifyStatus } from './failure-class';

export interface GpssEndpoint {
  host: string;
  port: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Sets grpc.max_send_message_length and grpc.max_receive_message_length. */
  maxMessageBytes?: number;
}

export interface ColumnInfo {
  name: string;
  databaseType: string;
  hasLength: boolean;
  length: number;
  hasPrecisionScale: boolean;
  precision: number;
  scale: number;
  hasNullable: boolean;
  nullable: boolean;
}

export interface TransferStats {
  successCount: number;
  errorCount: number;
  errorRows: string[];
}

export interface OpenOptions {
  schema?: string;
  table: string;
  preSql?: string;
  postSql?: string;
  stagingSchema?: string;
  timeoutSec?: number;
  mode: 'insert' | 'merge' | 'update';
  insertColumns?: string[];
  matchColumns?: string[];
  updateColumns?: string[];
  condition?: string;
  truncate?: boolean;
  errorLimitCount?: number;
  errorLimitPercentage?: number;
}

/** The database login a GPSS Connect carries (spec §2). */
export interface GpssLogin {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sessionTimeoutSec?: number;
}

export interface GpssClientOptions {
  /** Deadline of every RPC except Close (ms). Default 30 s. */
  deadlineMs?: number;
  /** Deadline of Close, which commits (ms). Default max(4 × deadlineMs, 120 s): the longest (spec §4). */
  closeDeadlineMs?: number;
  /**
   * Hard cap for one serialized WriteRequest; write() cuts larger batches. Default 3.5 MiB
   * (MAX_WRITE_BYTES: spec §9's maximum, under GPSS's 4 MiB receive limit); write() callers
   * may ask for smaller Writes (e.g. gpss-write's 1 MiB default).
   */
  maxWriteBytes?: number;
}

/** A failed RPC. `code` is the grpc status; the text never includes the login password. */
export class GpssError extends Error {
  readonly code: number;
  readonly rpc: string;
  readonly details: string;
  constructor(rpc: string, code: number, details: string) {
    super(`GPSS ${rpc} failed: ${statusName(code)}: ${details || '(no details)'}`);
    this.name = 'GpssError';
    this.rpc = rpc;
    this.code = code;
    this.details = details;
  }
}

function statusName(code: number): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code];
  return name ?? `status ${code}`;
}

/**
 * True when the RPC may or may not have taken effect (transport failure, spec §4): after a
 * Close with this error the commit outcome is unknown.
 */
export function isOutcomeUnknown(err: unknown): boolean {
  if (!(err instanceof GpssError)) return false;
  return classifyStatus(err.code, err.details).cause === 'transport';
}

/**
 * True when the server no longer knows the session or its open table (expired, restarted):
 * reconnect and retry from Open. By code (NOT_FOUND, FAILED_PRECONDITION) or, as a real GPSS
 * reports plain errors as UNKNOWN with its text (spec §4), by text (failure-class.ts).
 */
export function isSessionLost(err: unknown): boolean {
  if (!(err instanceof GpssError)) return false;
  return classifyStatus(err.code, err.details).cause === 'session';
}

// ---- wire shapes (proto-loader with keepCase, longs: String, enums: String, defaults) --------

interface SessionMsg {
  ID: string;
}
interface SchemasMsg {
  Schemas: { Name: string; Owner: string }[];
}
interface TablesMsg {
  Tables: { Name: string; Type: string }[];
}
interface ColumnsMsg {
  Columns: ColumnInfoMessage[];
}
interface TransferStatsMsg {
  SuccessCount: string;
  ErrorCount: string;
  ErrorRows: string[];
}

type Serialize = (value: unknown) => Buffer;
type Deserialize = (bytes: Buffer) => unknown;

const DEFAULT_DEADLINE_MS = 30_000;

function formatAddress(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${h}:${port}`;
}

function checkNames(option: string, names: string[] | undefined, required: boolean): string[] {
  const list = names ?? [];
  if (!Array.isArray(list) || list.some((n) => typeof n !== 'string' || n === '')) {
    throw new GpssError('Open', grpc.status.INVALID_ARGUMENT, `${option} must be a list of column names`);
  }
  if (required && list.length === 0) throw new GpssError('Open', grpc.status.INVALID_ARGUMENT, `${option} must name at least one column`);
  return list;
}

function checkLimit(option: string, v: number | undefined, max: number): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new GpssError('Open', grpc.status.INVALID_ARGUMENT, `${option} must be an integer in 0..${max}, got ${v}`);
  }
  return v;
}

/** Builds the OpenRequest message (pure; exported for tests). Throws GpssError INVALID_ARGUMENT. */
export function buildOpenRequest(session: string, o: OpenOptions): Record<string, unknown> {
  if (!o || typeof o.table !== 'string' || o.table === '') throw new GpssError('Open', grpc.status.INVALID_ARGUMENT, 'table is required');
  const errorLimitCount = checkLimit('errorLimitCount', o.errorLimitCount, Number.MAX_SAFE_INTEGER);
  const errorLimitPercentage = checkLimit('errorLimitPercentage', o.errorLimitPercentage, 100);
  if (o.truncate && o.mode !== 'insert') {
    throw new GpssError('Open', grpc.status.INVALID_ARGUMENT, `truncate works only with mode 'insert' (mode is '${o.mode}')`);
  }
  const req: Record<string, unknown> = {
    Session: { ID: session },
    SchemaName: o.schema ?? '',
    TableName: o.table,
    PreSQL: o.preSql ?? '',
    PostSQL: o.postSql ?? '',
    Timeout: o.timeoutSec ?? 0,
    StagingSchema: o.stagingSchema ?? '',
  };
  const limits = { ErrorLimitCount: String(errorLimitCount), ErrorLimitPercentage: errorLimitPercentage };
  // Update and merge find rows by the match columns and change the update columns (under the condition).
  const keyed = () => ({
    MatchColumns: checkNames('matchColumns', o.matchColumns, true),
    UpdateColumns: checkNames('updateColumns', o.updateColumns, true),
    Condition: o.condition ?? '',
  });
  switch (o.mode) {
    case 'insert':
      req.InsertOption = { InsertColumns: checkNames('insertColumns', o.insertColumns, false), TruncateTable: o.truncate === true, ...limits };
      break;
    case 'update':
      req.UpdateOption = { ...keyed(), ...limits };
      break;
    case 'merge':
      req.MergeOption = { InsertColumns: checkNames('insertColumns', o.insertColumns, false), ...keyed(), ...limits };
      break;
    default:
      throw new GpssError('Open', grpc.status.INVALID_ARGUMENT, `mode must be 'insert', 'merge' or 'update', got ${JSON.stringify(o.mode)}`);
  }
  return req;
}

function toNumber(v: string | number | undefined): number {
  return v === undefined ? 0 : Number(v);
}

export class GpssClient {
  readonly address: string;
  private readonly client: grpc.Client;
  private readonly methods: grpc.ServiceDefinition;
  private readonly deadlineMs: number;
  private readonly closeDeadlineMs: number;
  private readonly maxWriteBytes: number;
  /** Set by connect(): scrubbed from error details, never logged. */
  private secret = '';
  private closed = false;

  constructor(endpoint: GpssEndpoint, options: GpssClientOptions = {}) {
    if (!endpoint || typeof endpoint.host !== 'string' || endpoint.host === '') throw new TypeError('GpssClient: endpoint.host is required');
    if (!Number.isInteger(endpoint.port) || endpoint.port <= 0 || endpoint.port > 65535) {
      throw new TypeError(`GpssClient: endpoint.port must be 1..65535, got ${String(endpoint.port)}`);
    }
    this.address = formatAddress(endpoint.host, endpoint.port);
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.closeDeadlineMs = options.closeDeadlineMs ?? Math.max(4 * this.deadlineMs, 120_000);
    this.maxWriteBytes = options.maxWriteBytes ?? MAX_WRITE_BYTES;
    const channelOptions: grpc.ChannelOptions = {};
    if (endpoint.maxMessageBytes !== undefined) {
      channelOptions['grpc.max_send_message_length'] = endpoint.maxMessageBytes;
      channelOptions['grpc.max_receive_message_length'] = endpoint.maxMessageBytes;
      // A WriteRequest must fit the channel's own send limit.
      this.maxWriteBytes = Math.min(this.maxWriteBytes, endpoint.maxMessageBytes);
    }
    const tls = endpoint.tls;
    const credentials = tls ? grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null) : grpc.credentials.createInsecure();
    this.methods = gpssServiceDefinition();
    this.client = new grpc.Client(this.address, credentials, channelOptions);
  }

  private call<Res>(rpc: GpssMethod, request: unknown, deadlineMs: number, serialize?: Serialize): Promise<Res> {
    if (this.closed) return Promise.reject(new GpssError(rpc, grpc.status.CANCELLED, 'client was shut down'));
    const def = this.methods[rpc];
    const ser = serialize ?? (def.requestSerialize as Serialize);
    const des = def.responseDeserialize as Deserialize;
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest<unknown, unknown>(
        def.path,
        ser,
        des,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, value) => {
          if (err) reject(this.toError(rpc, err));
          else resolve(value as Res);
        },
      );
    });
  }

  private toError(rpc: string, err: grpc.ServiceError): GpssError {
    let details = typeof err.details === 'string' ? err.details : String(err.message ?? '');
    if (this.secret && details.includes(this.secret)) details = details.split(this.secret).join('***');
    return new GpssError(rpc, typeof err.code === 'number' ? err.code : grpc.status.UNKNOWN, details);
  }

  /** Connect: opens a GPSS session on the given database; returns its ID. */
  async connect(login: GpssLogin, deadlineMs = this.deadlineMs): Promise<string> {
    if (login.password) this.secret = login.password;
    const res = await this.call<SessionMsg>(
      'Connect',
      {
        Host: login.host,
        Port: login.port,
        Username: login.user,
        Password: login.password,
        DB: login.database,
        UseSSL: false,
        SessionTimeout: login.sessionTimeoutSec ?? 0,
      },
      deadlineMs,
    );
    if (!res.ID) throw new GpssError('Connect', grpc.status.INTERNAL, 'server returned an empty session ID');
    return res.ID;
  }

  async disconnect(session: string, deadlineMs = this.deadlineMs): Promise<void> {
    await this.call('Disconnect', { ID: session }, deadlineMs);
  }

  async open(session: string, options: OpenOptions, deadlineMs = this.deadlineMs): Promise<void> {
    await this.call('Open', buildOpenRequest(session, options), deadlineMs);
  }

  /**
   * Sends encoded rows (each the bytes of one `Row`) in as many sequential WriteRequests as
   * the size cap needs: the one place rows are cut into Writes, by exact wire size
   * (write-request.ts). `writeBytes` asks for smaller Writes than the client's cap (never
   * larger). Rejects on the first failed request; the server has then rolled back the load
   * (spec §4), so the caller should Close with abort.
   */
  async write(session: string, rows: WriteRows, deadlineMs = this.deadlineMs, writeBytes = this.maxWriteBytes): Promise<void> {
    const maxBytes = Math.min(writeBytes, this.maxWriteBytes);
    if (!(maxBytes > 64)) throw new RangeError(`the Write size limit must be more than 64 bytes, got ${maxBytes}`);
    // Each Write's rows are sized once and serialized straight from `rows` (which the caller
    // must leave unchanged until write() settles).
    for (let from = 0; from < rows.length; ) {
      const to = nextWriteEnd(rows, from, maxBytes);
      const request: WriteRange = { session, rows, from, to, rowsBytes: WRITE_GROUP_BYTES };
      await this.call('Write', request, deadlineMs, writeSerializer);
      from = to;
    }
    // Drop this (possibly already old-generation) frame's reference to the rows: a dead old
    // object that still points at young row buffers keeps them alive through every scavenge
    // until the next full GC (see writeSerializer).
    rows = NO_ROWS;
  }

  async close(session: string, options: { maxErrorRows?: number; abort?: boolean } = {}, deadlineMs = this.closeDeadlineMs): Promise<TransferStats> {
    // Field 1 of CloseRequest is the lower-case `session` (spec §8): `Session` would be dropped.
    const res = await this.call<TransferStatsMsg>('Close', { session: { ID: session }, MaxErrorRows: options.maxErrorRows ?? 0, Abort: options.abort === true }, deadlineMs);
    return { successCount: toNumber(res.SuccessCount), errorCount: toNumber(res.ErrorCount), errorRows: res.ErrorRows ?? [] };
  }

  async listSchemas(session: string, deadlineMs = this.deadlineMs): Promise<{ name: string; owner: string }[]> {
    const res = await this.call<SchemasMsg>('ListSchema', { Session: { ID: session } }, deadlineMs);
    return (res.Schemas ?? []).map((s) => ({ name: s.Name, owner: s.Owner }));
  }

  async listTables(session: string, schema?: string, deadlineMs = this.deadlineMs): Promise<{ name: string; type: string }[]> {
    const res = await this.call<TablesMsg>('ListTable', { Session: { ID: session }, Schema: schema ?? '' }, deadlineMs);
    return (res.Tables ?? []).map((t) => ({ name: t.Name, type: String(t.Type) }));
  }

  async describeTable(session: string, schema: string, table: string, deadlineMs = this.deadlineMs): Promise<ColumnInfo[]> {
    const res = await this.call<ColumnsMsg>('DescribeTable', { Session: { ID: session }, SchemaName: schema ?? '', TableName: table }, deadlineMs);
    return (res.Columns ?? []).map((c) => ({
      name: c.Name,
      databaseType: c.DatabaseType,
      hasLength: c.HasLength,
      length: toNumber(c.Length),
      hasPrecisionScale: c.HasPrecisionScale,
      precision: toNumber(c.Precision),
      scale: toNumber(c.Scale),
      hasNullable: c.HasNullable,
      nullable: c.Nullable,
    }));
  }

  /** Closes the channel; pending calls fail with CANCELLED. Idempotent. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    // Generated service clients shadow close() with the Close RPC; call the channel's own.
    grpc.Client.prototype.close.call(this.client);
  }
}

/** One Write's rows: rows[from, to), whose wire size is rowsBytes. */
interface WriteRange {
  session: string;
  rows: WriteRows;
  from: number;
  to: number;
  rowsBytes: number;
}

const NO_ROWS: readonly Uint8Array[] = [];

const writeSerializer: Serialize = (value) => {
  const v = value as WriteRange;
  const out = encodeWriteRequestRange(v.session, v.rows, v.from, v.to, v.rowsBytes);
  // grpc-js keeps the request object referenced from its (soon old-generation) call state
  // after sending it. Were it to keep pointing at the caller's rows, every row Buffer of the
  // batch would survive each scavenge and be promoted until a full GC found the call dead:
  // measured, that was most of the client's GC time (82% young-generation survival rate).
  v.rows = NO_ROWS;
  return out;
};
