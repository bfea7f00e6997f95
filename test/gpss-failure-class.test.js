'use strict';
// The client's one decision table for failed GPSS calls (src/gpss/failure-class.ts): the same
// failure must lead to the same behaviour whether the server gives a specific status code
// (gpss-pg) or UNKNOWN/INTERNAL with its text (a real GPSS, a grpc-go server quoting Greenplum
// through lib/pq as "pq: <message>").
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { classifyStatus, classifyText, classifyError, classifyFailure, GrpcCode } = require('../dist/gpss/failure-class');
const { GpssError, isSessionLost } = require('../dist/gpss/client');
const { asLibPqText, asUnknownStatus } = require('../dist/gpss-server/unknown-status');

const C = GrpcCode;

// [text as a server sends it, expected kind, expected cause, where the text comes from]
const TEXTS = [
  // Greenplum through lib/pq (Error() = "pq: " + Message, lib/pq error.go)
  ['pq: invalid input syntax for type integer: "abc"', 'data', 'data', 'PostgreSQL 22P02 via lib/pq'],
  ['pq: invalid input syntax for integer: "have"', 'data', 'data', 'Greenplum 6 wording (pxf/hawq tests)'],
  ['pq: date/time field value out of range: "2024-13-45"', 'data', 'data', 'PostgreSQL 22008'],
  ['pq: value too long for type character varying(5)', 'data', 'data', 'PostgreSQL 22001'],
  ['pq: value "99999999999" is out of range for type integer', 'data', 'data', 'PostgreSQL 22003'],
  ['pq: invalid byte sequence for encoding "UTF8": 0xff', 'data', 'data', 'PostgreSQL 22021'],
  ['pq: missing data for column "note"', 'data', 'data', 'COPY/external table 22P04'],
  ['pq: extra data after last expected column', 'data', 'data', 'COPY/external table 22P04'],
  ['pq: null value in column "id" violates not-null constraint', 'data', 'data', 'PostgreSQL 23502'],
  ['pq: null value in column "id" of relation "r" violates not-null constraint', 'data', 'data', 'PostgreSQL 13+ 23502'],
  ['pq: duplicate key value violates unique constraint "kv_pkey"', 'data', 'data', 'PostgreSQL 23505'],
  ['pq: new row for relation "r" violates check constraint "r_id_check"', 'data', 'data', 'PostgreSQL 23514'],
  ['pq: segment reject limit reached, aborting operation  (seg4 slice1 10.0.0.4:6004 pid=216169)', 'data', 'data', 'GPSS log quoted on juejin.cn/post/7114079961136234526 (Greenplum 7 cdbsreh.c wording)'],
  ['pq: Segment reject limit reached. Aborting operation. Last error was: invalid input syntax for integer: "x"', 'data', 'data', 'Greenplum 5/6 cdbsreh.c'],
  ['rollback the batch 0 due to Failed to execute batch: pq: value too long for type character varying(10)', 'data', 'data', 'GPSS log line shape, gpdb#9909'],
  // gpss-pg texts, with and without the SQLSTATE (the test-only UNKNOWN mode rewrites it to "pq: ")
  ['Write failed: ERROR 23502: null value in column "id" of relation "stream" violates not-null constraint', 'data', 'data', 'gpss-pg'],
  ['error limit reached (last: row 3: column "day": date/time field value out of range: "2024-13-45")', 'data', 'data', 'gpss-pg'],
  ['row 2: row has 2 values; expected 3', 'data', 'data', 'gpss-pg protocol error'],
  ['a row was rejected and no error limit is set (last: row 4: line break inside a delimited line)', 'data', 'data', 'gpss-pg, no error limit'],
  ['all of the first 1000 rows were rejected (last: row 1000: column "d": x)', 'data', 'data', 'gpss-pg, initial bad row limit'],
  ['Close failed: ERROR 40P01: deadlock detected', 'transient', 'busy', 'gpss-pg'],
  ['PreSQL failed: ERROR 42601: syntax error at or near "SELEC"', 'fatal', 'config', 'gpss-pg'],
  // sessions
  ['session "7f1c" does not exist (expired, disconnected, or never connected)', 'transient', 'session', 'gpss-pg'],
  ['session "7f1c" was closed (expired or disconnected) while this call waited', 'transient', 'session', 'gpss-pg'],
  ['Load task is already opened', 'transient', 'session', 'GPSS, juejin.cn/post/7114079961136234526'],
  ['Need to open a load task before write', 'transient', 'session', 'GPSS, juejin.cn/post/7114079961136234526'],
  ['invalid session', 'transient', 'session', 'generic wording'],
  // sizes: grpc-go and grpc-js wordings
  ['grpc: received message larger than max (5242880 vs. 4194304)', 'fatal', 'limit', 'grpc-go rpc_util.go'],
  ['Received message larger than max (5242880 vs. 4194304)', 'fatal', 'limit', 'grpc-js'],
  // configuration
  ['pq: password authentication failed for user "loader"', 'fatal', 'config', 'PostgreSQL 28P01'],
  ['pq: permission denied for table r', 'fatal', 'config', 'PostgreSQL 42501'],
  ['pq: relation "public.missing" does not exist', 'fatal', 'config', 'PostgreSQL 42P01'],
  ['table "public"."MyTable" does not exist; did you mean "public"."mytable"?', 'fatal', 'config', 'gpss-pg'],
  ['pq: column "colour" of relation "r" does not exist', 'fatal', 'config', 'PostgreSQL 42703'],
  // the database or server is busy or going away
  ['pq: sorry, too many clients already', 'transient', 'busy', 'PostgreSQL 53300'],
  ['pq: the database system is shutting down', 'transient', 'busy', 'PostgreSQL 57P03'],
  ['pq: deadlock detected', 'transient', 'busy', 'PostgreSQL 40P01'],
  ['something unexpected happened', 'transient', 'server', 'anything else: retried, a bounded number of times'],
];

