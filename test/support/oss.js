'use strict';
// OSS emulator fixture for tests: the real emulator on a free loopback port with a temp
// data directory, plus a factory for real ali-oss clients addressing it in any style.
//
//   const { useOssEmulator } = require('./support/oss');
//   const oss = useOssEmulator();            // registers before/after hooks
//   test('x', async () => {
//     const client = oss.client();           // V1, IP endpoint (Host: <bucket>.oss-cn-hangzhou.aliyuncs.com)
//     const v4 = oss.client({ v4: true });   // signature V4
//     const p = oss.client({ style: 'path' });   // http://localhost:PORT/<bucket>/<key> (sldEnable)
//     oss.emu.setFaults({ rate: 1, kinds: ['503'], limit: 1 });          // the next request gets a 503
//     let n = 0;                                                          // fail only the 3rd UploadPart:
//     oss.emu.setFaults({ rate: 1, kinds: ['reset'], match: (r) => r.operation === 'UploadPart' && ++n === 3 });
//     oss.emu.setFaults({ rate: 1, kinds: ['slow'], slowBytesPerSecond: 64 * 1024, slowDelayMs: 2000 });
//     oss.emu.requests();                                                 // [{ method, bucket, key, operation, status, bytes, fault? }]
//     await oss.emu.listMultipartUploads(oss.bucket);                     // dangling uploads
//   });
// How ali-oss 6.23 reports each fault kind (see test/oss-emulator-faults.test.js):
//   500 → InternalErrorError (status 500)   503 → ServiceUnavailableError (status 503)
//   reset → ResponseError, status -1, "socket hang up" (the only kind ali-oss's retryMax retries)
//   slow → ResponseTimeoutError when the call's timeout passes (buffered get, put); getStream reads on
//   truncate → get: plain Error, status 200, no code; getStream: stream error ECONNRESET "aborted";
//              put: UnknownError, status 200 (the write happened, the answer was lost)
const { before, after } = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const OSS = require('ali-oss');
const { startOssEmulator } = require('../../dist/oss-emulator');

const ACCESS_KEY_ID = 'test-access-key-id';
const ACCESS_KEY_SECRET = 'test-access-key-secret';
const REGION = 'oss-cn-hangzhou';

/**
 * Options for `new OSS(...)` pointing at a running emulator.
 * opts.v4: signature V4; opts.style: 'ip' (default), 'path' (sldEnable on localhost) or
 * 'cname' (localhost, bucket only in the signature: works for the emulator's default bucket);
 * opts.bucket, opts.accessKeyId, opts.accessKeySecret override; any other ali-oss option passes through.
 */
function ossOptions(emu, defaults, opts = {}) {
  const { v4, style = 'ip', ...rest } = opts;
  const base = {
    region: REGION,
    bucket: defaults.bucket,
    accessKeyId: defaults.accessKeyId,
    accessKeySecret: defaults.accessKeySecret,
    secure: false,
    authorizationV4: !!v4,
  };
  if (style === 'ip') base.endpoint = emu.endpoint;
  else if (style === 'path') Object.assign(base, { endpoint: `http://localhost:${emu.port}`, sldEnable: true });
  else if (style === 'cname') Object.assign(base, { endpoint: `http://localhost:${emu.port}`, cname: true });
  else throw new Error(`unknown style ${style}; use ip, path or cname`);
  return { ...base, ...rest };
}

/**
 * Starts an emulator (free port, temp data dir unless options.dataDir) and returns a handle:
 * { emu, endpoint, port, dataDir, bucket, buckets, accessKeyId, accessKeySecret,
 *   ossOptions(opts), client(opts), stop({ keepData }) }.
 * options: buckets (default ['test-bucket']), faultRate, faultKinds, log, dataDir.
 */
async function startTestOssEmulator(options = {}) {
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'gpflow-oss-'));
  const buckets = options.buckets || ['test-bucket'];
  const emu = await startOssEmulator({
    listen: '127.0.0.1:0',
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: ACCESS_KEY_SECRET,
    ...options,
    dataDir,
    buckets,
  });
  const accessKeyId = options.accessKeyId || ACCESS_KEY_ID;
  const accessKeySecret = options.accessKeySecret || ACCESS_KEY_SECRET;
  const defaults = { bucket: buckets[0], accessKeyId, accessKeySecret };
  return {
    emu,
    endpoint: emu.endpoint,
    port: emu.port,
    dataDir,
    bucket: buckets[0],
    buckets,
    accessKeyId,
    accessKeySecret,
    region: REGION,
    ossOptions: (opts) => ossOptions(emu, defaults, opts),
    client: (opts) => new OSS(ossOptions(emu, defaults, opts)),
    async stop({ keepData = false } = {}) {
      await emu.stop();
      if (ownDir && !keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers before/after hooks around one emulator for the calling test file and returns
 * a handle whose fields (see startTestOssEmulator) are filled in `before`.
 * `handle.ready` resolves once they are: a test file's own `before` hook that needs the
 * emulator must `await oss.ready` (Node 20 starts root-level before hooks without waiting
 * for earlier ones).
 */
function useOssEmulator(options = {}) {
  let resolveReady;
  let rejectReady;
  const handle = {
    ready: new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    }),
  };
  handle.ready.catch(() => undefined); // reported by the failing hook itself
  let running = null;
  before(async () => {
    try {
      running = await startTestOssEmulator(options);
    } catch (err) {
      rejectReady(err);
      throw err;
    }
    Object.assign(handle, running);
    resolveReady(handle);
  });
  after(async () => {
    if (running) await running.stop();
  });
  return handle;
}

module.exports = { useOssEmulator, startTestOssEmulator, ossOptions, ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION };
