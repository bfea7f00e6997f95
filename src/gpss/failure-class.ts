// What a failed GPSS call means for the caller, from its gRPC status code and, where the code
// says nothing, from its text. Pure: the one place where the client decides "retry",
// "the data is bad" or "give up".
//
// Why the text matters: a real GPSS is a grpc-go server (spec §1, [R7]). A handler that returns
// a plain Go error reaches the client as UNKNOWN carrying err.Error() (grpc-go `status.Convert`),
// and GPSS's errors from Greenplum are lib/pq errors, whose Error() is "pq: " + the server's
// message, without the SQLSTATE (lib/pq error.go). Public client logs also show INTERNAL with
// GPSS's own texts, e.g. "INTERNAL: Load task is already opened", "INTERNAL: Need to open a
// load task before write" and "INTERNAL: pq: segment reject limit reached, aborting operation"
// (juejin.cn/post/7114079961136234526, a Java client against GPSS 1.x). gpss-pg answers with
// specific codes; both must lead to the same behaviour, so UNKNOWN and INTERNAL (and any code
// that does not say more) are classified by their text.

/** gRPC status codes (kept local so this module stays pure). */
export const GrpcCode = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9,
  ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;

/**
 * - transient: the server, network or session went away; the same batch may succeed later.
 * - data: the server rejected what we sent (type, constraint, error limit): retrying the same
 *   rows fails again, but a smaller batch without the bad message may succeed.
 * - fatal: configuration (credentials, permissions, missing table, size limits): nothing will succeed.
 */
export type FailureKind = 'transient' | 'data' | 'fatal';

/**
 * Why, in more detail:
 * - transport: no answer, or the connection broke (the outcome of a Close is unknown);
 * - session: the server no longer knows the session or its open table: reconnect, retry from Open;
 * - busy: the server or database is out of a resource for now (sessions, connections, locks);
 * - server: an error without a recognisable cause (retried with backoff, a bounded number of times);
 * - data: a value or row broke a type, a constraint or the error limit;
 * - limit: a request over the server's message size limit (retrying it cannot help);
 * - config: login, permissions, a missing table/column/schema, an unsupported option.
 */
export type FailureCause = 'transport' | 'session' | 'busy' | 'server' | 'data' | 'limit' | 'config';

export interface FailureClass {
  kind: FailureKind;
  cause: FailureCause;
}

const TRANSPORT: FailureClass = { kind: 'transient', cause: 'transport' };
const SESSION: FailureClass = { kind: 'transient', cause: 'session' };
const BUSY: FailureClass = { kind: 'transient', cause: 'busy' };
const SERVER: FailureClass = { kind: 'transient', cause: 'server' };
const DATA: FailureClass = { kind: 'data', cause: 'data' };
const LIMIT: FailureClass = { kind: 'fatal', cause: 'limit' };
const CONFIG: FailureClass = { kind: 'fatal', cause: 'config' };

// SQLSTATE classes (PostgreSQL Appendix A), as gpss-pg quotes them ("ERROR 22P02: …").
const SQLSTATE = /\b(?:ERROR|FATAL|PANIC) ([0-9A-Z]{2})[0-9A-Z]{3}:/;

// Greenplum/PostgreSQL messages of SQLSTATE classes 22 (data exception) and 23 (integrity
// constraint violation), and Greenplum's single-row error isolation giving up (cdbsreh.c:
// "Segment reject limit reached. Aborting operation. Last error was: …" in Greenplum 5/6,
// "segment reject limit reached, aborting operation" in 7). gpss-pg says "error limit reached".
const DATA_TEXTS: readonly RegExp[] = [
  /reject limit reached/i,
  /\berror limit reached\b/i,
  /a row was rejected and no error limit is set/i, // gpss-pg, limits 0: the first format error fails the load
  /all of the first \d+ rows were rejected/i, // gpss-pg, Greenplum's gp_initial_bad_row_limit
  /first rows? .*were rejected|rows in this segment were rejected/i,
  /invalid input syntax/i,
  /invalid input value/i,
  /value too long for type/i,
  /\bout of range\b/i,
  /numeric field overflow/i,
  /invalid byte sequence for encoding/i,
  /has no equivalent in encoding/i,
  /missing data for column/i,
  /extra data after last expected column/i,
  /malformed (?:array|record|range) literal/i,
  /unterminated CSV quoted field/i,
  /null character not permitted/i,
  /invalid hexadecimal (?:digit|data)/i,
  /division by zero/i,
  /violates (?:not-null|check|unique|foreign key|exclusion) constraint/i,
  /duplicate key value/i,
  /^row \d+: /i, // gpss-pg: a row it cannot decode (wrong width, broken protobuf)
];