test('classifyText: real-world texts from Greenplum (via lib/pq), GPSS, gRPC and gpss-pg', () => {
  for (const [text, kind, cause, source] of TEXTS) {
    assert.deepEqual(classifyText(text), { kind, cause }, `${JSON.stringify(text)} (${source})`);
    // UNKNOWN (grpc-go's code for a plain error) and INTERNAL (seen from GPSS) are read by text.
    assert.deepEqual(classifyStatus(C.UNKNOWN, text), { kind, cause }, `UNKNOWN ${text}`);
    assert.deepEqual(classifyStatus(C.INTERNAL, text), { kind, cause }, `INTERNAL ${text}`);
  }
});

test('a quoted value never changes the class: data texts are read first', () => {
  assert.equal(classifyText('pq: invalid input syntax for type integer: "session not found"').cause, 'data');
  assert.equal(classifyText('pq: value too long for type character varying(3): "message larger than max"').cause, 'data');
});

test('specific status codes keep their meaning; NOT_FOUND and RESOURCE_EXHAUSTED are read by text', () => {
  assert.deepEqual(classifyStatus(undefined, 'socket hang up'), { kind: 'transient', cause: 'transport' });
  for (const code of [C.CANCELLED, C.DEADLINE_EXCEEDED, C.UNAVAILABLE]) assert.equal(classifyStatus(code, 'x').cause, 'transport');
  for (const code of [C.INVALID_ARGUMENT, C.ABORTED, C.OUT_OF_RANGE, C.ALREADY_EXISTS]) assert.equal(classifyStatus(code, 'x').kind, 'data');
  for (const code of [C.PERMISSION_DENIED, C.UNAUTHENTICATED, C.UNIMPLEMENTED]) assert.equal(classifyStatus(code, 'x').kind, 'fatal');
  assert.equal(classifyStatus(C.FAILED_PRECONDITION, 'no table is open on this session').cause, 'session');
  assert.equal(classifyStatus(C.NOT_FOUND, 'session "x" does not exist (expired, disconnected, or never connected)').cause, 'session');
  assert.deepEqual(classifyStatus(C.NOT_FOUND, 'table "public"."t" does not exist'), { kind: 'fatal', cause: 'config' });
  assert.deepEqual(classifyStatus(C.RESOURCE_EXHAUSTED, 'too many sessions (max 100)'), { kind: 'transient', cause: 'busy' });
  assert.deepEqual(classifyStatus(C.RESOURCE_EXHAUSTED, 'Received message larger than max (5 vs. 4)'), { kind: 'fatal', cause: 'limit' });
});

