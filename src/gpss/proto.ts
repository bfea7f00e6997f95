// Loads proto/gpss.proto once per process for grpc-js (client and server share it).
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

/** proto/ sits at the package root; this file runs from dist/gpss/ (and src/gpss/ has the same depth). */
export const GPSS_PROTO_PATH = path.resolve(__dirname, '../../proto/gpss.proto');

/**
 * The loader options every GPSS peer must use (spec §8): keepCase keeps `CloseRequest.session`
 * lower-case (a `Session` key would be dropped silently), int64 fields travel as decimal
 * strings, enums as their names.
 */
export const GPSS_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

let cachedDefinition: protoLoader.PackageDefinition | undefined;

export function loadGpssPackageDefinition(): protoLoader.PackageDefinition {
  if (!cachedDefinition) cachedDefinition = protoLoader.loadSync(GPSS_PROTO_PATH, { ...GPSS_LOADER_OPTIONS });
  return cachedDefinition;
}

/** The `api.Gpss` service definition (method name → path, serializers) for grpc-js. */
export function gpssServiceDefinition(): grpc.ServiceDefinition {
  return loadGpssPackageDefinition()['api.Gpss'] as grpc.ServiceDefinition;
}

/** The generated client constructor for `api.Gpss`. */
export function gpssClientConstructor(): grpc.ServiceClientConstructor {
  const pkg = grpc.loadPackageDefinition(loadGpssPackageDefinition()) as unknown as {
    api: { Gpss: grpc.ServiceClientConstructor };
  };
  return pkg.api.Gpss;
}

/** The eight RPCs of `api.Gpss`, in proto order. */
export const GPSS_METHODS = ['Connect', 'Disconnect', 'Open', 'Write', 'Close', 'ListSchema', 'ListTable', 'DescribeTable'] as const;
export type GpssMethod = (typeof GPSS_METHODS)[number];