// The server lost the session or its open table. GPSS's own wording for an unknown session is
// not published; gpss-pg says "session … does not exist (expired, disconnected, …)".
const SESSION_TEXTS: readonly RegExp[] = [
  /\bsession\b.*\b(?:not found|does not exist|doesn't exist|not exist|no such|invalid|expired|unknown|closed|timed out)\b/i,
  /\b(?:no such|unknown|invalid|expired) session\b/i,
  /load task is already opened|need to open a load task/i, // GPSS (see above)
  /table is already open on this session|no table is open on this session|load failed earlier/i, // gpss-pg
];

// grpc-go: "grpc: received message larger than max (N vs. M)", "grpc: trying to send message
// larger than max"; grpc-js: "Received message larger than max (N vs. M)".
const LIMIT_TEXTS: readonly RegExp[] = [/message larger than max/i, /larger than the (?:maximum|max) (?:message )?size/i];

const CONFIG_TEXTS: readonly RegExp[] = [
  /password authentication failed/i,
  /no pg_hba\.conf entry/i,
  /permission denied/i,
  /must be owner of/i,
  /\b(?:role|database|schema|relation|table|column|type|function)\b.* does not exist/i,
  /is not allowed by this gpss-pg/i,
  /syntax error at or near/i,
  /not supported by gpss-pg/i,
];

// Greenplum/PostgreSQL going away or busy: retry after a pause.
const BUSY_TEXTS: readonly RegExp[] = [
  /too many (?:clients|connections|sessions)/i,
  /database system is (?:starting up|shutting down|in recovery mode)/i,
  /deadlock detected/i,
  /could not serialize access/i,
  /lock timeout|canceling statement due to lock timeout/i,
  /out of (?:memory|shared memory)/i,
];

function firstMatch(text: string, patterns: readonly RegExp[]): boolean {
  for (const p of patterns) if (p.test(text)) return true;
  return false;
}

/**
 * Classifies an error text alone (used when the status code says nothing specific). Data texts
 * are checked first: they quote the offending value, which must not be mistaken for anything else.
 */
export function classifyText(text: string): FailureClass {
  const t = text ?? '';
  const state = SQLSTATE.exec(t);
  if (state) {
    const cls = state[1];
    if (cls === '22' || cls === '23') return DATA;
    if (cls === '42' || cls === '28' || cls === '3D' || cls === '3F' || cls === '0A') return CONFIG;
    if (cls === '40' || cls === '53' || cls === '55' || cls === '57' || cls === '08') return BUSY;
  }
  if (firstMatch(t, DATA_TEXTS)) return DATA;
  if (firstMatch(t, SESSION_TEXTS)) return SESSION;
  if (firstMatch(t, LIMIT_TEXTS)) return LIMIT;
  if (firstMatch(t, CONFIG_TEXTS)) return CONFIG;
  if (firstMatch(t, BUSY_TEXTS)) return BUSY;
  return SERVER;
}

/** Classifies a failed call by its gRPC status code, and by its text where the code is not specific. */
export function classifyStatus(code: number | undefined, text: string): FailureClass {
  switch (code) {
    case undefined:
      return TRANSPORT; // not a gRPC status: a socket error or a timeout of our own
    case GrpcCode.CANCELLED:
    case GrpcCode.DEADLINE_EXCEEDED:
    case GrpcCode.UNAVAILABLE:
      return TRANSPORT;
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.ABORTED:
    case GrpcCode.OUT_OF_RANGE:
    case GrpcCode.ALREADY_EXISTS:
      return DATA;
    case GrpcCode.PERMISSION_DENIED:
    case GrpcCode.UNAUTHENTICATED:
    case GrpcCode.UNIMPLEMENTED:
      return CONFIG;
    case GrpcCode.FAILED_PRECONDITION:
      return SESSION;
    case GrpcCode.RESOURCE_EXHAUSTED:
      return firstMatch(text, LIMIT_TEXTS) ? LIMIT : BUSY;
    case GrpcCode.NOT_FOUND:
      // An unknown session (expired, server restarted) or a missing table/database.
      return firstMatch(text, SESSION_TEXTS) ? SESSION : CONFIG;
    default:
      // UNKNOWN (grpc-go's code for a plain error), INTERNAL, DATA_LOSS and anything else.
      return classifyText(text);
  }
}

/** The status code and text of an error thrown by the client (GpssError) or wrapped from one. */
function statusOf(err: unknown): { code: number | undefined; text: string } {
  if (typeof err !== 'object' || err === null) return { code: undefined, text: String(err) };
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const code = typeof e.code === 'number' ? e.code : undefined;
  const text = typeof e.details === 'string' && e.details ? e.details : typeof e.message === 'string' ? e.message : '';
  return { code, text };
}

/** classifyStatus of any error value. */
export function classifyError(err: unknown): FailureClass {
  const { code, text } = statusOf(err);
  return classifyStatus(code, text);
}

/** Only the kind of a failure: retry it, isolate the bad data, or give up. */
export function classifyFailure(err: unknown): FailureKind {
  return classifyError(err).kind;
}

/**
 * The connection itself broke (UNAVAILABLE): the channel should be dropped and dialled afresh
 * rather than wait out gRPC's reconnect backoff. Other transport failures (a deadline, a
 * cancel) are no reason to cut the calls of the channel's other users.
 */
export function isConnectionLost(err: unknown): boolean {
  return statusOf(err).code === GrpcCode.UNAVAILABLE;
}