test('every gpss-pg error rewritten the way the test-only UNKNOWN mode does keeps its class', () => {
  // [code, gpss-pg text]: what gpss-pg answers, and the class the client must derive both ways.
  const answers = [
    [C.ABORTED, 'Write failed: ERROR 23502: null value in column "id" of relation "stream" violates not-null constraint'],
    [C.ABORTED, 'error limit reached (last: row 1: column "day": date/time field value out of range: "2024-13-45")'],
    [C.ABORTED, 'Close failed: ERROR 23505: duplicate key value violates unique constraint "kv_pkey"'],
    [C.INVALID_ARGUMENT, 'row 2: row has 2 values; expected 3'],
    [C.NOT_FOUND, 'session "ab" does not exist (expired, disconnected, or never connected)'],
    [C.FAILED_PRECONDITION, 'a table is already open on this session (insert "public"."t"); Close it before opening another'],
    [C.FAILED_PRECONDITION, 'the load failed earlier and was rolled back (x); Close it (with Abort) before writing again'],
    [C.NOT_FOUND, 'table "public"."T" does not exist; did you mean "public"."t"? (names are matched exactly, as Greenplum resolves quoted identifiers)'],
    [C.PERMISSION_DENIED, 'database host 10.0.0.9:5432 is not allowed by this gpss-pg (allowed: 127.0.0.1:5432)'],
    [C.UNAUTHENTICATED, 'cannot log in to u@127.0.0.1:5432/db: FATAL 28P01: password authentication failed for user "u"'],
    [C.UNIMPLEMENTED, 'OpenRequest format "avro" is not supported by gpss-pg; send Row messages (no format) or csv/delimited lines'],
    [C.RESOURCE_EXHAUSTED, 'too many sessions (max 2); Disconnect unused sessions'],
  ];
  for (const [code, details] of answers) {
    const specific = classifyStatus(code, details);
    const rewritten = asUnknownStatus({ code, details });
    assert.equal(rewritten.code, C.UNKNOWN);
    assert.doesNotMatch(rewritten.details, /\b(ERROR|FATAL) [0-9A-Z]{5}:/, 'the SQLSTATE is gone, as with lib/pq');
    assert.deepEqual(classifyStatus(rewritten.code, rewritten.details), specific, `${code} ${details}`);
  }
  assert.equal(asLibPqText('Write failed: ERROR 22P02: invalid input syntax for type integer: "x"'), 'Write failed: pq: invalid input syntax for type integer: "x"');
});

test('classifyFailure and isSessionLost read GpssError and wrapped errors alike', () => {
  const unknownData = new GpssError('Write', C.UNKNOWN, 'pq: null value in column "id" violates not-null constraint');
  assert.equal(classifyFailure(unknownData), 'data');
  const wrapped = Object.assign(new Error('GPSS Write failed: UNKNOWN: pq: duplicate key value violates unique constraint "k"'), { code: C.UNKNOWN });
  assert.equal(classifyFailure(wrapped), 'data');
  assert.equal(classifyError(new Error('socket hang up')).cause, 'transport');
  assert.equal(isSessionLost(new GpssError('Open', C.UNKNOWN, 'session "x" does not exist (expired, disconnected, or never connected)')), true);
  assert.equal(isSessionLost(new GpssError('Open', C.NOT_FOUND, 'session "x" does not exist')), true);
  assert.equal(isSessionLost(new GpssError('Open', C.NOT_FOUND, 'table "public"."t" does not exist')), false);
  assert.equal(isSessionLost(new GpssError('Write', C.UNKNOWN, 'pq: invalid input syntax for type integer: "session expired"')), false);
});
