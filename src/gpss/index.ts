// Public surface of the GPSS client library: the only module the nodes (and the package entry
// point) import from src/gpss. Everything else in this folder is an implementation detail.

// Wire: the Row codec, the row encoder from JS values, the WriteRequest encoding and the cut
// of rows into Writes, the shared proto loader.
export * from './row-codec';
export * from './value-mapping';
export * from './write-request';
export * from './payload-rows';
export * from './packed-rows';
export { GPSS_PROTO_PATH, GPSS_LOADER_OPTIONS, GPSS_METHODS, loadGpssPackageDefinition, gpssServiceDefinition, gpssClientConstructor } from './proto';
export type { GpssMethod } from './proto';
export type { ColumnInfoMessage } from './wire-types';

// The client and what a failed call means.
export * from './client';
export * from './endpoint-check';
export * from './failure-class';
export * from './backoff';

// Delivery: the pooled service behind a gpss-server config node, load jobs and their messages
// (job mode) with their repeated-key check, the stream targets and their writer (stream mode)
// with its buffer accounting,
// per-commit collapsing and the mapping of rejected rows to messages.
export * from './gpss-service';
export * from './load-job';
export * from './stream-writer';
export * from './stream-target';
export * from './stream-message';
export * from './job-messages';
export * from './buffer-account';
export * from './collapse';
export * from './key-index';
export * from './error-rows';
