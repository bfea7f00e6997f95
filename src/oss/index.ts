/** Public API of the OSS library used by the oss-account / oss-export / oss-import nodes. */
export * from './format';
export * from './codec';
export * from './parallel-gzip';
export * from './retry';
export * from './oss-client';
export * from './multipart-upload';
export * from './download';
export * from './external-table';
export * from './naming';
export * from './name-template';
export * from './detect';
export * from './export';
export * from './import';
export * from './errors';
