// Public surface of the GPSS client library.
export * from './row-codec';
export * from './write-request';
export * from './client';
export { GPSS_PROTO_PATH, GPSS_LOADER_OPTIONS, GPSS_METHODS, loadGpssPackageDefinition, gpssServiceDefinition, gpssClientConstructor } from './proto';
export type { GpssMethod } from './proto';
export * from './value-mapping';
