/**
 * Public surface of the query library used by the greenplum-query node: binding msg.params
 * (positional and named), running a statement or a script on a pooled connection, and reading a
 * large result in batches through a server-side cursor. No Node-RED here.
 */
export { scanSql, type SqlScan, type SqlParam, type SqlStatement } from './sql-text';
export { bindParameters, queryInputError, type BoundQuery } from './parameters';
export { runStatement, type Row, type StatementOutcome, type StatementResult } from './statement';
export { cursorQueryText, readInBatches, type Batch, type BatchSink } from './cursor';
export { withSession, cancelBackend, discardAfterUse, backendPid, type SessionPool, type SessionOptions } from './session';
export { describeQueryError, lineAt, QueryError } from './errors';
