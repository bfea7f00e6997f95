// The package's entry point for use from code (package.json `main` and `types`): the
// GPSS client, the gpss-pg server, and the OSS export/import functions, with their types.
// Node-RED does not load this file; it loads the nodes listed under "node-red" in package.json.

// ---- GPSS client: Connect → Open → Write… → Close against GPSS or gpss-pg
export { GpssClient, GpssError, isOutcomeUnknown, isSessionLost } from './gpss';
export type { GpssEndpoint, GpssLogin, GpssClientOptions, OpenOptions, ColumnInfo, TransferStats } from './gpss';
export { createRowEncoder, RowValueError } from './gpss';
export type { RowEncoder, RowEncoderOptions } from './gpss';
export { classifyFailure, classifyError, DEFAULT_WRITE_BYTES, MAX_WRITE_BYTES, GPSS_PROTO_PATH } from './gpss';
export type { FailureKind, FailureCause, FailureClass } from './gpss';

// ---- gpss-pg: a GPSS-compatible gRPC server over PostgreSQL
export { startGpssServer } from './gpss-server';
export type { GpssServerOptions, RunningGpssServer } from './gpss-server';

// ---- OSS: bulk export (COPY … TO → gzip → OSS) and import (OSS → COPY … FROM)
export { exportQueryToOss, importFromOss, readRowsFromOss, OssOperationError, OssAbortError, FormatOptionError } from './oss';
export type { ExportQueryOptions, ImportOptions, ReadRowsOptions, OssTransferStats, TransferProgress, FormatOptions, OssClientLike } from './oss';
