/**
 * The two in-process services of the local stack, by their published contracts: gpss-pg
 * (src/gpss-server) and the OSS emulator (src/oss-emulator). One place for the stack and the
 * e2e tests to take them from.
 */
export { startGpssServer, type GpssServerOptions, type RunningGpssServer } from '../gpss-server/index';
export { startOssEmulator, type OssEmulatorOptions, type RunningOssEmulator } from '../oss-emulator/index';
