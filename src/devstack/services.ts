/**
 * The two in-process services of the local stack, typed by their published contracts
 * (src/gpss-server/index.ts and src/oss-emulator/index.ts). Loaded lazily so a missing or
 * broken module reports which service could not start instead of failing at import time.
 */

export type FaultKind = '500' | '503' | 'reset' | 'slow' | 'truncate';

export interface GpssServerOptions {
  listen?: string;
  databaseUrl: string;
  allowHosts?: string[];
  tls?: { cert: Buffer; key: Buffer };
  maxSessions?: number;
  maxMessageMb?: number;
  log?: (line: string) => void;
}

export interface RunningGpssServer {
  host: string;
  port: number;
  address: string;
  activeSessions(): number;
  stop(): Promise<void>;
}

export interface OssEmulatorOptions {
  listen?: string;
  dataDir: string;
  accessKeyId: string;
  accessKeySecret: string;
  buckets?: string[];
  faultRate?: number;
  faultKinds?: FaultKind[];
  log?: (line: string) => void;
}

export interface RunningOssEmulator {
  host: string;
  port: number;
  endpoint: string;
  setFaults(f: { rate: number; kinds?: FaultKind[] }): void;
  createBucket(name: string): Promise<void>;
  listMultipartUploads(bucket: string): Promise<{ key: string; uploadId: string }[]>;
  stop(): Promise<void>;
}

function load<T>(modulePath: string, exportName: string, what: string): T {
  let mod: Record<string, unknown>;
  try {
    mod = require(modulePath) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${what} is not available (${modulePath}): ${(err as Error).message.split('\n')[0]}`);
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${what}: ${modulePath} does not export ${exportName}()`);
  return fn as T;
}

export function startGpssServer(options: GpssServerOptions): Promise<RunningGpssServer> {
  return load<(o: GpssServerOptions) => Promise<RunningGpssServer>>('../gpss-server/index', 'startGpssServer', 'gpss-pg')(options);
}

export function startOssEmulator(options: OssEmulatorOptions): Promise<RunningOssEmulator> {
  return load<(o: OssEmulatorOptions) => Promise<RunningOssEmulator>>('../oss-emulator/index', 'startOssEmulator', 'OSS emulator')(
    options,
  );
}
